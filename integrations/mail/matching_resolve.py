"""Who an address is in the CRM, and which records a thread links to.

Everything here is set-based: an ``AddressBook`` holds every CRM fact about a set of addresses
(three queries), ``participants_assign`` writes all participants' matches in one UPDATE, and
``threads_relink`` recomputes the derived links of many threads in a handful of queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models
from django.db.models import Value
from django.db.models.expressions import RawSQL

from crm.models import DealStage
from crm.tenancy import current_organization
from integrations.mail.matching_addresses import (
    OwnAddresses,
    domain_and_parents,
    domain_of,
    is_free_mail_domain,
)
from integrations.mail.models import (
    LinkSource,
    Participant,
    ThreadLink,
)
from integrations.mail.sql import tenant_rows_among
from integrations.mail.sync.rows import insert_rows

CLOSED_STAGES = (DealStage.WON, DealStage.LOST)
# Ids per IN (...) list when a set can be large (relinking a whole domain).
CHUNK = 2000

T = TypeVar("T")


def chunked(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(frozen=True)
class RuleTarget:
    """The record an AddressRule sends an address to (exactly one of the three ids is set)."""

    contact_id: int | None
    account_id: int | None
    deal_id: int | None
    contact_account_id: int | None = None

    def links(self) -> list[tuple[str, int]]:
        pairs = [("contact", self.contact_id), ("account", self.account_id), ("deal", self.deal_id)]
        return [(kind, pk) for kind, pk in pairs if pk is not None]


@dataclass(frozen=True)
class Match:
    contact_id: int | None = None
    account_id: int | None = None

    def __bool__(self) -> bool:
        return self.contact_id is not None or self.account_id is not None


def rules_for(addresses: Collection[str]) -> dict[str, RuleTarget]:
    """The address rules of ``addresses``; with several for one address, the newest wins."""
    if not addresses:
        return {}
    rows = tenant_rows_among(
        "SELECT r.address, r.contact_id, r.account_id, r.deal_id, c.account_id "
        "FROM mail_addressrule r LEFT JOIN crm_contact c ON c.id = r.contact_id",
        "r.address",
        list(addresses),
        "text",
        organization_id=current_organization().pk,
        order_by="r.id",
    )
    return {
        address: RuleTarget(contact, account, deal, contact_account)
        for address, contact, account, deal, contact_account in rows
    }


class AddressBook:
    """Every CRM fact about a set of addresses: contacts, address rules, account domains."""

    def __init__(
        self,
        *,
        own: OwnAddresses,
        contacts: dict[str, tuple[int, int | None]],
        rules: dict[str, RuleTarget],
        domains: dict[str, int],
    ) -> None:
        self.own = own
        self.contacts = contacts
        self.rules = rules
        self.domains = domains

    @classmethod
    def load(cls, *, addresses: Collection[str], own: OwnAddresses) -> AddressBook:
        addresses = list(addresses)
        if not addresses:
            return cls(own=own, contacts={}, rules={}, domains={})
        organization_id = current_organization().pk
        contacts = {
            email: (contact_id, account_id)
            for email, contact_id, account_id in tenant_rows_among(
                "SELECT e.email, e.contact_id, c.account_id "
                "FROM crm_contactemail e JOIN crm_contact c ON c.id = e.contact_id",
                "e.email",
                addresses,
                "text",
                organization_id=organization_id,
            )
        }
        candidates = {
            candidate
            for domain in {domain_of(a) for a in addresses}
            if cls._matchable_domain(domain, own)
            for candidate in domain_and_parents(domain)
        }
        domains = (
            dict(
                tenant_rows_among(
                    "SELECT d.domain, d.account_id FROM crm_accountdomain d",
                    "d.domain",
                    list(candidates),
                    "text",
                    organization_id=organization_id,
                )
            )
            if candidates
            else {}
        )
        return cls(own=own, contacts=contacts, rules=rules_for(addresses), domains=domains)

    @staticmethod
    def _matchable_domain(domain: str, own: OwnAddresses) -> bool:
        """Free-mail and the organization's own domains never match (or create) accounts."""
        return bool(domain) and not is_free_mail_domain(domain) and not own.is_own_domain(domain)

    def knows(self, address: str) -> bool:
        """A contact has the address, or a person told where its mail belongs."""
        return address in self.contacts or address in self.rules

    def add_contact(self, address: str, contact_id: int, account_id: int | None) -> None:
        self.contacts[address] = (contact_id, account_id)

    def domain_account(self, address: str) -> int | None:
        """The account whose domain is the address's domain or, failing that, a parent of it."""
        domain = domain_of(address)
        if not self._matchable_domain(domain, self.own):
            return None
        for candidate in domain_and_parents(domain):
            if candidate in self.domains:
                return self.domains[candidate]
        return None

    def match(self, address: str) -> Match:
        """Contact: the address rule's, else the contact with the address. Account: the rule's,
        else the contact's, else by work domain."""
        rule = self.rules.get(address)
        contact_id, contact_account = None, None
        if rule is not None and rule.contact_id is not None:
            contact_id, contact_account = rule.contact_id, rule.contact_account_id
        elif address in self.contacts:
            contact_id, contact_account = self.contacts[address]
        rule_account = rule.account_id if rule is not None else None
        account_id = rule_account or contact_account or self.domain_account(address)
        return Match(contact_id=contact_id, account_id=account_id)


def participants_assign(queryset: models.QuerySet[Participant], matches: dict[str, Match]) -> int:
    """Set contact and account of every participant in ``queryset`` from its address's match,
    in one UPDATE; addresses without a match (or missing from ``matches``) get NULL."""
    return queryset.update(
        contact_id=_case_by_address({a: m.contact_id for a, m in matches.items()}),
        account_id=_case_by_address({a: m.account_id for a, m in matches.items()}),
    )


def _case_by_address(values: dict[str, int | None]) -> Any:
    """``CASE address WHEN 'a@x' THEN 12 … ELSE NULL END``, built as SQL text: an ORM
    ``Case(When(…))`` per address costs more to compile than the UPDATE takes to run."""
    pairs = [(address, pk) for address, pk in values.items() if pk is not None]
    if not pairs:
        return Value(None, output_field=models.BigIntegerField())
    sql = "CASE address " + " ".join("WHEN %s THEN %s" for _ in pairs) + " ELSE NULL END"
    params = [item for pair in pairs for item in pair]
    # Addresses and ids are all query parameters; the SQL text is fixed.
    return RawSQL(sql, params, output_field=models.BigIntegerField())  # noqa: S611


@dataclass(frozen=True)
class ContactDeals:
    """The deals of some contacts: all of them, and the open ones (stage neither won nor lost)."""

    every: dict[int, set[int]]
    open: dict[int, set[int]]

    @classmethod
    def load(cls, contact_ids: Collection[int]) -> ContactDeals:
        every: dict[int, set[int]] = defaultdict(set)
        open_: dict[int, set[int]] = defaultdict(set)
        if contact_ids:
            rows = tenant_rows_among(
                "SELECT dc.contact_id, dc.deal_id, d.stage "
                "FROM crm_dealcontact dc JOIN crm_deal d ON d.id = dc.deal_id",
                "dc.contact_id",
                list(contact_ids),
                organization_id=current_organization().pk,
            )
            for contact_id, deal_id, stage in rows:
                every[contact_id].add(deal_id)
                if stage not in CLOSED_STAGES:
                    open_[contact_id].add(deal_id)
        return cls(every=dict(every), open=dict(open_))

    def single_open_deal(self, contact_id: int) -> int | None:
        deals = self.open.get(contact_id, set())
        return next(iter(deals)) if len(deals) == 1 else None


# (thread id, "contact" | "account" | "deal", record id)
LinkKey = tuple[int, str, int]


@dataclass(frozen=True)
class ParticipantRow:
    thread_id: int
    address: str
    contact_id: int | None
    account_id: int | None


def links_wanted(
    rows: Iterable[ParticipantRow], *, rules: dict[str, RuleTarget], deals: ContactDeals
) -> dict[LinkKey, str]:
    """The links the participants of threads call for, with their source: the rule's record
    (source rule), every matched contact and account, and a matched contact's deal when it is
    on exactly one open deal (source automatic)."""
    wanted: dict[LinkKey, str] = {}
    for row in rows:
        rule = rules.get(row.address)
        for kind, pk in rule.links() if rule is not None else ():
            wanted[(row.thread_id, kind, pk)] = LinkSource.RULE
        if row.contact_id is not None:
            wanted.setdefault((row.thread_id, "contact", row.contact_id), LinkSource.AUTOMATIC)
            deal_id = deals.single_open_deal(row.contact_id)
            if deal_id is not None:
                wanted.setdefault((row.thread_id, "deal", deal_id), LinkSource.AUTOMATIC)
        if row.account_id is not None:
            wanted.setdefault((row.thread_id, "account", row.account_id), LinkSource.AUTOMATIC)
    return wanted


def links_create(wanted: dict[LinkKey, str], *, organization_id: int) -> int:
    """Insert the links; those that exist already (in any source) are left as they are, and
    those someone removed by hand are not made again."""
    wanted = links_unsuppressed(wanted)
    # Plain rows, not model instances: a first sync links thousands of threads a page.
    insert_rows(
        ThreadLink,
        [
            {
                "organization_id": organization_id,
                "thread_id": thread_id,
                "source": source,
                f"{kind}_id": pk,
            }
            for (thread_id, kind, pk), source in wanted.items()
        ],
        ignore_conflicts=True,
        small=True,
    )
    return len(wanted)


def links_unsuppressed(wanted: dict[LinkKey, str]) -> dict[LinkKey, str]:
    """``wanted`` without the links a person removed from its threads (one query)."""
    if not wanted:
        return wanted
    suppressed = {
        _link_key(*row)
        for row in tenant_rows_among(
            "SELECT s.thread_id, s.contact_id, s.account_id, s.deal_id "
            "FROM mail_threadlinksuppression s",
            "s.thread_id",
            list({thread_id for thread_id, _, _ in wanted}),
            organization_id=current_organization().pk,
        )
    }
    return {key: source for key, source in wanted.items() if key not in suppressed}


@dataclass
class RelinkCount:
    added: int = 0
    removed: int = 0


def threads_relink(thread_ids: Iterable[int], *, organization_id: int) -> RelinkCount:
    """Recompute the automatic and rule links of threads from their participants as they are
    now: missing links are added, links nothing calls for any more are removed. Manual links
    are never touched, and an automatic deal link stays while the deal has a contact on the
    thread (a deal won since keeps its e-mail)."""
    count = RelinkCount()
    for chunk in chunked(sorted(set(thread_ids)), 500):
        rows = [
            ParticipantRow(*values)
            for values in Participant.objects.filter(message__thread_id__in=chunk)
            .order_by()
            .values_list("message__thread_id", "address", "contact_id", "account_id")
            .distinct()
        ]
        deals = ContactDeals.load({r.contact_id for r in rows if r.contact_id is not None})
        wanted = links_wanted(rows, rules=rules_for({r.address for r in rows}), deals=deals)
        deals_on_thread: dict[int, set[int]] = defaultdict(set)
        for row in rows:
            if row.contact_id is not None:
                deals_on_thread[row.thread_id] |= deals.every.get(row.contact_id, set())
        obsolete = []
        existing = ThreadLink.objects.filter(thread_id__in=chunk).values_list(
            "pk", "thread_id", "contact_id", "account_id", "deal_id", "source"
        )
        for pk, thread_id, contact_id, account_id, deal_id, source in existing:
            called_for = wanted.pop(_link_key(thread_id, contact_id, account_id, deal_id), None)
            if called_for is not None or source == LinkSource.MANUAL:
                continue
            if source == LinkSource.AUTOMATIC and deal_id in deals_on_thread[thread_id]:
                continue
            obsolete.append(pk)
        if obsolete:
            ThreadLink.objects.filter(pk__in=obsolete).delete()
        count.removed += len(obsolete)
        count.added += links_create(wanted, organization_id=organization_id)
    return count


def _link_key(
    thread_id: int, contact_id: int | None, account_id: int | None, deal_id: int | None
) -> LinkKey:
    if contact_id is not None:
        return (thread_id, "contact", contact_id)
    if account_id is not None:
        return (thread_id, "account", account_id)
    return (thread_id, "deal", deal_id or 0)

"""Word pools and prose for the generator: names, companies, subjects and B2B email bodies.

All in code, no external data. Names span languages on purpose: non-ASCII display names make
the generated mail exercise RFC 2047 headers and quoted-printable bodies.
"""

from __future__ import annotations

import random
import unicodedata

FIRST_NAMES = (
    "Ana",
    "Ben",
    "Chloé",
    "David",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Inés",
    "Jonas",
    "Karin",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quentin",
    "Rosa",
    "Søren",
    "Tomás",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoë",
    "François",
    "Jürgen",
    "Łukasz",
    "Ngozi",
    "Aoife",
    "Björn",
    "Çağla",
    "Renée",
    "Siân",
    "Mateo",
    "Sofia",
    "Ethan",
    "Hannah",
    "Lucas",
    "Amara",
    "Kenji",
    "Leila",
    "Marco",
    "Nadia",
    "Oscar",
    "Paula",
    "Rahul",
    "Sara",
    "Theo",
)
LAST_NAMES = (
    "Ruiz",
    "Becker",
    "Dubois",
    "Kim",
    "Novak",
    "Haddad",
    "Okafor",
    "Tanaka",
    "García",
    "Schäfer",
    "Lindqvist",
    "O'Brien",
    "Patel",
    "Rossi",
    "Núñez",
    "Østergaard",
    "Kowalczyk",
    "Nakamura",
    "Müller",
    "Fernández",
    "Johansson",
    "Murphy",
    "Chen",
    "Silva",
    "Moreau",
    "Weber",
    "Costa",
    "Yilmaz",
    "Andersen",
    "Brennan",
    "Delgado",
    "Eriksen",
    "Fischer",
    "Gallagher",
    "Hoffmann",
    "Ivanova",
    "Jensen",
    "Kaur",
    "Larsen",
    "Mendes",
    "Nielsen",
    "Price",
    "Quinn",
    "Santos",
)
COMPANY_STEMS = (
    "Northwind",
    "Brightline",
    "Silverleaf",
    "Ironbridge",
    "Summit",
    "Harborview",
    "Cedarpoint",
    "Granite",
    "Pioneer",
    "Vertex",
    "Lumen",
    "Atlas",
    "Crescent",
    "Evergreen",
    "Keystone",
    "Meridian",
    "Nimbus",
    "Orchard",
    "Quantum",
    "Redwood",
    "Sterling",
    "Tidewater",
    "Bluepeak",
    "Foxglove",
    "Juniper",
    "Kestrel",
    "Larkspur",
    "Mosaic",
    "Oakhurst",
    "Polaris",
)
INDUSTRIES = (
    "Logistics",
    "Analytics",
    "Health",
    "Capital",
    "Foods",
    "Energy",
    "Robotics",
    "Software",
    "Manufacturing",
    "Consulting",
    "Biotech",
    "Retail",
    "Media",
    "Insurance",
    "Systems",
)
COMPANY_FORMS = ("Inc.", "Ltd", "GmbH", "LLC", "S.A.", "B.V.", "AB", "")
# International companies whose names are not ASCII; the domain is what they really register.
INTERNATIONAL = (
    ("Müller Präzisionstechnik GmbH", "mueller-praezision.de"),
    ("Société Lumière Conseil", "lumiere-conseil.fr"),
    ("Distribuciones Peñalara S.L.", "penalara.es"),
    ("Øresund Maritime A/S", "oresund-maritime.dk"),
)
TLDS = (".com", ".com", ".com", ".io", ".co", ".de", ".co.uk", ".nl", ".fr", ".com.br")
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com")
TITLES = (
    "Head of Procurement",
    "VP Sales",
    "Operations Manager",
    "CFO",
    "IT Director",
    "Account Executive",
    "Customer Success Manager",
    "Product Lead",
    "Founder & CEO",
    "Legal Counsel",
    "Solutions Engineer",
    "Finance Manager",
)
TOPICS = (
    "Q3 renewal",
    "pricing proposal",
    "pilot rollout",
    "security questionnaire",
    "integration timeline",
    "master services agreement",
    "onboarding plan",
    "quarterly review",
    "volume discount",
    "data processing addendum",
    "SSO setup",
    "invoice reconciliation",
    "expansion to the EMEA team",
    "support SLA",
    "implementation kickoff",
    "budget approval",
)
DOCS = (
    "signed order form",
    "updated SOW",
    "W-9",
    "redlined MSA",
    "usage report",
    "architecture diagram",
    "reference list",
    "board deck",
    "purchase order",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
SUBJECTS = (
    "{topic}",
    "Quick question about the {topic}",
    "Follow-up: {topic}",
    "Meeting notes \u2013 {topic}",
    "{their} <> {ours}: {topic}",
    "Next steps on the {topic}",
    "{topic} — draft for review",
    "Checking in re {topic}",
    "Proposal for {their}",
    "Can we move our call?",
    "Intro: {ours} / {their}",
    "Invoice INV-{number} and {topic}",
)
GREETINGS = (
    "Hi {first},",
    "Hello {first},",
    "Dear {first},",
    "Hey {first},",
    "{first},",
    "Hallo {first},",
    "Bonjour {first},",
)
SENTENCES = (
    "Thanks for the time on {weekday}, it was great to walk through the {topic}.",
    "Following up on our call about the {topic}.",
    "Could you send over the {doc} by {weekday}?",
    "I've attached the {doc} so your team can review it.",
    "Our legal team has a couple of comments on the {topic}; nothing blocking.",
    "We're aiming to finalize the {topic} before the end of the quarter.",
    "Pricing stays at €{number} per seat for the first year, as discussed.",
    "Let me know if {weekday} at 10:00 works for a quick sync.",
    "I looped in {other} who owns the {topic} on our side.",
    "The numbers look good: usage is up {percent}% month over month.",
    "Happy to jump on a call if it's easier to talk it through.",
    "We need sign-off from finance, which usually takes about a week.",
    "Can you confirm the billing contact for the {topic}?",
    "Just checking whether you had a chance to look at the {doc}.",
    "Our procurement portal needs the {doc} before we can issue the PO.",
    "Noted — I'll update the plan and circulate it by {weekday}.",
    "The team in Zürich asked whether the {topic} covers their office too.",
    "We'd like to start with {number} licences and grow from there.",
)
CLOSINGS = (
    "Best,",
    "Thanks,",
    "Kind regards,",
    "Cheers,",
    "Best regards,",
    "Thanks again,",
    "Viele Grüße,",
    "Bien à vous,",
)
NEWSLETTERS = (
    # (name, email, category, subject templates, list id)
    (
        "SaaS Weekly",
        "newsletter@saasweekly.news",
        "promotions",
        (
            "This week in SaaS: pricing pages that convert",
            "5 renewal plays for Q{q}",
            "Your {month} digest is here",
        ),
        None,
    ),
    (
        "CloudConf 2026",
        "events@cloudconf.events",
        "promotions",
        ("Early-bird tickets end Friday — save 40%", "Last call: speakers announced"),
        None,
    ),
    (
        "Connectly",
        "notifications@connectly.social",
        "social",
        (
            "{first} {last} wants to connect",
            "You appeared in {number} searches this week",
            "{first} commented on your post",
        ),
        None,
    ),
    (
        "Invoicely Billing",
        "billing@invoicely.app",
        "updates",
        ("Your receipt #{number}", "Payment received — thank you", "Your plan renews soon"),
        None,
    ),
    (
        "CodeHub",
        "noreply@codehub.dev",
        "updates",
        ("[CodeHub] A new sign-in to your account", "[CodeHub] Your weekly activity report"),
        None,
    ),
    (
        "revops-community",
        "revops-community@lists.revopsforum.org",
        "forums",
        (
            "[revops] Best way to dedupe contacts across mailboxes?",
            "[revops] Re: CRM field mapping for Outlook",
            "[revops] Weekly thread roundup",
        ),
        "revops-community.lists.revopsforum.org",
    ),
)
SPAMMERS = (
    (
        "Account Security",
        "security-alert@verify-acc0unt.biz",
        "Action required: your mailbox is almost full",
    ),
    ("Crypto Gains", "win@prize-claim.top", "You have (1) pending payment of $4,950.00"),
    ("Dr. Williams", "urgent.transfer@mail-offers.xyz", "URGENT business proposal"),
)
CITIES = ("Berlin", "London", "New York", "São Paulo", "Zürich", "Madrid", "Copenhagen", "Austin")
ROOMS = ("Room Everest (4th floor)", "Boardroom", "Huddle room 2", "Café Lisboa, Rua Augusta 12")


# Letters NFKD does not decompose to ASCII, plus characters email local parts drop.
_SLUG_SPECIAL = str.maketrans(
    {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "\u0131": "i", "'": "", " ": ""}
)


def ascii_slug(text: str) -> str:
    """Lower-case ASCII for email local parts and domains: Søren Müller -> soren.muller."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SLUG_SPECIAL))
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in "-.")).lower()


def person_email(rng: random.Random, first: str, last: str, domain: str) -> str:
    first_s, last_s = ascii_slug(first), ascii_slug(last)
    style = rng.random()
    if style < 0.6:
        local = f"{first_s}.{last_s}"
    elif style < 0.85:
        local = f"{first_s[0]}{last_s}"
    else:
        local = first_s
    return f"{local}@{domain}"


def fill(template: str, rng: random.Random, **known: str) -> str:
    values = {
        "topic": rng.choice(TOPICS),
        "doc": rng.choice(DOCS),
        "weekday": rng.choice(WEEKDAYS),
        "number": str(rng.randint(12, 4800)),
        "percent": str(rng.randint(3, 48)),
        "other": rng.choice(FIRST_NAMES),
        "q": str(rng.randint(1, 4)),
        "month": rng.choice(("March", "April", "May", "June", "September", "October")),
        "first": rng.choice(FIRST_NAMES),
        "last": rng.choice(LAST_NAMES),
    }
    values.update(known)
    return template.format(**values)


def business_body(
    rng: random.Random,
    *,
    to_first: str,
    sender: str,
    sender_title: str,
    sender_company: str,
    topic: str,
) -> str:
    """A short business email: greeting, one to three paragraphs, closing and signature."""
    sizes = [rng.randint(1, 3) for _ in range(rng.randint(1, 3))]
    sentences = iter(rng.sample(SENTENCES, sum(sizes)))  # no sentence twice in one email
    paragraphs = [
        " ".join(fill(next(sentences), rng, topic=topic) for _ in range(size)) for size in sizes
    ]
    greeting = rng.choice(GREETINGS).format(first=to_first)
    phone = f"+1 555 {rng.randint(1000000, 9999999)}"
    closing = f"{rng.choice(CLOSINGS)}\n{sender.split()[0]}"
    return "\n\n".join(
        [greeting, *paragraphs, closing, f"--\n{sender}\n{sender_title}, {sender_company}\n{phone}"]
    )


def newsletter_body(rng: random.Random, sender: str, subject: str) -> str:
    items = "\n".join(f"* {fill(rng.choice(SENTENCES), rng)}" for _ in range(rng.randint(3, 6)))
    return (
        f"{subject}\n\n{items}\n\nYou are receiving this email because you subscribed to "
        f"{sender}.\nUnsubscribe: https://{ascii_slug(sender)}.example/unsubscribe"
    )


def html_from_text(text: str) -> str:
    """Gmail-like HTML for a plain-text body (each paragraph a div, line breaks kept)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    blocks = "".join(
        f"<div>{block.replace(chr(10), '<br>')}</div><div><br></div>"
        for block in escaped.split("\n\n")
    )
    return f'<div dir="ltr">{blocks}</div>'

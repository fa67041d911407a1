"""The demo organization's world: its team, and the companies and people it sells to.

Plain data, no database: ``seed_demo`` turns it into CRM records, and ``demo`` creates the
team's mailboxes in the provider sandbox and fills them with mail and meetings with the same
people. Every domain ends in ``.test``
(RFC 2606), so nothing here can ever reach a real mailbox.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEMO_ORGANIZATION_NAME = "Acme Sales"
DEMO_ORGANIZATION_SLUG = "acme-sales"
DEMO_ORGANIZATION_DOMAIN = "acme-sales.test"  # on Google Workspace
# The EMEA team is on Microsoft 365, in a directory (tenant) of its own.
DEMO_MICROSOFT_DOMAIN = "acme-sales-emea.test"
DEMO_MICROSOFT_TENANT_NAME = "Acme Sales EMEA"
DEMO_MICROSOFT_TENANT_ID = "3f2a9c1e-6b7d-4e8f-a1b2-c3d4e5f60718"
DEMO_EMAIL_DOMAINS = (DEMO_ORGANIZATION_DOMAIN, DEMO_MICROSOFT_DOMAIN)

DEMO_OWNER_EMAIL = "demo@liaison.test"
DEMO_PASSWORD_ENV = "DEMO_PASSWORD"
DEFAULT_DEMO_PASSWORD = "liaison-demo"  # published on purpose: it guards demo data only
DEMO_RANDOM_SEED = 20250101


def demo_password() -> str:
    """The password of every demo user: ``$DEMO_PASSWORD``, else the documented default."""
    return os.environ.get(DEMO_PASSWORD_ENV) or DEFAULT_DEMO_PASSWORD


@dataclass(frozen=True)
class DemoTeammate:
    email: str
    first_name: str
    last_name: str
    role: str  # a crm.models.Role value


DEMO_TEAM: list[DemoTeammate] = [
    DemoTeammate(DEMO_OWNER_EMAIL, "Dana", "Whitfield", "owner"),
    DemoTeammate(f"priya.raman@{DEMO_ORGANIZATION_DOMAIN}", "Priya", "Raman", "admin"),
    DemoTeammate(f"marcus.oyelaran@{DEMO_ORGANIZATION_DOMAIN}", "Marcus", "Oyelaran", "member"),
]


@dataclass(frozen=True)
class DemoMailbox:
    """A mailbox in the sandbox for the demo to connect: whose it is and how much it holds."""

    provider: str  # "google" | "microsoft"
    email: str
    name: str
    messages: int
    events: int
    delegates: tuple[str, ...] = ()  # set on a shared mailbox: who has full access to it

    @property
    def shared(self) -> bool:
        return bool(self.delegates)


def _mailbox(teammate: DemoTeammate, domain: str, messages: int, events: int) -> DemoMailbox:
    """The teammate's work mailbox on ``domain``: first.last@domain."""
    name = f"{teammate.first_name} {teammate.last_name}"
    email = f"{teammate.first_name}.{teammate.last_name}@{domain}".lower()
    provider = "microsoft" if domain == DEMO_MICROSOFT_DOMAIN else "google"
    return DemoMailbox(provider, email, name, messages, events)


_OWNER, _ADMIN, _MEMBER = DEMO_TEAM
# Dana (the demo user) sells on both sides, so she has a mailbox with each provider.
_DANA_M365 = _mailbox(_OWNER, DEMO_MICROSOFT_DOMAIN, messages=300, events=30)
_PRIYA_M365 = _mailbox(_ADMIN, DEMO_MICROSOFT_DOMAIN, messages=200, events=20)
DEMO_MAILBOXES: list[DemoMailbox] = [
    _mailbox(_OWNER, DEMO_ORGANIZATION_DOMAIN, messages=400, events=40),
    _mailbox(_ADMIN, DEMO_ORGANIZATION_DOMAIN, messages=250, events=25),
    _mailbox(_MEMBER, DEMO_ORGANIZATION_DOMAIN, messages=250, events=25),
    _DANA_M365,
    _PRIYA_M365,
    DemoMailbox(
        "microsoft",
        f"sales@{DEMO_MICROSOFT_DOMAIN}",
        DEMO_MICROSOFT_TENANT_NAME,
        messages=200,
        events=0,
        delegates=(_DANA_M365.email, _PRIYA_M365.email),
    ),
]


@dataclass(frozen=True)
class DemoPerson:
    first_name: str
    last_name: str
    title: str
    email: str
    extra_emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @property
    def emails(self) -> tuple[str, ...]:
        """Every address, the primary one first."""
        return (self.email, *self.extra_emails)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class DemoCompany:
    name: str
    domain: str
    industry: str
    people: tuple[DemoPerson, ...]
    alias_domains: tuple[str, ...] = field(default=())

    @property
    def domains(self) -> tuple[str, ...]:
        return (self.domain, *self.alias_domains)

    @property
    def website(self) -> str:
        return f"https://www.{self.domain}"


# (first name, last name, title, extra addresses as local@domain or just a local part)
_PersonRow = tuple[str, str, str, tuple[str, ...]]


def _company(
    name: str,
    domain: str,
    industry: str,
    area_code: str,
    rows: list[_PersonRow],
    alias_domains: tuple[str, ...] = (),
) -> DemoCompany:
    """Addresses are first.last@domain; phones sit in the fictional 555-01xx range."""
    people = []
    for index, (first, last, title, extra) in enumerate(rows):
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        extra_emails = tuple(e if "@" in e else f"{e}@{domain}" for e in extra)
        office = f"+1 {area_code}-555-01{index * 7 + 10:02d}"
        mobile = f"+1 {area_code}-555-01{index * 7 + 13:02d}"
        phones = (office, mobile) if index % 2 == 0 else (office,)
        people.append(DemoPerson(first, last, title, f"{local}@{domain}", extra_emails, phones))
    return DemoCompany(name, domain, industry, tuple(people), alias_domains)


# fmt: off
DEMO_COMPANIES: list[DemoCompany] = [
    _company("Northwind Traders", "northwind-traders.test", "Wholesale distribution", "206", [
        ("Ana", "Trujillo", "VP of Procurement", ("ana@northwind.test",)),
        ("Thomas", "Hardy", "IT Director", ()),
        ("Elena", "Sokolova", "Operations Manager", ()),
        ("Ravi", "Menon", "Finance Controller", ()),
    ], alias_domains=("northwind.test",)),
    _company("Contoso Health", "contoso-health.test", "Healthcare", "617", [
        ("Grace", "Okafor", "Chief Information Officer", ()),
        ("Daniel", "Brennan", "Director of Patient Services", ("dbrennan",)),
        ("Mei", "Lin", "Procurement Specialist", ()),
        ("Samuel", "Adeyemi", "Head of Compliance", ()),
    ]),
    _company("Fabrikam Robotics", "fabrikam-robotics.test", "Industrial automation", "312", [
        ("Lukas", "Becker", "CTO", ()),
        ("Sofia", "Marquez", "Head of Supply Chain", ()),
        ("Owen", "Fitzgerald", "Plant Manager", ()),
    ]),
    _company("Tailspin Aviation", "tailspin-aviation.test", "Aerospace", "469", [
        ("Hannah", "Kowalski", "Fleet Operations Director", ()),
        ("Jamal", "Carter", "Maintenance Planning Lead", ()),
        ("Ingrid", "Halvorsen", "Purchasing Manager", ()),
    ]),
    _company("Blue Yonder Logistics", "blueyonder-logistics.test", "Logistics", "404", [
        ("Carlos", "Mendoza", "COO", ()),
        ("Aisha", "Rahman", "Regional Director", ("aisha.r@byl.test",)),
        ("Peter", "Novak", "Warehouse Systems Manager", ()),
        ("Julia", "Schmidt", "Sales Operations Analyst", ()),
    ], alias_domains=("byl.test",)),
    _company("Woodgrove Bank", "woodgrove-bank.test", "Financial services", "212", [
        ("Victoria", "Ashford", "Head of Commercial Banking", ()),
        ("Kenji", "Watanabe", "Information Security Officer", ()),
        ("Laura", "Bianchi", "Vendor Management Lead", ()),
    ]),
    _company("Litware Software", "litware.test", "Software", "415", [
        ("Noah", "Feldman", "CEO", ()),
        ("Chloe", "Dubois", "VP of Engineering", ()),
        ("Arjun", "Patel", "Revenue Operations Manager", ("arjun",)),
    ]),
    _company("Proseware Learning", "proseware-learning.test", "Education technology", "512", [
        ("Rachel", "Goldberg", "Director of Partnerships", ()),
        ("Tomas", "Lindqvist", "Product Manager", ()),
        ("Fatima", "Haddad", "Customer Success Lead", ()),
    ]),
    _company("Adventure Works Outdoors", "adventure-works.test", "Retail", "303", [
        ("Jake", "Sullivan", "Head of E-commerce", ()),
        ("Nina", "Petrova", "Merchandising Director", ()),
        ("Diego", "Alvarez", "Store Operations Manager", ()),
        ("Emily", "Chen", "Marketing Manager", ()),
    ]),
    _company("Trey Research", "trey-research.test", "Biotechnology", "858", [
        ("Olivia", "Nakamura", "Lab Operations Director", ()),
        ("Benjamin", "Ross", "Research Informatics Lead", ()),
        ("Zara", "Ahmed", "Procurement Manager", ()),
    ]),
    _company("Coho Winery", "coho-winery.test", "Food and beverage", "707", [
        ("Matteo", "Romano", "General Manager", ()),
        ("Claire", "Fontaine", "Distribution Manager", ()),
        ("Sean", "O'Connor", "Finance Manager", ()),
    ]),
    _company("Lucerne Publishing", "lucerne-publishing.test", "Media", "646", [
        ("Isabel", "Cortez", "Managing Editor", ()),
        ("Henry", "Whitaker", "Director of Digital", ()),
        ("Priyanka", "Desai", "Rights and Licensing Manager", ()),
    ]),
    _company("Wide World Importers", "wideworldimporters.test", "Import and export", "305", [
        ("Ahmed", "Khalil", "Director of Sourcing", ()),
        ("Sarah", "Mitchell", "Customs Compliance Manager", ()),
        ("Leo", "Fischer", "IT Manager", ()),
        ("Camila", "Rocha", "Account Coordinator", ()),
    ]),
    _company("Alpine Ski House", "alpine-ski-house.test", "Hospitality", "970", [
        ("Erik", "Johansson", "Resort Director", ()),
        ("Maya", "Thompson", "Guest Experience Manager", ()),
        ("Felix", "Wagner", "Revenue Manager", ()),
    ]),
    _company("Margie's Travel", "margies-travel.test", "Travel", "702", [
        ("Margie", "Travers", "Founder and CEO", ("margie",)),
        ("Kwame", "Mensah", "Corporate Travel Manager", ()),
        ("Lucy", "Harrington", "Operations Lead", ()),
    ]),
]
# fmt: on

# Deal names are "<company> — <product>"; tasks are built from these verbs by seed_demo.
DEMO_PRODUCTS: list[str] = [
    "Enterprise plan",
    "Team plan expansion",
    "Annual renewal",
    "Onboarding package",
    "Premium support",
    "Data migration project",
    "Pilot",
    "Multi-region rollout",
]

DEMO_TASK_TEMPLATES: list[str] = [
    "Follow up with {first} on pricing",
    "Send proposal to {first} {last}",
    "Schedule a demo for {first} ({company})",
    "Call {first} about the security review",
    "Share case studies with {first}",
    "Confirm budget with {first} {last}",
    "Book quarterly review with {company}",
    "Send contract redlines to {first}",
    "Introduce {first} to our solutions engineer",
    "Check in with {first} after onboarding",
]

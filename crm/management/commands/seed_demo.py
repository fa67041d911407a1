"""``python manage.py seed_demo``: the "Acme Sales" demo organization, idempotently.

Every record has a natural key (organization slug, user e-mail, account name, contact primary
address, deal name, task title); a record whose key already exists is left alone, so a second
run creates nothing and keeps whatever the demo user edited. The plan is drawn from a seeded
``random.Random`` around today's date, so two databases seeded the same day hold the same data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from crm import demo_data
from crm.demo_data import DEMO_COMPANIES, DEMO_TEAM, DemoCompany, DemoPerson, DemoTeammate
from crm.models import (
    Account,
    Contact,
    ContactEmail,
    Deal,
    DealStage,
    Membership,
    Organization,
    Task,
    TaskStatus,
    User,
)
from crm.services import account_save, contact_save, deal_save, organization_create, task_save
from crm.tenancy import tenant_context

# Twenty deals, every stage present, most still open.
DEAL_STAGES: list[DealStage] = (
    [DealStage.LEAD] * 4
    + [DealStage.QUALIFIED] * 4
    + [DealStage.PROPOSAL] * 4
    + [DealStage.NEGOTIATION] * 3
    + [DealStage.WON] * 3
    + [DealStage.LOST] * 2
)
TASKS_DONE = 8
TASKS_OVERDUE = 6
TASKS_UPCOMING = 11


@dataclass(frozen=True)
class DealPlan:
    name: str
    company: DemoCompany
    people: tuple[DemoPerson, ...]
    stage: str
    amount: Decimal
    close_date: date
    owner: DemoTeammate


@dataclass(frozen=True)
class TaskPlan:
    title: str
    status: str
    due_at: datetime
    assignee: DemoTeammate
    company: DemoCompany
    person: DemoPerson
    deal_name: str | None


def deal_plans(rng: random.Random, today: date) -> list[DealPlan]:
    stages: list[str] = list(DEAL_STAGES)
    rng.shuffle(stages)
    used: set[tuple[str, str]] = set()
    plans = []
    for index, stage in enumerate(stages):
        company = DEMO_COMPANIES[index % len(DEMO_COMPANIES)]
        unused = [p for p in demo_data.DEMO_PRODUCTS if (company.name, p) not in used]
        product = rng.choice(unused)
        used.add((company.name, product))
        if stage == DealStage.WON:
            close_date = today - timedelta(days=rng.randint(3, 60))
        elif stage == DealStage.LOST:
            close_date = today - timedelta(days=rng.randint(7, 90))
        else:  # open deals close from a week ago (slipping) to three months out
            close_date = today + timedelta(days=rng.randint(-7, 90))
        people = tuple(rng.sample(company.people, k=rng.randint(1, 2)))
        plans.append(
            DealPlan(
                name=f"{company.name} — {product}",
                company=company,
                people=people,
                stage=stage,
                amount=Decimal(rng.randrange(4_000, 240_000, 500)),
                close_date=close_date,
                owner=rng.choice(DEMO_TEAM),
            )
        )
    return plans


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour=hour), tzinfo=UTC)


def task_plans(rng: random.Random, today: date, deals: list[DealPlan]) -> list[TaskPlan]:
    kinds = ["done"] * TASKS_DONE + ["overdue"] * TASKS_OVERDUE + ["upcoming"] * TASKS_UPCOMING
    deals_by_company: dict[str, list[DealPlan]] = {}
    for deal in deals:
        deals_by_company.setdefault(deal.company.name, []).append(deal)
    titles: set[str] = set()
    plans = []
    for index, kind in enumerate(kinds):
        while True:
            company = rng.choice(DEMO_COMPANIES)
            person = rng.choice(company.people)
            template = rng.choice(demo_data.DEMO_TASK_TEMPLATES)
            title = template.format(
                first=person.first_name, last=person.last_name, company=company.name
            )
            if title not in titles:
                titles.add(title)
                break
        if kind == "done":
            due = today - timedelta(days=rng.randint(1, 30))
        elif kind == "overdue":
            due = today - timedelta(days=rng.randint(1, 10))
        else:
            due = today + timedelta(days=rng.randint(0, 21))
        company_deals = deals_by_company.get(company.name, [])
        linked = rng.choice(company_deals) if company_deals and rng.random() < 0.6 else None
        plans.append(
            TaskPlan(
                title=title,
                status=TaskStatus.DONE if kind == "done" else TaskStatus.OPEN,
                due_at=_at(due, rng.choice([9, 10, 11, 14, 15, 16])),
                assignee=DEMO_TEAM[index % len(DEMO_TEAM)],
                company=company,
                person=person,
                deal_name=linked.name if linked else None,
            )
        )
    return plans


class Seeder:
    """Creates whatever of the plan is missing, in the current organization."""

    def __init__(self, organization: Organization, users: dict[str, User]) -> None:
        self.organization = organization
        self.users = users
        self.created: dict[str, int] = {"accounts": 0, "contacts": 0, "deals": 0, "tasks": 0}
        self.accounts: dict[str, Account] = {}
        self.contacts: dict[str, Contact] = {}
        self.deals: dict[str, Deal] = {}

    def accounts_and_contacts(self) -> None:
        for index, company in enumerate(DEMO_COMPANIES):
            owner = self.users[DEMO_TEAM[index % len(DEMO_TEAM)].email]
            account = Account.objects.filter(name=company.name).first()
            if account is None:
                account = account_save(
                    name=company.name,
                    website=company.website,
                    industry=company.industry,
                    owner=owner,
                    domains=list(company.domains),
                )
                self.created["accounts"] += 1
            self.accounts[company.name] = account
            for person in company.people:
                self.contacts[person.email] = self._contact(person, account, owner)

    def _contact(self, person: DemoPerson, account: Account, owner: User) -> Contact:
        existing = ContactEmail.objects.select_related("contact").filter(email=person.email).first()
        if existing is not None:
            return existing.contact
        self.created["contacts"] += 1
        return contact_save(
            first_name=person.first_name,
            last_name=person.last_name,
            title=person.title,
            phones=list(person.phones),
            account=account,
            owner=owner,
            emails=list(person.emails),
        )

    def deals_from(self, plans: list[DealPlan]) -> None:
        for plan in plans:
            deal = Deal.objects.filter(name=plan.name).first()
            if deal is None:
                deal = deal_save(
                    name=plan.name,
                    account=self.accounts[plan.company.name],
                    stage=plan.stage,
                    amount=plan.amount,
                    currency="USD",
                    close_date=plan.close_date,
                    owner=self.users[plan.owner.email],
                    contacts=[self.contacts[p.email] for p in plan.people],
                )
                self.created["deals"] += 1
            self.deals[plan.name] = deal

    def tasks_from(self, plans: list[TaskPlan]) -> None:
        for plan in plans:
            if Task.objects.filter(title=plan.title).exists():
                continue
            task_save(
                title=plan.title,
                notes=f"Demo task for {plan.person.full_name} at {plan.company.name}.",
                due_at=plan.due_at,
                status=plan.status,
                assignee=self.users[plan.assignee.email],
                contact=self.contacts[plan.person.email],
                account=self.accounts[plan.company.name],
                deal=self.deals[plan.deal_name] if plan.deal_name else None,
            )
            self.created["tasks"] += 1


def _user_ensure(teammate: DemoTeammate, password: str) -> tuple[User, bool]:
    """The teammate's user; an existing one only gets the current demo password back."""
    user = User.objects.filter(email=teammate.email).first()
    created = user is None
    if user is None:
        user = User.objects.create_user(
            teammate.email,
            password,
            first_name=teammate.first_name,
            last_name=teammate.last_name,
        )
    elif not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    # A verified address, so allauth never asks the demo users to confirm it.
    EmailAddress.objects.get_or_create(
        user=user, email=teammate.email, defaults={"verified": True, "primary": True}
    )
    return user, created


def _organization_ensure(owner: User) -> tuple[Organization, bool]:
    organization = Organization.objects.filter(slug=demo_data.DEMO_ORGANIZATION_SLUG).first()
    if organization is not None:
        # Organizations seeded before the sandbox mailboxes lack their domains: add, never drop.
        missing = [d for d in demo_data.DEMO_EMAIL_DOMAINS if d not in organization.email_domains]
        if missing:
            organization.email_domains = sorted({*organization.email_domains, *missing})
            organization.save(update_fields=["email_domains"])
        return organization, False
    organization = organization_create(
        name=demo_data.DEMO_ORGANIZATION_NAME,
        owner=owner,
        email_domains=demo_data.DEMO_EMAIL_DOMAINS,
    )
    if organization.slug != demo_data.DEMO_ORGANIZATION_SLUG:
        raise CommandError(
            f"Expected slug {demo_data.DEMO_ORGANIZATION_SLUG!r}, got {organization.slug!r}."
        )
    return organization, True


def seed_demo(*, today: date | None = None) -> tuple[Organization, dict[str, int]]:
    """Create what is missing of the demo organization; return it and the counts created."""
    today = today or timezone.localdate()
    password = demo_data.demo_password()
    rng = random.Random(demo_data.DEMO_RANDOM_SEED)  # noqa: S311 - reproducible, not secret
    deals = deal_plans(rng, today)
    tasks = task_plans(rng, today, deals)
    with transaction.atomic():
        users: dict[str, User] = {}
        new_users = 0
        for teammate in DEMO_TEAM:
            users[teammate.email], created = _user_ensure(teammate, password)
            new_users += created
        organization, _ = _organization_ensure(users[demo_data.DEMO_OWNER_EMAIL])
        for teammate in DEMO_TEAM:
            Membership.objects.get_or_create(
                user=users[teammate.email],
                organization=organization,
                defaults={"role": teammate.role},
            )
        with tenant_context(organization):
            seeder = Seeder(organization, users)
            seeder.accounts_and_contacts()
            seeder.deals_from(deals)
            seeder.tasks_from(tasks)
    return organization, {"users": new_users, **seeder.created}


class Command(BaseCommand):
    help = "Create the Acme Sales demo organization, its users and CRM data (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="seed even with DEBUG off (the demo users share a published password)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "DEBUG is off: seed_demo creates users with a published password. "
                "Use --force if this really is a demo installation."
            )
        try:
            organization, created = seed_demo()
        except ValidationError as exc:
            raise CommandError(f"Could not seed the demo data: {exc}") from exc
        summary = ", ".join(f"{count} {kind}" for kind, count in created.items())
        self.stdout.write(
            f"Demo organization {organization.name} ({organization.slug}): created {summary}."
        )
        self.stdout.write(
            f"Log in as {demo_data.DEMO_OWNER_EMAIL} with password {demo_data.demo_password()}"
        )
        teammates = ", ".join(f"{t.email} ({t.role})" for t in DEMO_TEAM[1:])
        self.stdout.write(f"Teammates, same password: {teammates}")

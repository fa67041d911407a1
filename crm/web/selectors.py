"""Reads for the web UI: list searches and filters, related records, member choices.

All of them build on ``crm.selectors`` querysets, so they are tenant-scoped and N+1-free.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from crm import selectors
from crm.models import (
    Account,
    AccountDomain,
    ApiToken,
    Contact,
    ContactEmail,
    Deal,
    DealStage,
    Invitation,
    Organization,
    Task,
    TaskStatus,
    User,
)

RELATED_LIMIT = 25


def _terms(q: str) -> list[str]:
    return [term for term in q.split() if term][:6]


def _person_filter(
    queryset: models.QuerySet[Any], field: str, value: str | None, user: User
) -> models.QuerySet[Any]:
    """``me``, ``none`` or a user id, on an owner/assignee field."""
    if value == "me":
        return queryset.filter(**{f"{field}_id": user.pk})
    if value == "none":
        return queryset.filter(**{f"{field}__isnull": True})
    if value and value.isdigit():
        return queryset.filter(**{f"{field}_id": int(value)})
    return queryset


def _id_filters(
    queryset: models.QuerySet[Any], filters: dict[str, str], lookups: dict[str, str]
) -> models.QuerySet[Any]:
    """Filters by a related record's id (``?account=12``); malformed ids are ignored."""
    for name, lookup in lookups.items():
        value = filters.get(name, "")
        if value.isdigit():
            queryset = queryset.filter(**{lookup: int(value)})
    return queryset


def contact_search(*, q: str, filters: dict[str, str], user: User) -> models.QuerySet[Contact]:
    contacts = selectors.contact_queryset()
    for term in _terms(q):
        with_email = ContactEmail.objects.filter(email__icontains=term).values("contact_id")
        contacts = contacts.filter(
            Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(title__icontains=term)
            | Q(account__name__icontains=term)
            | Q(pk__in=with_email)
        )
    contacts = _person_filter(contacts, "owner", filters.get("owner"), user)
    return _id_filters(contacts, filters, {"account": "account_id", "deal": "deals"})


def account_search(*, q: str, filters: dict[str, str], user: User) -> models.QuerySet[Account]:
    accounts = selectors.account_queryset()
    for term in _terms(q):
        with_domain = AccountDomain.objects.filter(domain__icontains=term).values("account_id")
        accounts = accounts.filter(
            Q(name__icontains=term) | Q(industry__icontains=term) | Q(pk__in=with_domain)
        )
    return _person_filter(accounts, "owner", filters.get("owner"), user)


def deal_search(*, q: str, filters: dict[str, str], user: User) -> models.QuerySet[Deal]:
    deals = selectors.deal_queryset()
    for term in _terms(q):
        deals = deals.filter(Q(name__icontains=term) | Q(account__name__icontains=term))
    if filters.get("stage") in DealStage.values:
        deals = deals.filter(stage=filters["stage"])
    deals = _person_filter(deals, "owner", filters.get("owner"), user)
    return _id_filters(deals, filters, {"account": "account_id", "contact": "contacts"})


def task_search(*, q: str, filters: dict[str, str], user: User) -> models.QuerySet[Task]:
    tasks = selectors.task_queryset()
    for term in _terms(q):
        tasks = tasks.filter(Q(title__icontains=term) | Q(notes__icontains=term))
    if filters.get("status") in TaskStatus.values:
        tasks = tasks.filter(status=filters["status"])
    tasks = _person_filter(tasks, "assignee", filters.get("assignee"), user)
    lookups = {"account": "account_id", "contact": "contact_id", "deal": "deal_id"}
    return _id_filters(tasks, filters, lookups)


def filter_subjects(filters: dict[str, str]) -> list[tuple[str, str]]:
    """``(parameter, name)`` of the records a list is narrowed to, for removable chips."""
    models_by_param: dict[str, type[models.Model]] = {
        "account": Account,
        "contact": Contact,
        "deal": Deal,
    }
    subjects = []
    for param, model in models_by_param.items():
        value = filters.get(param, "")
        record = model._default_manager.filter(pk=int(value)).first() if value.isdigit() else None
        if record is not None:
            subjects.append((param, f"{str(model._meta.verbose_name).capitalize()}: {record}"))
    return subjects


def member_users(*, organization: Organization) -> models.QuerySet[User]:
    """The people of an organization: owner and assignee choices."""
    return User.objects.filter(memberships__organization=organization).order_by(
        "first_name", "last_name", "email"
    )


def related_to_account(account: Account) -> dict[str, Any]:
    return {
        "contacts": selectors.contact_queryset().filter(account=account)[:RELATED_LIMIT],
        "contact_total": Contact.objects.filter(account=account).count(),
        "deals": selectors.deal_queryset().filter(account=account)[:RELATED_LIMIT],
        "deal_total": Deal.objects.filter(account=account).count(),
        "tasks": selectors.task_queryset().filter(account=account)[:RELATED_LIMIT],
        "task_total": Task.objects.filter(account=account).count(),
    }


def related_to_contact(contact: Contact) -> dict[str, Any]:
    return {
        "deals": selectors.deal_queryset().filter(contacts=contact)[:RELATED_LIMIT],
        "deal_total": Deal.objects.filter(contacts=contact).count(),
        "tasks": selectors.task_queryset().filter(contact=contact)[:RELATED_LIMIT],
        "task_total": Task.objects.filter(contact=contact).count(),
    }


def related_to_deal(deal: Deal) -> dict[str, Any]:
    return {
        "contacts": selectors.contact_queryset().filter(deals=deal)[:RELATED_LIMIT],
        "contact_total": Contact.objects.filter(deals=deal).count(),
        "tasks": selectors.task_queryset().filter(deal=deal)[:RELATED_LIMIT],
        "task_total": Task.objects.filter(deal=deal).count(),
    }


def outstanding_invitations() -> models.QuerySet[Invitation]:
    """The current organization's invitations nobody accepted yet, expired ones included."""
    return Invitation.objects.select_related("invited_by").filter(accepted_at__isnull=True)


def api_tokens_of(*, user: User) -> models.QuerySet[ApiToken]:
    """``user``'s tokens in the current organization, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def overview_counts(*, user: User) -> dict[str, int]:
    open_deals = Deal.objects.exclude(stage__in=[DealStage.WON, DealStage.LOST])
    return {
        "contacts": Contact.objects.count(),
        "accounts": Account.objects.count(),
        "open_deals": open_deals.count(),
        "my_open_tasks": Task.objects.filter(assignee=user, status=TaskStatus.OPEN).count(),
    }

"""Reads: tenant-scoped, permission-checked, N+1-free."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q

from crm.models import (
    Account,
    AccountDomain,
    ApiToken,
    Contact,
    ContactEmail,
    Deal,
    DealStage,
    Invitation,
    Membership,
    Organization,
    Task,
    TaskStatus,
    User,
)

ENTITY_MODELS: dict[str, type[models.Model]] = {
    "contact": Contact,
    "account": Account,
    "deal": Deal,
    "task": Task,
}


class EntityNotFound(LookupError):
    def __init__(self, entity_type: str, entity_id: Any) -> None:
        super().__init__(f"{entity_type} {entity_id} not found")
        self.entity_type = entity_type
        self.entity_id = entity_id


def entity_get(*, entity_type: str, entity_id: Any) -> models.Model:
    """``(entityType, entityId)`` → the object of the current organization, or EntityNotFound.

    Unknown types, malformed ids and other organizations' objects are all "not found".
    """
    model = ENTITY_MODELS.get(str(entity_type).lower())
    if model is None:
        raise EntityNotFound(entity_type, entity_id)
    try:
        return model._default_manager.get(pk=int(entity_id))
    except (ValueError, TypeError, ObjectDoesNotExist) as exc:
        raise EntityNotFound(entity_type, entity_id) from exc


def membership_for(*, user: Any, organization: Organization) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.select_related("organization")
        .filter(user=user, organization=organization)
        .first()
    )


def memberships_for_user(*, user: User) -> list[Membership]:
    return list(Membership.objects.select_related("organization").filter(user=user))


def members_of(*, organization: Organization) -> models.QuerySet[Membership]:
    return Membership.objects.select_related("user").filter(organization=organization)


def member_users(*, organization: Organization) -> models.QuerySet[User]:
    """The people of an organization: owner and assignee choices."""
    return User.objects.filter(memberships__organization=organization).order_by(
        "first_name", "last_name", "email"
    )


def outstanding_invitations() -> models.QuerySet[Invitation]:
    """The current organization's invitations nobody accepted yet, expired ones included."""
    return Invitation.objects.select_related("invited_by").filter(accepted_at__isnull=True)


def api_tokens_of(*, user: User) -> models.QuerySet[ApiToken]:
    """``user``'s tokens in the current organization, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def contact_queryset() -> models.QuerySet[Contact]:
    return Contact.objects.select_related("account", "owner").prefetch_related("emails")


def account_queryset() -> models.QuerySet[Account]:
    return (
        Account.objects.select_related("owner")
        .prefetch_related("domains")
        .annotate(contact_count=models.Count("contacts", distinct=True))
    )


def deal_queryset() -> models.QuerySet[Deal]:
    return Deal.objects.select_related("account", "owner").prefetch_related("dealcontact_set")


def task_queryset() -> models.QuerySet[Task]:
    return Task.objects.select_related("assignee", "contact", "account", "deal")


# --- Lists of the web UI: search, filters, related records ------------------------------------

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
    contacts = contact_queryset()
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
    accounts = account_queryset()
    for term in _terms(q):
        with_domain = AccountDomain.objects.filter(domain__icontains=term).values("account_id")
        accounts = accounts.filter(
            Q(name__icontains=term) | Q(industry__icontains=term) | Q(pk__in=with_domain)
        )
    return _person_filter(accounts, "owner", filters.get("owner"), user)


def deal_search(*, q: str, filters: dict[str, str], user: User) -> models.QuerySet[Deal]:
    deals = deal_queryset()
    for term in _terms(q):
        deals = deals.filter(Q(name__icontains=term) | Q(account__name__icontains=term))
    if filters.get("stage") in DealStage.values:
        deals = deals.filter(stage=filters["stage"])
    deals = _person_filter(deals, "owner", filters.get("owner"), user)
    return _id_filters(deals, filters, {"account": "account_id", "contact": "contacts"})


def task_search(*, q: str, filters: dict[str, str], user: User) -> models.QuerySet[Task]:
    tasks = task_queryset()
    for term in _terms(q):
        tasks = tasks.filter(Q(title__icontains=term) | Q(notes__icontains=term))
    if filters.get("status") in TaskStatus.values:
        tasks = tasks.filter(status=filters["status"])
    tasks = _person_filter(tasks, "assignee", filters.get("assignee"), user)
    lookups = {"account": "account_id", "contact": "contact_id", "deal": "deal_id"}
    return _id_filters(tasks, filters, lookups)


def filter_subjects(*, filters: dict[str, str]) -> list[tuple[str, str]]:
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


def _related(**lists: models.QuerySet[Any]) -> dict[str, Any]:
    """For each ``name=queryset``: ``names``, its first RELATED_LIMIT rows, and ``name_total``."""
    related: dict[str, Any] = {}
    for name, queryset in lists.items():
        related[f"{name}s"] = queryset[:RELATED_LIMIT]
        related[f"{name}_total"] = queryset.count()
    return related


def related_to_account(account: Account) -> dict[str, Any]:
    return _related(
        contact=contact_queryset().filter(account=account),
        deal=deal_queryset().filter(account=account),
        task=task_queryset().filter(account=account),
    )


def related_to_contact(contact: Contact) -> dict[str, Any]:
    return _related(
        deal=deal_queryset().filter(contacts=contact),
        task=task_queryset().filter(contact=contact),
    )


def related_to_deal(deal: Deal) -> dict[str, Any]:
    return _related(
        contact=contact_queryset().filter(deals=deal),
        task=task_queryset().filter(deal=deal),
    )


def overview_counts(*, user: User) -> dict[str, int]:
    open_deals = Deal.objects.exclude(stage__in=[DealStage.WON, DealStage.LOST])
    return {
        "contacts": Contact.objects.count(),
        "accounts": Account.objects.count(),
        "open_deals": open_deals.count(),
        "my_open_tasks": Task.objects.filter(assignee=user, status=TaskStatus.OPEN).count(),
    }

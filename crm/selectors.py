"""Reads: tenant-scoped, permission-checked, N+1-free."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models

from crm.models import Account, Contact, Deal, Membership, Organization, Task, User

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

"""Writes: shared inboxes (seed 003) and who of the team works a conversation.

- ``shared_inbox_create`` / ``shared_inbox_update``: name (unique in the organization, any
  case), colour ``#RRGGBB``, description, and assignees (members of the organization).
- ``shared_inbox_delete``: its mailboxes and conversations move to a successor (the default
  inbox unless given); the default inbox itself is never deleted.
- ``thread_assign``: a conversation goes to a member who may see it (None unassigns).

Refusals are ``InboxActionRefused``; invalid values are Django ``ValidationError`` by field.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.models import Membership, User
from crm.tenancy import current_organization
from integrations.mail.models import Mailbox, MailThread, SharedInbox, SharedInboxAssignee
from integrations.mail.selectors_inboxes import thread_visible_to_member
from integrations.mail.services import shared_inbox_default


class InboxActionRefused(Exception):
    """What was asked cannot be done as things are; ``conflict`` when another record is in the
    way (an API answers 409), otherwise the request itself is wrong (400)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        details: dict[str, Any] | None = None,
        conflict: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or {}
        self.conflict = conflict


def _check_name_free(name: str, *, inbox: SharedInbox | None = None) -> None:
    others = SharedInbox.objects.filter(name__iexact=name.strip())
    if inbox is not None:
        others = others.exclude(pk=inbox.pk)
    if others.exists():
        raise InboxActionRefused(
            f"A shared inbox named {name.strip()!r} exists already.",
            code="SharedInboxNameTaken",
            details={"name": name.strip()},
            conflict=True,
        )


def _members(user_ids: Collection[int]) -> list[int]:
    """``user_ids`` without repeats, if all are members of the organization."""
    wanted = list(dict.fromkeys(user_ids))
    members = set(
        Membership.objects.filter(
            organization=current_organization(), user_id__in=wanted
        ).values_list("user_id", flat=True)
    )
    strangers = [pk for pk in wanted if pk not in members]
    if strangers:
        raise ValidationError(
            {"assignees": [f"User {pk} is not a member of this organization." for pk in strangers]}
        )
    return wanted


def _assignees_set(inbox: SharedInbox, user_ids: list[int]) -> None:
    SharedInboxAssignee.objects.filter(shared_inbox=inbox).exclude(user_id__in=user_ids).delete()
    SharedInboxAssignee.objects.bulk_create(
        [
            SharedInboxAssignee(
                shared_inbox=inbox, user_id=pk, organization_id=inbox.organization_id
            )
            for pk in user_ids
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def shared_inbox_create(
    *, name: str, color: str, description: str = "", assignees: Collection[int] = ()
) -> SharedInbox:
    inbox = SharedInbox(name=name.strip(), color=color, description=description.strip())
    inbox.full_clean(exclude=["organization"], validate_constraints=False)
    members = _members(assignees)
    _check_name_free(inbox.name)
    inbox.save()
    _assignees_set(inbox, members)
    return inbox


@transaction.atomic
def shared_inbox_update(
    *,
    inbox: SharedInbox,
    name: str | None = None,
    color: str | None = None,
    description: str | None = None,
    assignees: Collection[int] | None = None,
) -> SharedInbox:
    """Change the fields given (None leaves one as it is); ``assignees`` replaces the team."""
    changes = {
        field: value.strip()
        for field, value in (("name", name), ("color", color), ("description", description))
        if value is not None
    }
    for field, value in changes.items():
        setattr(inbox, field, value)
    inbox.full_clean(exclude=["organization"], validate_constraints=False)
    members = _members(assignees) if assignees is not None else None
    if "name" in changes:
        _check_name_free(inbox.name, inbox=inbox)
    inbox.save(update_fields=[*changes, "updated_at"])
    if members is not None:
        _assignees_set(inbox, members)
    return inbox


@transaction.atomic
def shared_inbox_delete(*, inbox: SharedInbox, successor: SharedInbox | None = None) -> SharedInbox:
    """Delete ``inbox`` after moving its mailboxes and conversations to ``successor`` (the
    default inbox when None). Returns the successor."""
    if inbox.is_default:
        raise InboxActionRefused(
            "The default shared inbox cannot be deleted.",
            code="DefaultSharedInboxProtected",
            details={"id": inbox.pk},
        )
    successor = successor or shared_inbox_default()
    if successor.pk == inbox.pk:
        raise InboxActionRefused(
            "An inbox cannot be its own successor.",
            code="InvalidRequest",
            details={"successorInboxId": ["Choose another inbox."]},
        )
    Mailbox.objects.filter(shared_inbox=inbox).update(shared_inbox=successor)
    MailThread.objects.filter(shared_inbox=inbox).update(shared_inbox=successor)
    inbox.delete()
    return successor


def thread_assign(*, thread: MailThread, user_id: int | None) -> MailThread:
    """Give ``thread`` to the member ``user_id`` (who must be able to see it), or to nobody."""
    assignee: User | None = None
    if user_id is not None:
        assignee = thread_visible_to_member(thread=thread, user_id=user_id)
        if assignee is None:
            raise ValidationError(
                {"userId": [f"User {user_id} is not a member who may see this conversation."]}
            )
    thread.assigned_to = assignee
    thread.assigned_at = timezone.now() if assignee is not None else None
    thread.save(update_fields=["assigned_to", "assigned_at"])
    return thread

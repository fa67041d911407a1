"""Who may see which mail: a mailbox's visibility policy as conditions on its copies.

The mailbox's owner and the organization's admins see everything; other members see a private
mailbox's mail not at all, a ``metadata`` mailbox's as who and when, a ``subject`` mailbox's with
its subject, a ``full`` mailbox's with its content. A message (or thread) shows at the best level
any of its copies allows. Every read of mail for a person goes through ``VisibilityRules``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from crm.models import User
from crm.selectors import membership_for
from crm.tenancy import current_organization
from integrations.mail.models import MessageCopy, Visibility

HIDDEN, METADATA, SUBJECT, FULL = 0, 1, 2, 3
LEVEL_NAMES = {METADATA: Visibility.METADATA, SUBJECT: Visibility.SUBJECT, FULL: Visibility.FULL}


@dataclass(frozen=True)
class VisibilityRules:
    """Conditions on a MessageCopy: may the person see it at all, its subject, its content."""

    everything: bool
    any: Q
    subject: Q
    full: Q

    @classmethod
    def for_user(cls, user: User) -> VisibilityRules:
        membership = membership_for(user=user, organization=current_organization())
        owner = Q(mailbox__owner=user)
        full = owner | Q(mailbox__visibility=Visibility.FULL)
        return cls(
            everything=membership is not None and membership.is_admin,
            any=owner | ~Q(mailbox__visibility=Visibility.PRIVATE),
            subject=full | Q(mailbox__visibility=Visibility.SUBJECT),
            full=full,
        )

    def message_seen(self, condition: Q, message_ref: str = "pk") -> Exists:
        copies = MessageCopy.objects.filter(message=OuterRef(message_ref))
        return Exists(copies if self.everything else copies.filter(condition))

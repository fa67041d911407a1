"""``{% inbox_unread as n %}``: the unread conversations in the signed-in member's inbox, for
the navigation's badge (the folder counters: a few queries whatever the size of the mail)."""

from __future__ import annotations

from typing import Any

from django import template

from integrations.mail.models import InboxFolder
from integrations.mail.selectors_inbox import folder_counts

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_unread(context: dict[str, Any]) -> int:
    request = context.get("request")
    if request is None or getattr(request, "membership", None) is None:
        return 0
    return folder_counts(user=request.user)[InboxFolder.INBOX.value].unread

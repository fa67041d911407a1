"""Writes the web UI needs that ``crm.services`` does not offer (yet): deletes and invitation mail.

Candidates to move into ``crm/services.py``.
"""

from __future__ import annotations

import logging
import smtplib

from django.core.mail import send_mail
from django.db import models
from django.template.loader import render_to_string

from crm.models import Invitation

logger = logging.getLogger(__name__)


def record_delete(*, record: models.Model) -> None:
    """Delete a CRM record; links to it (tasks, contacts of an account) are cleared, not deleted."""
    record.delete()


def invitation_revoke(*, invitation: Invitation) -> None:
    """Withdraw an invitation: its link stops working at once."""
    invitation.delete()


def invitation_send(*, invitation: Invitation, accept_url: str) -> bool:
    """E-mail the invitation link; False when the mail server refused (the link still works)."""
    context = {"invitation": invitation, "accept_url": accept_url}
    subject = render_to_string("crm/emails/invitation_subject.txt", context).strip()
    body = render_to_string("crm/emails/invitation_message.txt", context)
    try:
        send_mail(subject, body, None, [invitation.email])
    except (smtplib.SMTPException, OSError):
        logger.exception("Could not send the invitation e-mail to %s", invitation.email)
        return False
    return True

"""Isolation cases of shared inboxes, assignment, a record's threads, and a thread's CRM and task
links (merged by test_api_isolation.py).

A's shared inbox and A's conversation (subject and sender carry the marker) are a 404 for
Charlie on every method; the routes that name a second record of A (a linked contact, a linked
task, the contact whose threads are listed) get its id through ``params``, filled in by the
maker like ``cases_mail_matching`` fills its body.
"""

from __future__ import annotations

from typing import Any

from integrations.mail.models import (
    LinkSource,
    Mailbox,
    MailThread,
    SharedInbox,
    ThreadLink,
    ThreadTask,
)
from tests.conftest import Tenant
from tests.factories import ContactFactory, TaskFactory
from tests.isolation.cases import MARKER, Case
from tests.mail.factories import ConnectionFactory, MailboxFactory, mail_message

MAILBOX = f"{MARKER}-inbox@alpha.test"
LINK_PARAMS = {"entity_type": "contact", "entity_id": "0"}  # set by _linked_thread
TASK_PARAMS = {"task_id": "0"}  # set by _thread_with_task
ENTITY_PARAMS = {"entity_type": "contact", "entity_id": "0"}  # set by _contact_with_thread


def _shared_inbox(tenant: Tenant) -> Any:
    return SharedInbox.objects.create(name=MARKER, description=MARKER).pk


def _marked_thread(tenant: Tenant) -> MailThread:
    """A conversation in A's marked mailbox, routed to A's shared inbox and assigned."""
    mailbox = Mailbox.objects.filter(address=MAILBOX).first() or MailboxFactory(
        connection=ConnectionFactory(user=tenant.member, email=MAILBOX)
    )
    message = mail_message(mailbox, sender=f"{MARKER}@alpha.test", to=[MAILBOX], subject=MARKER)
    thread = message.thread
    thread.shared_inbox = SharedInbox.objects.filter(name=MARKER).first()
    thread.assigned_to = tenant.member
    thread.save(update_fields=["shared_inbox", "assigned_to"])
    return thread


def _thread(tenant: Tenant) -> Any:
    return _marked_thread(tenant).pk


def _thread_with_contact(tenant: Tenant, params: dict[str, str]) -> MailThread:
    """A marked conversation linked to a contact of A whose id goes into ``params``."""
    thread = _marked_thread(tenant)
    contact = ContactFactory(first_name="Linked", last_name=MARKER)
    ThreadLink.objects.create(thread=thread, contact=contact, source=LinkSource.MANUAL)
    params["entity_id"] = str(contact.pk)
    return thread


def _linked_thread(tenant: Tenant) -> Any:
    return _thread_with_contact(tenant, LINK_PARAMS).pk


def _contact_with_thread(tenant: Tenant) -> Any:
    _thread_with_contact(tenant, ENTITY_PARAMS)
    return ENTITY_PARAMS["entity_id"]


def _thread_with_task(tenant: Tenant) -> Any:
    thread = _marked_thread(tenant)
    task = TaskFactory(title="Linked task", notes=MARKER)
    ThreadTask.objects.create(thread=thread, task=task)
    TASK_PARAMS["task_id"] = str(task.pk)
    return thread.pk


EMAIL = "/api/v1/integrations/email"
CASES: dict[str, Case] = {
    f"{EMAIL}/shared-inboxes": Case(body={"name": "beta", "color": "#000000"}),
    f"{EMAIL}/shared-inboxes/{{id}}": Case(_shared_inbox, body={"name": "beta"}),
    f"{EMAIL}/thread/{{id}}/assign": Case(_thread, body={"userId": None}),
    f"{EMAIL}/thread/{{id}}/links": Case(_thread),
    f"{EMAIL}/thread/{{id}}/links/{{entity_type}}/{{entity_id}}": Case(
        _linked_thread, params=LINK_PARAMS
    ),
    f"{EMAIL}/thread/{{id}}/tasks": Case(_thread),
    f"{EMAIL}/thread/{{id}}/tasks/{{task_id}}": Case(_thread_with_task, params=TASK_PARAMS),
    f"{EMAIL}/threads/{{entity_type}}/{{entity_id}}": Case(
        _contact_with_thread, params=ENTITY_PARAMS
    ),
}

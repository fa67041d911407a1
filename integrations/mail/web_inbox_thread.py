"""The thread view of the Inbox: a conversation's messages in date order (collapsed but for the
newest unread one, or the newest), each body in the sandboxed frame of ``web_reading``, the
attachments, and the panels that link records and tasks and assign the conversation.

Opening a conversation marks it read. The view is a page of its own, or — for htmx, aimed at
``inbox-reader`` — the reading pane of the Inbox page, with the list's row, the folder counts
and the unread badge redrawn out of band. Every panel action is a POST that answers with its
panel (htmx) or redirects back to the thread. Who may see the conversation may use the panels
(``selectors_inboxes.thread_for_user``); anyone else gets a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse

from crm import selectors as crm_selectors
from crm.models import Task, TaskStatus
from crm.tenancy import current_organization
from crm.web.access import acting_user, is_htmx, member_required
from integrations.mail.api.reading import INLINE_TYPES
from integrations.mail.content import media_type
from integrations.mail.flags import Flag
from integrations.mail.inbox_actions import conversation_flags, conversations_flag_set
from integrations.mail.matching_relink import Entity
from integrations.mail.models import Attachment, MailThread, Participant, ParticipantRole
from integrations.mail.reading_html import attachment_url
from integrations.mail.selectors_inboxes import thread_for_user
from integrations.mail.selectors_links import thread_links, thread_tasks
from integrations.mail.selectors_reading import MessageReading, ThreadReading, thread_for_reader
from integrations.mail.services_inboxes import thread_assign
from integrations.mail.services_links import (
    thread_link_add,
    thread_link_remove,
    thread_task_add,
    thread_task_remove,
)
from integrations.mail.web_inbox import (
    InboxParams,
    ThreadActions,
    changed_parts,
    folders_context,
)
from integrations.mail.web_reading import MessageFrame, message_frame

READER = "inbox-reader"
ENTITY_TYPES = ("contact", "account", "deal")
FOUND_LIMIT = 5


@dataclass(frozen=True)
class AttachmentView:
    attachment: Attachment
    url: str
    kind: str  # image (a thumbnail) | pdf (a thumbnail of its first page, a preview) | file

    @property
    def download_url(self) -> str:
        return f"{self.url}?download=1"

    @property
    def thumbnail_url(self) -> str:
        """The first page of a PDF, drawn by the preview endpoint."""
        return f"{self.url}/preview?page=1"

    @property
    def preview_url(self) -> str:
        """The page that shows every page of a PDF."""
        return reverse(
            "mail-attachment-preview", args=[self.attachment.message_id, self.attachment.pk]
        )


@dataclass(frozen=True)
class MessageView:
    reading: MessageReading
    frame: MessageFrame | None
    attachments: list[AttachmentView]
    expanded: bool

    @property
    def sender(self) -> Participant | None:
        return next((p for p in self.reading.participants if p.role == ParticipantRole.FROM), None)

    def _role(self, role: str) -> list[Participant]:
        return [p for p in self.reading.participants if p.role == role]

    @property
    def to(self) -> list[Participant]:
        return self._role(ParticipantRole.TO)

    @property
    def cc(self) -> list[Participant]:
        return self._role(ParticipantRole.CC)


def _attachment_kind(attachment: Attachment) -> str:
    content_type = media_type(attachment)
    if content_type in INLINE_TYPES:
        return "image"
    return "pdf" if content_type == "application/pdf" else "file"


def _message_views(request: HttpRequest, reading: ThreadReading) -> list[MessageView]:
    """The messages, the newest unread one open (else the newest); read before marking."""
    messages = reading.messages
    unread = [m for m in messages if m.unread]
    expanded = (unread or messages)[-1].message.pk
    return [
        MessageView(
            reading=m,
            frame=message_frame(request, m, images=False) if m.shows_content else None,
            attachments=[
                AttachmentView(a, attachment_url(request, a), _attachment_kind(a))
                for a in m.attachments
                if not a.is_inline
            ],
            expanded=m.message.pk == expanded,
        )
        for m in messages
    ]


def _thread_or_404(request: HttpRequest, pk: int) -> MailThread:
    thread = thread_for_user(user=acting_user(request), thread_id=pk)
    if thread is None:
        raise Http404("No such conversation")
    return thread


def _panels_context(thread: MailThread) -> dict[str, Any]:
    return {
        "thread": thread,
        "links": thread_links(thread=thread),
        "thread_tasks": list(thread_tasks(thread=thread)),
        "members": crm_selectors.member_users(organization=current_organization()),
    }


@member_required
def thread_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A conversation, marked read as it opens."""
    user = acting_user(request)
    reading = thread_for_reader(user=user, thread_id=pk)
    if reading is None:
        raise Http404("No such conversation")
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    params = InboxParams.parse(request.GET)
    messages = _message_views(request, reading)
    flags = conversation_flags(user=user, thread_ids=[pk])[pk]
    was_unread = any(m.unread for m in reading.messages)
    marked = was_unread and flags.actionable
    if marked:
        conversations_flag_set(user=user, thread_ids=[pk], flag=Flag.READ, value=True)
    starred = any(m.starred for m in reading.messages)
    context: dict[str, Any] = {
        **_panels_context(reading.thread),
        "reading": reading,
        "thread_messages": messages,
        # Read now, unless none of it is the person's to change.
        "actions": ThreadActions(pk, flags, unread=was_unread and not marked, starred=starred),
        "params": params,
        "list_url": params.url,
    }
    if is_htmx(request, READER):
        changed = changed_parts(request, params, pk, reader=False) if marked else {}
        return render(request, "mail/_inbox_thread_part.html", {**changed, **context})
    context.update(folders_context(user, params))
    return render(request, "mail/inbox_thread.html", {**context, "nav": "inbox"})


def _panel(request: HttpRequest, thread: MailThread, template: str, **extra: Any) -> HttpResponse:
    if not is_htmx(request):
        return redirect(reverse("inbox_thread", args=[thread.pk]))
    return render(request, template, {**_panels_context(thread), **extra})


def _entity_or_404(raw: str) -> Entity:
    """``contact:12``, ``account:3`` or ``deal:7`` of this organization."""
    entity_type, _, entity_id = raw.partition(":")
    if entity_type not in ENTITY_TYPES:
        raise Http404("No such record")
    try:
        return crm_selectors.entity_get(entity_type=entity_type, entity_id=entity_id)  # type: ignore[return-value]
    except crm_selectors.EntityNotFound as exc:
        raise Http404("No such record") from exc


ThreadAction = Callable[[HttpRequest, MailThread], HttpResponse]


def _thread_action(action: ThreadAction) -> Callable[..., HttpResponse]:
    """A POST about a conversation the person may see; anyone else gets a 404 whatever the
    method, so nothing tells them it exists."""

    @member_required
    @wraps(action)
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        thread = _thread_or_404(request, pk)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return action(request, thread)

    return view


@_thread_action
def thread_link(request: HttpRequest, thread: MailThread) -> HttpResponse:
    """Link the conversation to a contact, account or deal (``entity``), by hand."""
    entity = _entity_or_404(request.POST.get("entity", ""))
    thread_link_add(thread=thread, entity=entity, user=acting_user(request))
    return _panel(request, thread, "mail/_inbox_thread_links.html")


@_thread_action
def thread_unlink(request: HttpRequest, thread: MailThread) -> HttpResponse:
    """Unlink the conversation from a record for good (matching does not bring it back)."""
    entity = _entity_or_404(request.POST.get("entity", ""))
    thread_link_remove(thread=thread, entity=entity, user=acting_user(request))
    return _panel(request, thread, "mail/_inbox_thread_links.html")


def _task_or_404(raw: str) -> Task:
    task = Task.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if task is None:
        raise Http404("No such task")
    return task


@_thread_action
def thread_task_link(request: HttpRequest, thread: MailThread) -> HttpResponse:
    task = _task_or_404(request.POST.get("task", ""))
    thread_task_add(thread=thread, task=task, user=acting_user(request))
    return _panel(request, thread, "mail/_inbox_thread_tasks.html")


@_thread_action
def thread_task_unlink(request: HttpRequest, thread: MailThread) -> HttpResponse:
    raw = request.POST.get("task", "")
    if raw.isdigit():
        thread_task_remove(thread=thread, task_id=int(raw))
    return _panel(request, thread, "mail/_inbox_thread_tasks.html")


@_thread_action
def thread_assign_view(request: HttpRequest, thread: MailThread) -> HttpResponse:
    """Give the conversation to a member who may see it (``user``; empty: to nobody)."""
    raw = request.POST.get("user", "")
    error = ""
    try:
        thread = thread_assign(thread=thread, user_id=int(raw) if raw.isdigit() else None)
    except ValidationError as exc:
        error = " ".join(exc.messages)
        thread.refresh_from_db(fields=["assigned_to", "assigned_at"])
    return _panel(request, thread, "mail/_inbox_thread_assign.html", assign_error=error)


@member_required
def thread_search(request: HttpRequest, pk: int) -> HttpResponse:
    """Records (``kind=records``: contacts, accounts and deals by name) or open tasks
    (``kind=tasks``; the next ones due without a query) to link the conversation to."""
    thread = _thread_or_404(request, pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    user = acting_user(request)
    q = request.GET.get("q", "").strip()
    context: dict[str, Any] = {"thread": thread, "q": q}
    if request.GET.get("kind") == "tasks":
        tasks = crm_selectors.task_search(q=q, filters={"status": TaskStatus.OPEN}, user=user)
        context["found_tasks"] = list(tasks[: FOUND_LIMIT * 2])
        return render(request, "mail/_inbox_thread_found_tasks.html", context)
    found: list[tuple[str, str, int, str]] = []
    if q:
        for kind, records in (
            ("contact", crm_selectors.contact_search(q=q, filters={}, user=user)),
            ("account", crm_selectors.account_search(q=q, filters={}, user=user)),
            ("deal", crm_selectors.deal_search(q=q, filters={}, user=user)),
        ):
            found += [(kind, kind.title(), r.pk, str(r)) for r in records[:FOUND_LIMIT]]
    context["found"] = found
    return render(request, "mail/_inbox_thread_found.html", context)

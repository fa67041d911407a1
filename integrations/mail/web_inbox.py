"""The Inbox page: folders with unread counts, a mailbox and shared-inbox switcher, the search
box, and the list of conversations with per-row toggles and bulk actions.

Every change is a POST that htmx answers with the part of the page it changed: one row (or
nothing, when the conversation left the folder shown) or the list, plus the folder counts and
the navigation's unread badge out of band. Without JavaScript the same forms post and redirect
back. The thread view and its actions live in ``web_inbox_thread``.

htmx targets: ``inbox-main`` (a folder link: the toolbar and the list), ``inbox-list`` (search,
filters, bulk actions: the list) and ``inbox-more`` (the next page, when the end of the list is
scrolled into view).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotAllowed,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from crm.models import User
from crm.web.access import acting_user, is_htmx, member_required, safe_next
from integrations.mail.flags import Flag
from integrations.mail.inbox_actions import (
    ConversationFlags,
    conversation_flags,
    conversations_flag_set,
)
from integrations.mail.models import InboxFolder, Mailbox, SharedInbox
from integrations.mail.search import SearchSyntaxError, search_parse
from integrations.mail.selectors_inbox import (
    InboxFilters,
    InboxPage,
    InboxScope,
    MailboxNotVisible,
    conversation_row,
    folder_counts,
    inbox_page,
)
from integrations.mail.selectors_inbox_rows import ConversationRow
from integrations.mail.selectors_inboxes import thread_for_user

PAGE_SIZE = 25
MAIN, LIST, MORE = "inbox-main", "inbox-list", "inbox-more"
SEARCH_HELP = "Search mail: from: to: subject: has:attachment before:YYYY-MM-DD after:YYYY-MM-DD"
# Bulk action → (flag, value).
BULK_ACTIONS = {
    "read": (Flag.READ, True),
    "unread": (Flag.READ, False),
    "archive": (Flag.ARCHIVED, True),
    "unarchive": (Flag.ARCHIVED, False),
    "star": (Flag.STARRED, True),
    "unstar": (Flag.STARRED, False),
}


def _positive(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and int(raw) > 0 else None


@dataclass(frozen=True)
class InboxParams:
    """What the list shows: from the query string, or from the state a POST carries along."""

    folder: str = InboxFolder.INBOX
    q: str = ""
    unread: bool = False
    mailbox_id: int | None = None
    shared_inbox_id: int | None = None
    page: int = 1

    @classmethod
    def parse(cls, data: QueryDict) -> InboxParams:
        folder = data.get("folder", InboxFolder.INBOX)
        return cls(
            folder=folder if folder in InboxFolder.values else InboxFolder.INBOX,
            q=data.get("q", "").strip(),
            unread=data.get("unread") in ("1", "true", "on"),
            mailbox_id=_positive(data.get("mailbox")),
            shared_inbox_id=_positive(data.get("shared")),
            page=_positive(data.get("page")) or 1,
        )

    def query(self, **changes: Any) -> str:
        """The list's URL with some parameters changed (page 1 unless given)."""
        params = replace(self, **{"page": 1, **changes})
        pairs = {
            "folder": params.folder if params.folder != InboxFolder.INBOX else None,
            "mailbox": params.mailbox_id,
            "shared": params.shared_inbox_id,
            "q": params.q or None,
            "unread": "1" if params.unread else None,
            "page": params.page if params.page > 1 else None,
        }
        query = urlencode({k: v for k, v in pairs.items() if v is not None})
        return f"{reverse('inbox')}{'?' + query if query else ''}"

    @property
    def url(self) -> str:
        return self.query(page=self.page)

    @property
    def first_url(self) -> str:
        return self.query()

    @property
    def cleared_url(self) -> str:
        """The folder without the search and the unread filter."""
        return self.query(q="", unread=False)

    @property
    def folder_label(self) -> str:
        return str(InboxFolder(self.folder).label)


@dataclass(frozen=True)
class ListedRow:
    row: ConversationRow
    flags: ConversationFlags


@dataclass(frozen=True)
class FolderLink:
    value: str
    label: str
    unread: int | None  # None: not counted for this scope
    url: str
    current: bool


def _scope_checked(params: InboxParams, user: User) -> None:
    """Another organization's (or a hidden) mailbox or shared inbox is a 404."""
    if params.mailbox_id is not None:
        try:
            InboxScope.for_user(user, params.mailbox_id)
        except MailboxNotVisible as exc:
            raise Http404("No such mailbox") from exc
    shared = params.shared_inbox_id
    if shared is not None and not SharedInbox.objects.filter(pk=shared).exists():
        raise Http404("No such shared inbox")


def folders_context(user: User, params: InboxParams) -> dict[str, Any]:
    """The left column: folders with unread counts, the mailboxes and shared inboxes."""
    # The counters know whole mailboxes, not shared inboxes: no numbers for one of those.
    counts = (
        None if params.shared_inbox_id else folder_counts(user=user, mailbox_id=params.mailbox_id)
    )
    folders = [
        FolderLink(
            value=folder.value,
            label=str(folder.label),
            unread=counts[folder.value].unread if counts is not None else None,
            url=params.query(folder=folder.value, q="", unread=False),
            current=folder.value == params.folder,
        )
        for folder in InboxFolder
    ]
    visible = InboxScope.for_user(user).mailboxes
    mailboxes = Mailbox.objects.filter(pk__in=list(visible)).order_by("address")
    return {
        "params": params,
        "folders": folders,
        "mailboxes": mailboxes.only("pk", "address", "display_name"),
        "shared_inboxes": SharedInbox.objects.order_by("-is_default", "name", "pk"),
    }


def list_context(user: User, params: InboxParams) -> dict[str, Any]:
    """One page of the list as ``params`` asks, the rows with what the person may do to them."""
    error = ""
    page = InboxPage(results=[], total=0, page=params.page, limit=PAGE_SIZE)
    try:
        query = search_parse(params.q)
    except SearchSyntaxError as exc:
        error = str(exc)
    else:
        filters = InboxFilters(
            folder=params.folder,
            query=query,
            unread=True if params.unread else None,
            mailbox_id=params.mailbox_id,
            shared_inbox_id=params.shared_inbox_id,
        )
        page = inbox_page(user=user, filters=filters, page=params.page, limit=PAGE_SIZE)
    conversations: list[ConversationRow] = page.results  # type: ignore[assignment]
    flags = conversation_flags(user=user, thread_ids=[row.id for row in conversations])
    first = (page.page - 1) * page.limit
    return {
        "params": params,
        "page": page,
        "rows": [ListedRow(row, flags[row.id]) for row in conversations],
        "first": first + 1,
        "last": first + len(conversations),
        "next_url": params.query(page=page.page + 1) if page.page < page.pages else "",
        "search_error": error,
        "search_help": SEARCH_HELP,
        "today": timezone.localdate(),
    }


def _render_list_part(request: HttpRequest, params: InboxParams, template: str) -> HttpResponse:
    user = acting_user(request)
    context = {**list_context(user, params), **folders_context(user, params)}
    return render(request, template, context)


@member_required
def inbox(request: HttpRequest) -> HttpResponse:
    """The Inbox page, or the part of it an htmx request targets."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    user = acting_user(request)
    params = InboxParams.parse(request.GET)
    _scope_checked(params, user)
    if is_htmx(request, MORE):
        response = render(request, "mail/_inbox_rows.html", list_context(user, params))
    elif is_htmx(request, LIST):
        response = _render_list_part(request, params, "mail/_inbox_list_part.html")
    elif is_htmx(request, MAIN):
        response = _render_list_part(request, params, "mail/_inbox_main_part.html")
    else:
        context = {**list_context(user, params), **folders_context(user, params)}
        response = render(request, "mail/inbox.html", {**context, "nav": "inbox"})
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def changed_parts(
    request: HttpRequest, params: InboxParams, thread_id: int, *, reader: bool
) -> dict[str, Any]:
    """What a change to one conversation redraws: its row in the list (None: it left the
    folder shown), the folder counts and the unread badge; with ``reader``, the thread view's
    actions too."""
    user = acting_user(request)
    row = conversation_row(
        user=user, thread_id=thread_id, mailbox_id=params.mailbox_id, folder=params.folder
    )
    flags = conversation_flags(user=user, thread_ids=[thread_id])[thread_id]
    context: dict[str, Any] = {
        **folders_context(user, params),
        "params": params,
        "thread_id": thread_id,
        "item": ListedRow(row, flags) if row is not None else None,
        "today": timezone.localdate(),
    }
    if reader:
        listed = row or conversation_row(user=user, thread_id=thread_id)
        context["actions"] = thread_actions(thread_id, listed, flags)
    return context


@dataclass(frozen=True)
class ThreadActions:
    """The thread view's toolbar: the conversation's state and what may be done to it."""

    thread_id: int
    flags: ConversationFlags
    unread: bool
    starred: bool


def thread_actions(
    thread_id: int, row: ConversationRow | None, flags: ConversationFlags
) -> ThreadActions:
    return ThreadActions(
        thread_id=thread_id,
        flags=flags,
        unread=row.unread if row is not None else False,
        starred=row.starred if row is not None else False,
    )


@member_required
def thread_flag(request: HttpRequest, pk: int) -> HttpResponse:
    """Read, star or archive one conversation (``flag``, ``value`` 1 or 0)."""
    user = acting_user(request)
    if thread_for_user(user=user, thread_id=pk) is None:
        raise Http404("No such conversation")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        flag = Flag(request.POST.get("flag", ""))
    except ValueError:
        return HttpResponseBadRequest("Unknown flag.")
    value = request.POST.get("value") == "1"
    params = InboxParams.parse(request.POST)
    _scope_checked(params, user)
    if not conversations_flag_set(user=user, thread_ids=[pk], flag=flag, value=value):
        return HttpResponseForbidden(
            "This conversation is in mailboxes you may read but not change."
        )
    if not is_htmx(request):
        return redirect(safe_next(request, reverse("inbox"), referer=True))
    reader = request.POST.get("view") == "reader"
    return render(
        request, "mail/_inbox_changed.html", changed_parts(request, params, pk, reader=reader)
    )


@member_required
def bulk(request: HttpRequest) -> HttpResponse:
    """One action on the conversations ticked in the list; htmx gets the list back."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    action = BULK_ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        return HttpResponseBadRequest("Unknown action.")
    params = InboxParams.parse(request.POST)
    _scope_checked(params, acting_user(request))
    ids = [int(raw) for raw in request.POST.getlist("threads") if raw.isdigit()]
    if ids:
        flag, value = action
        conversations_flag_set(user=acting_user(request), thread_ids=ids, flag=flag, value=value)
    if not is_htmx(request):
        return redirect(params.url)
    return _render_list_part(request, params, "mail/_inbox_list_part.html")

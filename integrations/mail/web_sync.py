"""Settings → Mailboxes: what syncs, how far along it is, what went wrong, and the policies.

The status block of each mailbox is a partial that htmx reloads every 2 s while a run is
RUNNING; once the run ends the partial comes back without the trigger and polling stops.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.views.decorators.http import require_GET, require_POST

from crm.web.access import acting_membership, acting_user, member_required
from integrations.connections.models import Connection, ConnectionStatus, Provider
from integrations.mail import selectors
from integrations.mail import services_mailboxes as services
from integrations.mail.models import (
    ContactCreation,
    Mailbox,
    RunStatus,
    SharedInbox,
    SyncRun,
    SyncState,
    Timeframe,
    Visibility,
)
from integrations.mail.sync.lease import SyncAlreadyRunning
from integrations.providers.base import ProviderError

FOLDER_NAMES = {
    "inbox": "Inbox",
    "sent_items": "Sent items",
    "archive": "Archive",
    "mailbox": "All mail",
    "retry": "Failed messages",
}
INCREMENTAL = ""  # "Sync now" without a timeframe: what changed since the last sync


class MailboxPolicyForm(forms.Form):
    sync_enabled = forms.BooleanField(label="Sync this mailbox", required=False)
    read_enabled = forms.BooleanField(label="Show its mail in Liaison", required=False)
    send_enabled = forms.BooleanField(label="Send from it", required=False)
    is_default = forms.BooleanField(label="Default mailbox for sending", required=False)
    sync_timeframe = forms.ChoiceField(label="Sync how far back", choices=Timeframe.choices)
    visibility = forms.ChoiceField(label="Teammates see", choices=Visibility.choices)
    contact_creation = forms.ChoiceField(
        label="Create contacts for", choices=ContactCreation.choices
    )
    exclude_internal = forms.BooleanField(label="Skip mail between colleagues only", required=False)

    @classmethod
    def for_mailbox(cls, mailbox: Mailbox, data: Any = None) -> MailboxPolicyForm:
        initial = {name: getattr(mailbox, name) for name in cls.base_fields}
        return cls(data, initial=initial, prefix=f"m{mailbox.pk}")


class SyncNowForm(forms.Form):
    timeframe = forms.ChoiceField(
        choices=[(INCREMENTAL, "What changed since the last sync"), *Timeframe.choices],
        required=False,
    )


class SharedMailboxForm(forms.Form):
    email = forms.EmailField(label="Shared mailbox address")
    connection = forms.ModelChoiceField(
        label="Reach it as", queryset=Connection.objects.none(), empty_label=None
    )
    shared_inbox = forms.ModelChoiceField(
        label="Shared inbox",
        queryset=SharedInbox.objects.none(),
        required=False,
        empty_label="The default team inbox",
    )
    timeframe = forms.ChoiceField(
        label="First sync",
        choices=[(INCREMENTAL, "Not now"), *Timeframe.choices],
        required=False,
        initial=Timeframe.ONE_MONTH,
    )

    def __init__(self, *args: Any, connections: list[Connection], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["connection"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Connection.objects.filter(pk__in=[c.pk for c in connections])
        if len(connections) == 1:
            field.initial = connections[0].pk
            field.widget = forms.HiddenInput()
        inboxes = self.fields["shared_inbox"]
        assert isinstance(inboxes, forms.ModelChoiceField)
        inboxes.queryset = SharedInbox.objects.filter(is_default=False)


@dataclass(frozen=True)
class Notice:
    """A problem in plain words, with the page that fixes it when there is one."""

    text: str
    level: str = "warning"
    link_url: str = ""
    link_label: str = ""


@dataclass
class MailboxRow:
    mailbox: Mailbox
    run: SyncRun | None
    can_edit: bool
    form: MailboxPolicyForm | None = None

    @property
    def provider_label(self) -> str:
        provider = self.mailbox.provider
        return Provider(provider).label if provider in Provider.values else provider

    @property
    def running(self) -> bool:
        return self.run is not None and self.run.status == RunStatus.RUNNING

    @property
    def connection_expired(self) -> bool:
        return self.mailbox.connection.status != ConnectionStatus.CONNECTED

    @property
    def throttled(self) -> bool:
        until = self.mailbox.throttled_until
        return until is not None and until > timezone.now()

    @property
    def badge(self) -> tuple[str, str]:
        """The status badge: (label, css modifier)."""
        mailbox, run = self.mailbox, self.run
        if self.connection_expired:
            return "Connection expired", "expired"
        if not mailbox.sync_enabled:
            return "Sync off", "outline"
        if self.running:
            return "Syncing", "blue"
        if self.throttled:
            return "Throttled", "amber"
        if mailbox.sync_state == SyncState.ERROR or (run and run.status == RunStatus.FAILED):
            return "Error", "red"
        if run is not None and run.status == RunStatus.COMPLETED_WITH_ERRORS:
            return "Synced with errors", "amber"
        if mailbox.last_synced_at:
            return "Up to date", "green"
        return "Not synced yet", "outline"

    @property
    def progress(self) -> list[tuple[str, selectors.FolderProgress]]:
        if self.run is None:
            return []
        return [
            (FOLDER_NAMES.get(f.label, f.label.replace("_", " ").capitalize()), f)
            for f in selectors.sync_run_progress(self.run)
        ]

    @property
    def notices(self) -> list[Notice]:
        mailbox, run = self.mailbox, self.run
        notices = []
        if self.connection_expired:
            notices.append(
                Notice(
                    f"The connection {mailbox.connection.email} has expired, so this mailbox "
                    "cannot sync until it is reconnected.",
                    "error",
                    reverse("settings-connections"),
                    "Reconnect it in Connections",
                )
            )
        elif self.throttled:
            assert mailbox.throttled_until is not None
            until = formats.date_format(timezone.localtime(mailbox.throttled_until), "M j, H:i")
            notices.append(
                Notice(
                    f"{self.provider_label} asked Liaison to slow down. Syncing resumes at {until}."
                )
            )
        elif mailbox.sync_state == SyncState.ERROR and mailbox.last_error:
            notices.append(Notice(f"Syncing stopped: {mailbox.last_error}", "error"))
        if run and run.status == RunStatus.FAILED and run.error not in ("", mailbox.last_error):
            notices.append(Notice(f"The last sync failed: {run.error}", "error"))
        return notices


# -- helpers -------------------------------------------------------------------------------------


def _mailbox_or_404(request: HttpRequest, pk: int) -> Mailbox:
    mailbox = selectors.mailbox_for_user(
        user=acting_user(request), membership=acting_membership(request), mailbox_id=pk
    )
    if mailbox is None:
        raise Http404("No such mailbox")
    return mailbox


def _editable_or_403(request: HttpRequest, pk: int) -> Mailbox:
    mailbox = _mailbox_or_404(request, pk)
    if not _can_edit(request, mailbox):
        raise PermissionDenied("Only the mailbox's owner or an admin can change it.")
    return mailbox


def _can_edit(request: HttpRequest, mailbox: Mailbox) -> bool:
    return selectors.mailbox_can_edit(
        user=acting_user(request), membership=acting_membership(request), mailbox=mailbox
    )


def _microsoft_connections(request: HttpRequest) -> list[Connection]:
    return list(
        Connection.objects.filter(user=acting_user(request), provider=Provider.MICROSOFT)
        .exclude(status=ConnectionStatus.REVOKED)
        .order_by("email")
    )


def _status_context(request: HttpRequest, mailbox: Mailbox) -> dict[str, Any]:
    """What the status partial needs (the partial alone, or inside the page)."""
    run = selectors.sync_run_latest(mailbox=mailbox)
    return {"row": MailboxRow(mailbox, run, _can_edit(request, mailbox))}


def _render_page(
    request: HttpRequest,
    *,
    bound: MailboxPolicyForm | None = None,
    connect_form: SharedMailboxForm | None = None,
    status: int = 200,
) -> HttpResponse:
    membership = acting_membership(request)
    everyone = request.GET.get("scope") == "organization" and membership.is_admin
    mailboxes = list(
        selectors.mailboxes_visible_to(
            user=acting_user(request), membership=membership, everyone=everyone
        )
    )
    runs = selectors.sync_runs_latest(mailboxes=mailboxes)
    rows = [
        MailboxRow(
            mailbox=m,
            run=runs.get(m.pk),
            can_edit=_can_edit(request, m),
            form=bound
            if bound is not None and bound.prefix == f"m{m.pk}"
            else MailboxPolicyForm.for_mailbox(m),
        )
        for m in mailboxes
    ]
    connections = _microsoft_connections(request)
    context = {
        "nav": "settings",
        "rows": rows,
        "everyone": everyone,
        "sync_form": SyncNowForm(),
        "connections": connections,
        "connect_form": connect_form or SharedMailboxForm(connections=connections),
    }
    return render(request, "mail/mailboxes.html", context, status=status)


@contextmanager
def _refusals_said(request: HttpRequest, *, busy: str) -> Iterator[None]:
    """A sync already running, or an action refused, becomes a message on the page."""
    try:
        yield
    except SyncAlreadyRunning:
        messages.warning(request, busy)
    except services.MailboxActionRefused as exc:
        messages.error(request, exc.message)


def _back(mailbox: Mailbox) -> HttpResponse:
    return redirect(f"{reverse('settings-mailboxes')}#mailbox-{mailbox.pk}")


# -- views ---------------------------------------------------------------------------------------


@member_required
@require_GET
def mailbox_list(request: HttpRequest) -> HttpResponse:
    return _render_page(request)


@member_required
@require_GET
def mailbox_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The status partial htmx polls while a sync runs."""
    mailbox = _mailbox_or_404(request, pk)
    return render(request, "mail/_mailbox_status.html", _status_context(request, mailbox))


@member_required
@require_POST
def mailbox_settings(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = _editable_or_403(request, pk)
    form = MailboxPolicyForm.for_mailbox(mailbox, request.POST)
    if not form.is_valid():
        return _render_page(request, bound=form, status=400)
    services.mailbox_settings_update(mailbox=mailbox, fields=form.cleaned_data)
    messages.success(request, f"Saved the settings of {mailbox.address}.")
    return _back(mailbox)


@member_required
@require_POST
def mailbox_sync(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = _editable_or_403(request, pk)
    form = SyncNowForm(request.POST)
    timeframe = form.cleaned_data["timeframe"] if form.is_valid() else INCREMENTAL
    with _refusals_said(request, busy=f"{mailbox.address} is already syncing."):
        services.mailbox_sync_start(mailbox=mailbox, timeframe=timeframe or None)
        messages.success(request, f"Syncing {mailbox.address}.")
    return _back(mailbox)


@member_required
@require_POST
def mailbox_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Retry every message of the mailbox still FAILED (never the permanently failed ones)."""
    mailbox = _editable_or_403(request, pk)
    run = selectors.sync_run_latest(mailbox=mailbox)
    failures = (
        list(selectors.sync_failures_retryable(mailbox=mailbox, run=run)) if run is not None else []
    )
    busy = f"{mailbox.address} is syncing; retry when it has finished."
    with _refusals_said(request, busy=busy):
        _, ids = services.mailbox_sync_retry(mailbox=mailbox, failures=failures)
        messages.success(request, f"Retrying {len(ids)} failed message(s) of {mailbox.address}.")
    return _back(mailbox)


@member_required
@require_POST
def mailbox_disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = _editable_or_403(request, pk)
    try:
        address = services.mailbox_disconnect(mailbox=mailbox)
        messages.success(request, f"Disconnected {address} and deleted the mail it synced.")
    except services.MailboxActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("settings-mailboxes")


@member_required
@require_POST
def shared_mailbox_connect(request: HttpRequest) -> HttpResponse:
    form = SharedMailboxForm(request.POST, connections=_microsoft_connections(request))
    if not form.is_valid():
        return _render_page(request, connect_form=form, status=400)
    try:
        mailbox, run = services.shared_mailbox_connect(
            user=acting_user(request),
            address=form.cleaned_data["email"],
            connection_id=form.cleaned_data["connection"].pk,
            shared_inbox=form.cleaned_data["shared_inbox"],
            timeframe=form.cleaned_data["timeframe"] or None,
        )
    except services.MailboxActionRefused as exc:
        form.add_error("email" if exc.code != "ConnectionExpired" else None, exc.message)
        return _render_page(request, connect_form=form, status=400)
    except ProviderError as exc:
        form.add_error(None, f"{exc.user_message} Try again in a moment.")
        return _render_page(request, connect_form=form, status=503)
    started = " and started its first sync" if run is not None else ""
    messages.success(request, f"Connected {mailbox.address}{started}.")
    return _back(mailbox)

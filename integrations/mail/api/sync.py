"""Mailboxes and their sync under /api/v1/integrations: settings, "sync now", progress, retries
of failed messages (seed 003's mailbox sync), seed 002's manual sync triggers, and Microsoft 365
shared mailboxes (seed 003's connect / disconnect / mappings)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.base import TenantAPIView, acting_membership, acting_user
from crm.api.errors import ApiError, NotFoundError
from crm.api.pagination import PagePagination
from integrations.connections.selectors import connection_for_user
from integrations.mail import selectors
from integrations.mail import services_mailboxes as services
from integrations.mail.api import sync_serializers as s
from integrations.mail.models import FailureStatus, Mailbox
from integrations.mail.sync.lease import SyncAlreadyRunning
from integrations.providers.base import ProviderError, ProviderUnavailable
from integrations.providers.mail import ProviderThrottled

TAGS = ["Mailboxes and sync"]
REFUSED_STATUS = {
    "ConnectionNotFound": 404,
    "MailboxAccessDenied": 403,
    "ConnectionExpired": 409,
    "MailboxAlreadyConnected": 409,
    "SyncDisabled": 409,
}
MAILBOX_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Mailbox id")
ERRORS = {
    403: OpenApiResponse(description="Only the mailbox's owner or an admin may do this"),
    404: OpenApiResponse(description="No such mailbox (or not yours to see)"),
}


# -- the edge: access and domain errors ----------------------------------------------------------


_user = acting_user
_membership = acting_membership


def _mailbox_or_404(request: Request, pk: int) -> Mailbox:
    mailbox = selectors.mailbox_for_user(
        user=_user(request), membership=_membership(request), mailbox_id=pk
    )
    if mailbox is None:
        raise NotFoundError("Mailbox")
    return mailbox


def _editable_or_403(request: Request, pk: int) -> Mailbox:
    mailbox = _mailbox_or_404(request, pk)
    if not selectors.mailbox_can_edit(
        user=_user(request), membership=_membership(request), mailbox=mailbox
    ):
        raise ApiError(
            "Only the mailbox's owner or an admin may do this.", code="Forbidden", status_code=403
        )
    return mailbox


@contextmanager
def _domain_errors() -> Iterator[None]:
    """The services' domain errors, translated once into the API's error body."""
    try:
        yield
    except SyncAlreadyRunning as exc:
        raise ApiError(
            "A sync is already running for this mailbox.",
            code="SyncAlreadyRunning",
            status_code=409,
            details={"sync_id": exc.run.pk, "execution_id": str(exc.run.pk)},
        ) from exc
    except services.MailboxActionRefused as exc:
        raise ApiError(
            exc.message,
            code=exc.code,
            status_code=REFUSED_STATUS.get(exc.code, 400),
            details=exc.details,
            # A grant found dead on the way is a fact to keep, like the connections API does.
            keep_changes=exc.code == "ConnectionExpired",
        ) from exc
    except ProviderThrottled as exc:
        raise ApiError(
            "Microsoft 365 is throttling requests; try again shortly.",
            code="ProviderThrottled",
            status_code=503,
            headers={"Retry-After": str(max(1, int(exc.retry_after or 30)))},
        ) from exc
    except ProviderError as exc:
        code = "ProviderUnavailable" if isinstance(exc, ProviderUnavailable) else "ProviderError"
        raise ApiError(
            exc.user_message, code=code, status_code=503, headers={"Retry-After": "30"}
        ) from exc


def _mailbox_context(request: Request, mailboxes: Iterable[Mailbox]) -> dict[str, Any]:
    rows = list(mailboxes)
    return {
        "runs": selectors.sync_runs_latest(mailboxes=rows),
        "editable": {
            m.pk
            for m in rows
            if selectors.mailbox_can_edit(
                user=_user(request), membership=_membership(request), mailbox=m
            )
        },
    }


def _mailbox_json(request: Request, mailbox: Mailbox) -> dict[str, Any]:
    mailbox = _mailbox_or_404(request, mailbox.pk)  # re-read with its annotations
    return dict(s.MailboxSerializer(mailbox, context=_mailbox_context(request, [mailbox])).data)


def _batch_json(batch: services.SyncBatch) -> dict[str, Any]:
    return {
        "started": [s.run_started(run) for run in batch.started],
        "already_running": [s.run_started(run) for run in batch.already_running],
        "skipped": [
            {"mailbox_id": m.pk, "address": m.address, "code": exc.code, "reason": exc.message}
            for m, exc in batch.skipped
        ],
    }


# -- mailboxes -----------------------------------------------------------------------------------


class MailboxListView(TenantAPIView):
    pagination_class = PagePagination

    @extend_schema(
        tags=TAGS,
        summary="Mailboxes: yours and the shared ones (admins: scope=organization for all)",
        parameters=[OpenApiParameter("scope", str, enum=["mine", "organization"])],
        responses={200: s.MailboxSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        queryset = selectors.mailboxes_visible_to(
            user=_user(request),
            membership=_membership(request),
            everyone=request.query_params.get("scope") == "organization",
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, self)
        data = s.MailboxSerializer(page, many=True, context=_mailbox_context(request, page)).data
        return paginator.get_paginated_response(data)


class MailboxDetailView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        summary="A mailbox with its policies and latest sync",
        parameters=[MAILBOX_ID],
        responses={200: s.MailboxSerializer, 404: ERRORS[404]},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_mailbox_json(request, _mailbox_or_404(request, pk)))

    @extend_schema(
        tags=TAGS,
        summary="Change a mailbox's policies (owner or admin)",
        description="is_default=true makes it the organization's default mailbox instead of "
        "the current one.",
        parameters=[MAILBOX_ID],
        request=s.MailboxUpdateSerializer,
        responses={200: s.MailboxSerializer, **ERRORS},
    )
    def patch(self, request: Request, pk: int) -> Response:
        mailbox = _editable_or_403(request, pk)
        body = s.MailboxUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.mailbox_settings_update(mailbox=mailbox, fields=dict(body.validated_data))
        return Response(_mailbox_json(request, mailbox))


class MailboxFailureListView(TenantAPIView):
    pagination_class = PagePagination

    @extend_schema(
        tags=TAGS,
        summary="Messages a sync could not fetch or store",
        description="Without status: FAILED (retryable) and PERMANENTLY_FAILED ones.",
        parameters=[
            MAILBOX_ID,
            OpenApiParameter("status", str, enum=list(FailureStatus.values)),
        ],
        responses={200: s.SyncFailureSerializer(many=True), 404: ERRORS[404]},
    )
    def get(self, request: Request, pk: int) -> Response:
        mailbox = _mailbox_or_404(request, pk)
        status = request.query_params.get("status") or None
        if status is not None and status not in FailureStatus.values:
            raise ApiError(
                f"status must be one of {', '.join(FailureStatus.values)}.",
                details={"status": status},
            )
        queryset = selectors.sync_failures_of(mailbox=mailbox, status=status)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, self)
        return paginator.get_paginated_response(s.SyncFailureSerializer(page, many=True).data)


# -- sync ----------------------------------------------------------------------------------------


class MailboxSyncView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        operation_id="startMailboxSync",
        summary="Sync a mailbox now",
        description="Without timeframe: the changes since the last sync. With one: that period "
        "is listed again (5m, 1w, 2w, 1m or all). 409 SyncAlreadyRunning names the running sync.",
        parameters=[MAILBOX_ID],
        request=s.SyncStartSerializer,
        responses={
            202: s.SyncStartedSerializer,
            **ERRORS,
            409: OpenApiResponse(description="Already syncing, sync turned off, or expired"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        mailbox = _editable_or_403(request, pk)
        body = s.SyncStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with _domain_errors():
            run = services.mailbox_sync_start(
                mailbox=mailbox, timeframe=body.validated_data.get("timeframe")
            )
        return Response(s.run_started(run), status=202)


class MailboxSyncStatusView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        operation_id="getMailboxSyncStatus",
        summary="The current or latest sync of a mailbox, with progress per folder",
        description="Folder labels: inbox, sent_items, archive (Microsoft 365), mailbox (Gmail), "
        "retry (a retry of failed messages). Poll it to follow a sync.",
        parameters=[MAILBOX_ID],
        responses={
            200: s.MailboxSyncStatusSerializer,
            404: OpenApiResponse(description="No such mailbox, or it never synced"),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        mailbox = _mailbox_or_404(request, pk)
        run = selectors.sync_run_latest(mailbox=mailbox)
        if run is None:
            raise NotFoundError("Sync")
        return Response(s.run_status_json(run))


class MailboxSyncRetryView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        operation_id="retryMailboxSync",
        summary="Retry the failed messages of a sync",
        description="Only FAILED messages are retried, never PERMANENTLY_FAILED ones (three "
        "failed attempts). scope=all_failed: every message still FAILED as of that sync; or the "
        "given message_ids. 400 NothingToRetry when none qualifies.",
        parameters=[MAILBOX_ID],
        request=s.SyncRetrySerializer,
        responses={
            202: s.RetryStartedSerializer,
            400: OpenApiResponse(description="NothingToRetry, or an invalid body"),
            **ERRORS,
            409: OpenApiResponse(description="A sync is already running"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        mailbox = _editable_or_403(request, pk)
        body = s.SyncRetrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = selectors.sync_run_of_mailbox(mailbox=mailbox, run_id=body.validated_data["sync_id"])
        if run is None:
            raise NotFoundError("Sync")
        wanted = body.validated_data.get("message_ids")
        failures = list(
            selectors.sync_failures_retryable(mailbox=mailbox, run=run, provider_ids=wanted)
        )
        with _domain_errors():
            retry, ids = services.mailbox_sync_retry(mailbox=mailbox, failures=failures)
        return Response(
            {
                "retry_execution_id": str(retry.pk),
                "retry_sync_id": retry.pk,
                "messages_queued": len(ids),
            },
            status=202,
        )


class EmailSyncView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        summary="Sync all your mailboxes now",
        description="A sync of each of your mailboxes with syncing turned on; those already "
        "syncing are reported, not restarted.",
        request=None,
        responses={202: s.SyncBatchSerializer},
    )
    def post(self, request: Request) -> Response:
        mailboxes = list(selectors.mailboxes_owned_by(user=_user(request)))
        batch = services.mailboxes_sync_start(mailboxes=mailboxes)
        return Response(_batch_json(batch), status=202)


class ConnectionSyncView(TenantAPIView):
    @extend_schema(
        tags=["Connections"],
        summary="Sync a connection now (email, calendar, or all)",
        description="email and all: a sync of each of the connection's mailboxes. Calendar "
        "sync is not available yet: type=calendar answers 400 NotAvailable.",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        request=s.ConnectionSyncSerializer,
        responses={
            202: s.ConnectionSyncResultSerializer,
            400: OpenApiResponse(description="NotAvailable, or an invalid body"),
            404: OpenApiResponse(description="No such connection"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        connection = connection_for_user(
            user=_user(request), membership=_membership(request), connection_id=pk
        )
        if connection is None:
            raise NotFoundError("Connection")
        body = s.ConnectionSyncSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        kind = body.validated_data["type"]
        if kind == "calendar":
            raise ApiError("Calendar sync arrives with calendar support.", code="NotAvailable")
        mailboxes = list(selectors.mailboxes_of_connection(connection=connection))
        batch = services.mailboxes_sync_start(mailboxes=mailboxes)
        return Response(
            {"connection_id": connection.pk, "type": kind, **_batch_json(batch)}, status=202
        )


# -- Microsoft 365 shared mailboxes --------------------------------------------------------------


class SharedMailboxConnectView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        operation_id="connectOutlookMailbox",
        summary="Connect a Microsoft 365 shared mailbox you are a delegate of",
        description="Graph is asked with your Microsoft 365 connection (connectionId when you "
        "have several) whether it reaches the mailbox; 403 MailboxAccessDenied when not. With "
        "mailboxSyncTimeframe a first sync of that period starts.",
        request=s.SharedMailboxConnectSerializer,
        responses={
            201: s.SharedMailboxConnectedSerializer,
            400: OpenApiResponse(description="No Microsoft 365 connection, or an invalid body"),
            403: OpenApiResponse(description="MailboxAccessDenied: not a delegate"),
            404: OpenApiResponse(description="No such connection"),
            409: OpenApiResponse(description="Already connected, or the connection expired"),
            503: OpenApiResponse(description="Microsoft 365 could not answer; retry later"),
        },
    )
    def post(self, request: Request) -> Response:
        body = s.SharedMailboxConnectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with _domain_errors():
            mailbox, run = services.shared_mailbox_connect(
                user=_user(request),
                address=data["email"],
                connection_id=data.get("connectionId"),
                shared_inbox=data.get("shared_inbox_id"),
                timeframe=data.get("mailboxSyncTimeframe"),
            )
        return Response(
            {
                "mailbox": _mailbox_json(request, mailbox),
                "outlook_email": mailbox.address,
                "tenant_id": mailbox.connection.directory_tenant_id,
                "provider": "outlook",
                "sync": s.run_started(run) if run is not None else None,
            },
            status=201,
        )


class SharedMailboxDisconnectView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        operation_id="disconnectOutlookMailbox",
        summary="Disconnect a shared mailbox: stop syncing it and delete what it synced",
        description="Messages another mailbox of the organization also holds stay. Your own "
        "accounts are disconnected under Connections instead (400 NotASharedMailbox).",
        parameters=[MAILBOX_ID],
        request=None,
        responses={200: s.MailboxDisconnectedSerializer, **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        mailbox = _editable_or_403(request, pk)
        with _domain_errors():
            address = services.mailbox_disconnect(mailbox=mailbox)
        return Response({"success": True, "email": address})


class OutlookMappingsView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        operation_id="getConnectedOutlookEmails",
        summary="Microsoft 365 mailboxes of the organization and the directories they belong to",
        responses={200: s.ConnectedOutlookEmailsSerializer},
    )
    def get(self, request: Request) -> Response:
        rows = [s.outlook_email(m) for m in selectors.microsoft_mailboxes()]
        return Response({"outlook_emails": rows, "count": len(rows)})

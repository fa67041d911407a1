"""Shared inboxes (seed 003), conversation assignment, and the threads of a CRM record (seed
002's ``/email/threads/:entityType/:entityId``), under /api/v1/integrations.

Members read; owners and admins create, change and delete shared inboxes. Any member who may
see a conversation assigns it. Views stay thin: ``services_inboxes`` writes,
``selectors_inboxes`` and ``selectors_threads`` read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.base import TenantAPIView, acting_user
from crm.api.errors import ApiError, NotFoundError
from crm.api.permissions import IsOrganizationMember, MembersReadAdminsWrite
from crm.selectors import EntityNotFound, entity_get
from integrations.mail import selectors_inboxes as selectors
from integrations.mail import services_inboxes as services
from integrations.mail.api import inboxes_serializers as s
from integrations.mail.api.matching import ENTITY_TYPES
from integrations.mail.matching_relink import Entity
from integrations.mail.models import MailThread, SharedInbox
from integrations.mail.selectors_threads import threads_for_entity
from integrations.mail.services import shared_inbox_default

NOT_FOUND = OpenApiResponse(description="Unknown, or another organization's")
INVALID = OpenApiResponse(description="Invalid fields (details by field)")


# -- the edge: access and domain errors ----------------------------------------------------------


@contextmanager
def domain_errors() -> Iterator[None]:
    """The services' refusals and invalid values, translated once into the error body."""
    try:
        yield
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from exc
    except services.InboxActionRefused as exc:
        raise ApiError(
            exc.message,
            code=exc.code,
            status_code=status.HTTP_409_CONFLICT if exc.conflict else status.HTTP_400_BAD_REQUEST,
            details=exc.details,
        ) from exc


def thread_or_404(request: Request, pk: int) -> MailThread:
    """The conversation if the caller may see it; else (unknown, foreign, hidden) a 404."""
    thread = selectors.thread_for_user(user=acting_user(request), thread_id=pk)
    if thread is None:
        raise NotFoundError("Thread")
    return thread


def entity_or_404(entity_type: str, entity_id: object) -> Entity:
    """The contact, account or deal of this organization; anything else is a 404."""
    if entity_type not in ENTITY_TYPES:
        raise NotFoundError()
    try:
        return entity_get(entity_type=entity_type, entity_id=entity_id)  # type: ignore[return-value]
    except EntityNotFound as exc:
        raise NotFoundError(entity_type.title()) from exc


def _inbox(key: str) -> SharedInbox | None:
    """The inbox ``key`` names: an id, or ``default`` (which always exists)."""
    if key == selectors.DEFAULT_KEY:
        key = str(shared_inbox_default().pk)
    return selectors.shared_inbox_by_key(key=key)


def _inbox_or_404(key: str) -> SharedInbox:
    inbox = _inbox(key)
    if inbox is None:
        raise NotFoundError("Shared Inbox")
    return inbox


def _inbox_json(inbox: SharedInbox) -> dict[str, Any]:
    return dict(s.SharedInboxSerializer(selectors.shared_inbox_by_key(key=str(inbox.pk))).data)


# -- shared inboxes ------------------------------------------------------------------------------


class SharedInboxListView(TenantAPIView):
    permission_classes = [MembersReadAdminsWrite]

    @extend_schema(
        summary="Shared inboxes",
        description="Every shared inbox of the organization, the default one first.",
        responses={200: s.SharedInboxSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        shared_inbox_default()
        return Response(s.SharedInboxSerializer(selectors.shared_inbox_list(), many=True).data)

    @extend_schema(
        summary="Create a shared inbox (owners and admins)",
        request=s.SharedInboxCreateSerializer,
        responses={
            201: s.SharedInboxSerializer,
            400: INVALID,
            403: OpenApiResponse(description="Not an owner or admin"),
            409: OpenApiResponse(description="An inbox with this name exists"),
        },
    )
    def post(self, request: Request) -> Response:
        data = s.SharedInboxCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with domain_errors():
            inbox = services.shared_inbox_create(**data.validated_data)
        return Response(_inbox_json(inbox), status=status.HTTP_201_CREATED)


class SharedInboxDetailView(TenantAPIView):
    """One shared inbox, by id or ``default``."""

    permission_classes = [MembersReadAdminsWrite]

    @extend_schema(
        summary="A shared inbox", responses={200: s.SharedInboxSerializer, 404: NOT_FOUND}
    )
    def get(self, request: Request, pk: str) -> Response:
        return Response(s.SharedInboxSerializer(_inbox_or_404(pk)).data)

    @extend_schema(
        summary="Change a shared inbox (owners and admins)",
        description="Only the fields given change; `assignees` replaces the inbox's team.",
        request=s.SharedInboxUpdateSerializer,
        responses={
            200: s.SharedInboxSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(description="Another inbox has this name"),
        },
    )
    def put(self, request: Request, pk: str) -> Response:
        inbox = _inbox_or_404(pk)
        data = s.SharedInboxUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with domain_errors():
            services.shared_inbox_update(inbox=inbox, **data.validated_data)
        return Response(_inbox_json(inbox))

    @extend_schema(
        summary="Delete a shared inbox (owners and admins)",
        description=(
            "Its mailboxes and conversations move to `successorInboxId`, or to the default "
            "inbox. The default inbox cannot be deleted (400 `DefaultSharedInboxProtected`)."
        ),
        parameters=[s.SharedInboxDeleteQuerySerializer],
        responses={
            204: None,
            400: OpenApiResponse(description="The default inbox, or an invalid successor"),
            404: NOT_FOUND,
        },
    )
    def delete(self, request: Request, pk: str) -> Response:
        inbox = _inbox_or_404(pk)
        query = s.SharedInboxDeleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        key = query.validated_data.get("successorInboxId")
        successor = _inbox(key) if key is not None else None
        if key is not None and successor is None:
            raise serializers.ValidationError(
                {"successorInboxId": [f"No shared inbox {key!r} in this organization."]}
            )
        with domain_errors():
            services.shared_inbox_delete(inbox=inbox, successor=successor)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- assignment ----------------------------------------------------------------------------------


class ThreadAssignView(TenantAPIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        summary="Assign a conversation to a team member",
        description=(
            "`userId` must be a member of the organization who may see the conversation; "
            "`null` unassigns it. Any member who may see the conversation may assign it."
        ),
        request=s.ThreadAssignSerializer,
        responses={200: s.ThreadAssignmentSerializer, 400: INVALID, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        thread = thread_or_404(request, pk)
        data = s.ThreadAssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with domain_errors():
            services.thread_assign(thread=thread, user_id=data.validated_data["userId"])
        assigned = (
            selectors.threads_with_inbox(MailThread.objects.filter(pk=thread.pk))
            .select_related("assigned_to")
            .get()
        )
        return Response(s.ThreadAssignmentSerializer(assigned).data)


# -- threads of a CRM record ---------------------------------------------------------------------


class EntityThreadsView(TenantAPIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        summary="Threads linked to a contact, account or deal",
        description=(
            "Newest first, as the mailboxes' visibility policies let the caller see them: no "
            "subject below `subject` visibility, no snippet below `full`. `entityType` is "
            f"one of {', '.join(ENTITY_TYPES)}; an unknown record is a 404."
        ),
        parameters=[s.EntityThreadsQuerySerializer],
        responses={200: s.ThreadSummaryPageSerializer, 400: INVALID, 404: NOT_FOUND},
    )
    def get(self, request: Request, entity_type: str, entity_id: str) -> Response:
        entity = entity_or_404(entity_type, entity_id)
        query = s.EntityThreadsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page, limit = query.validated_data["page"], query.validated_data["limit"]
        found = threads_for_entity(
            entity=entity,
            user=acting_user(request),
            page=page,
            limit=limit,
        )
        # The selector shows the last page for one past it; a client paging on must see the end.
        results: Sequence[Any] = found.results if found.page == page else []
        body = {"total": found.total, "page": page, "pages": found.pages, "results": results}
        return Response(s.ThreadSummaryPageSerializer(body).data)

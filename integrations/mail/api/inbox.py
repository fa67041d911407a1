"""Seed 002's inbox and folder counts under /api/v1/integrations, with seed 004's conversations
vs messages and direction filter. Views stay thin: ``selectors_inbox`` reads."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.base import TenantAPIView, acting_user
from crm.api.errors import NotFoundError
from crm.api.permissions import IsOrganizationMember
from crm.models import Membership
from crm.selectors import EntityNotFound, entity_get
from crm.tenancy import current_organization
from integrations.mail.api import inbox_serializers as s
from integrations.mail.models import SharedInbox
from integrations.mail.search import SearchQuery, SearchSyntaxError, search_parse
from integrations.mail.selectors_inbox import (
    InboxFilters,
    InboxView,
    MailboxNotVisible,
    folder_counts,
    inbox_page,
)

TAGS = ["Inbox"]
NOT_FOUND = OpenApiResponse(
    description="No such mailbox, shared inbox or record (or another organization's)"
)
INVALID = OpenApiResponse(description="Invalid parameters (details by parameter)")


def _query(text: str) -> SearchQuery:
    try:
        return search_parse(text)
    except SearchSyntaxError as exc:
        raise serializers.ValidationError({"q": [str(exc)]}) from exc


def _assignee(request: Request, value: str | None) -> int | None:
    if value is None:
        return None
    user_id = acting_user(request).pk if value == "me" else int(value)
    members = Membership.objects.filter(organization=current_organization(), user_id=user_id)
    if not members.exists():
        raise serializers.ValidationError({"assignedTo": ["Not a member of the organization."]})
    return user_id


def _filters(request: Request, data: dict[str, Any]) -> InboxFilters:
    """The query's filters with every id resolved in the organization (404 when unknown)."""
    entity = None
    if "entityType" in data:
        try:
            entity = entity_get(entity_type=data["entityType"], entity_id=data["entityId"])
        except EntityNotFound as exc:
            raise NotFoundError(data["entityType"].title()) from exc
    inbox_id = data.get("sharedInbox")
    if inbox_id is not None and not SharedInbox.objects.filter(pk=inbox_id).exists():
        raise NotFoundError("Shared Inbox")
    return InboxFilters(
        folder=data["folder"],
        view=data["view"],
        query=_query(data.get("q", "")),
        unread=data["unread"],
        mailbox_id=data.get("mailbox"),
        shared_inbox_id=inbox_id,
        assigned_to_id=_assignee(request, data.get("assignedTo")),
        direction=data.get("direction"),
        entity=entity,  # type: ignore[arg-type]
    )


class EmailInboxView(TenantAPIView):
    """The caller's inbox."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(
        tags=TAGS,
        summary="Paginated inbox with folder, search and filters",
        description=(
            "Newest first. `view=conversations` (default) lists threads, `view=messages` single "
            "messages. The scope is every mailbox the caller may see (their own, the ones that "
            "are not private, all of them for owners and admins), or the one `mailbox` names. "
            "A conversation is in a folder when one of its messages is (archive: archived and "
            "none in the inbox), unread when one of its messages is. Rows show at the best "
            "visibility their mailboxes allow: no subject below `subject`, no snippet below "
            "`full`; `q` looks only into what the caller may read. `total` counts the matches."
        ),
        parameters=[s.InboxQuerySerializer],
        responses={
            200: PolymorphicProxySerializer(
                component_name="InboxPage",
                serializers=[s.ConversationPageSerializer, s.MessagePageSerializer],
                resource_type_field_name=None,
            ),
            400: INVALID,
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request) -> Response:
        query = s.InboxQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        filters = _filters(request, data)
        try:
            found = inbox_page(
                user=acting_user(request), filters=filters, page=data["page"], limit=data["limit"]
            )
        except MailboxNotVisible as exc:
            raise NotFoundError("Mailbox") from exc
        # The page's shapes are the serializers'; the rows are rendered as plain data (hot path).
        if filters.view == InboxView.MESSAGES:
            results = [s.message_data(row) for row in found.results]  # type: ignore[arg-type]
        else:
            results = [s.conversation_data(row) for row in found.results]  # type: ignore[arg-type]
        return Response(
            {"total": found.total, "page": found.page, "pages": found.pages, "results": results}
        )


class FolderCountsView(TenantAPIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        tags=TAGS,
        summary="Conversations and unread conversations per folder",
        description=(
            "For every mailbox the caller may see (or the one `mailbox` names), from counters "
            "kept as mail changes."
        ),
        parameters=[s.InboxCountsQuerySerializer],
        responses={200: s.FolderCountsSerializer, 400: INVALID, 404: NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        query = s.InboxCountsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            counts = folder_counts(
                user=acting_user(request), mailbox_id=query.validated_data.get("mailbox")
            )
        except MailboxNotVisible as exc:
            raise NotFoundError("Mailbox") from exc
        return Response(s.FolderCountsSerializer(counts).data)

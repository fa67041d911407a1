"""Seed 002's read / star / archive toggles and seed 004's bulk "mark as read", under
/api/v1/integrations. The work is in ``integrations.mail.flags``; these views translate."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.base import StrictSerializerMixin, TenantAPIView, acting_user
from crm.api.errors import ApiError, NotFoundError
from integrations.mail.flags import (
    MAX_MESSAGES,
    Flag,
    MessagesNotActionable,
    MessagesNotFound,
    MessageState,
    set_flag,
    set_flags,
)

STATE_NOTE = (
    "The change is made at once and written through to Gmail / Microsoft 365 in the "
    "background (`pendingSync` is true until it is); a sync meanwhile never undoes it."
)


class FlagValueSerializer(StrictSerializerMixin, serializers.Serializer):
    value = serializers.BooleanField(
        required=False, help_text="Set to this value; without it the flag is toggled."
    )


class MessageStateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    threadId = serializers.IntegerField(source="thread_id")
    read = serializers.SerializerMethodField()
    unread = serializers.BooleanField()
    starred = serializers.BooleanField()
    archived = serializers.BooleanField()
    pendingSync = serializers.BooleanField(
        source="pending", help_text="Some of the change is still to reach the provider."
    )

    def get_read(self, state: MessageState) -> bool:
        return not state.unread


class MessagesFlagsSerializer(StrictSerializerMixin, serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        min_length=1,
        max_length=MAX_MESSAGES,
        help_text=f"Message ids (at most {MAX_MESSAGES}).",
    )
    read = serializers.BooleanField(required=False)
    starred = serializers.BooleanField(required=False)
    archived = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not {"read", "starred", "archived"} & set(attrs):
            raise serializers.ValidationError("Give at least one of read, starred, archived.")
        return attrs


class MessagesFlagsResultSerializer(serializers.Serializer):
    results = MessageStateSerializer(many=True)


def _not_actionable(ids: list[int]) -> ApiError:
    return ApiError(
        "You may not change these messages: none of your mailboxes holds them.",
        code="Forbidden",
        status_code=403,
        details={"ids": ids},
    )


class MessageFlagView(TenantAPIView):
    flag: Flag

    def post(self, request: Request, pk: int) -> Response:
        data = FlagValueSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        try:
            (state,) = set_flag(
                user=acting_user(request),
                message_ids=[pk],
                flag=self.flag,
                value=data.validated_data.get("value"),
            )
        except MessagesNotFound as exc:
            raise NotFoundError("Message") from exc
        except MessagesNotActionable as exc:
            raise _not_actionable(exc.ids) from exc
        return Response(MessageStateSerializer(state).data)


def _flag_schema(verb: str, field: str) -> Any:
    return extend_schema(
        summary=f"Toggle or set whether an e-mail is {verb}",
        description=(
            f'Without a body the message\'s `{field}` state is toggled; with `{{"value": '
            f"true|false}}` it is set. It changes in every mailbox of yours that holds the "
            f"message. {STATE_NOTE} A message you cannot see is a 404; one you see but hold in "
            "no mailbox you may act on (your own, any for admins, those of shared inboxes you "
            "are an assignee of) is a 403."
        ),
        request=FlagValueSerializer,
        responses={
            200: MessageStateSerializer,
            403: OpenApiResponse(description="Not in a mailbox you may act on"),
            404: OpenApiResponse(description="No such message"),
        },
    )


class MessageReadView(MessageFlagView):
    flag = Flag.READ

    @_flag_schema("read", "read")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class MessageStarView(MessageFlagView):
    flag = Flag.STARRED

    @_flag_schema("starred", "starred")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class MessageArchiveView(MessageFlagView):
    flag = Flag.ARCHIVED

    @_flag_schema("archived (out of the inbox)", "archived")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class MessagesFlagsView(TenantAPIView):
    """Seed 004: mark messages read or unread in bulk (and star or archive them)."""

    @extend_schema(
        summary="Mark messages read or unread, starred, archived, in bulk",
        description=(
            f"Sets `read`, `starred` and/or `archived` on up to {MAX_MESSAGES} messages, all or "
            "nothing: ids that are unknown or not yours to see are a 400 naming them, messages "
            f"you see but may not change a 403 naming them. {STATE_NOTE}"
        ),
        request=MessagesFlagsSerializer,
        responses={
            200: MessagesFlagsResultSerializer,
            400: OpenApiResponse(description="Invalid body, or unknown ids (details.ids)"),
            403: OpenApiResponse(description="Messages you may not change (details.ids)"),
        },
    )
    def patch(self, request: Request) -> Response:
        data = MessagesFlagsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        changes = {flag: values[flag.value] for flag in Flag if flag.value in values}
        try:
            states = set_flags(
                user=acting_user(request), message_ids=values["ids"], changes=changes
            )
        except MessagesNotFound as exc:
            raise ApiError("Some messages do not exist.", details={"ids": exc.ids}) from exc
        except MessagesNotActionable as exc:
            raise _not_actionable(exc.ids) from exc
        return Response({"results": MessageStateSerializer(states, many=True).data})

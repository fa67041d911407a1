"""Seed 002's ``/email/match`` and the blocklist, under /api/v1/integrations."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.base import StrictSerializerMixin, TenantAPIView
from crm.api.errors import NotFoundError
from crm.api.pagination import PagePagination
from crm.api.permissions import MembersReadAdminsWrite
from crm.selectors import EntityNotFound, entity_get
from integrations.mail.blocklist import (
    blocklist_entries,
    blocklist_entry_add,
    blocklist_entry_remove,
    blocklist_value_kind,
)
from integrations.mail.matching_relink import address_rule_set
from integrations.mail.models import BlocklistEntry

ENTITY_TYPES = ("contact", "account", "deal")


def _invalid(exc: DjangoValidationError, field: str) -> serializers.ValidationError:
    return serializers.ValidationError({field: exc.messages})


class EmailMatchSerializer(StrictSerializerMixin, serializers.Serializer):
    emailAddress = serializers.EmailField(max_length=254)
    entityType = serializers.ChoiceField(choices=ENTITY_TYPES)
    entityId = serializers.IntegerField(min_value=1)


class EmailMatchResultSerializer(serializers.Serializer):
    emailAddress = serializers.EmailField()
    entityType = serializers.ChoiceField(choices=ENTITY_TYPES)
    entityId = serializers.IntegerField()
    linkedThreads = serializers.IntegerField(help_text="Threads with the address now linked.")


class EmailMatchView(TenantAPIView):
    """Seed 002: manually match an e-mail address to a CRM record."""

    @extend_schema(
        summary="Match an e-mail address to a contact, account or deal",
        description=(
            "Mail with this address belongs to the record from now on (one rule per address: a "
            "new match replaces the previous one), and the past threads with it are linked to "
            "the record. An unknown record, or another organization's, is a 404."
        ),
        request=EmailMatchSerializer,
        responses={
            200: EmailMatchResultSerializer,
            400: OpenApiResponse(description="Invalid address or entity type"),
            404: OpenApiResponse(description="No such contact, account or deal"),
        },
    )
    def post(self, request: Request) -> Response:
        data = EmailMatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entity_type = data.validated_data["entityType"]
        try:
            entity = entity_get(entity_type=entity_type, entity_id=data.validated_data["entityId"])
        except EntityNotFound as exc:
            raise NotFoundError(entity_type.title()) from exc
        result = address_rule_set(
            address=data.validated_data["emailAddress"],
            entity=entity,  # type: ignore[arg-type]
            user=request.user,  # type: ignore[arg-type]
        )
        body = {
            "emailAddress": result.rule.address,
            "entityType": entity_type,
            "entityId": entity.pk,
            "linkedThreads": result.linked_threads,
        }
        return Response(EmailMatchResultSerializer(body).data)


class BlocklistEntrySerializer(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    createdBy = serializers.EmailField(source="created_by.email", read_only=True, default=None)

    class Meta:
        model = BlocklistEntry
        fields = ["id", "value", "kind", "createdAt", "createdBy"]
        read_only_fields = fields

    def get_kind(self, entry: BlocklistEntry) -> str:
        return blocklist_value_kind(entry.value)


class BlocklistAddSerializer(StrictSerializerMixin, serializers.Serializer):
    value = serializers.CharField(
        max_length=254, help_text="An address (a@b.com) or a domain (@b.com, subdomains included)."
    )


class BlocklistAddedSerializer(BlocklistEntrySerializer):
    purged = serializers.IntegerField(read_only=True, help_text="Stored messages deleted.")

    class Meta(BlocklistEntrySerializer.Meta):
        fields = [*BlocklistEntrySerializer.Meta.fields, "purged"]
        read_only_fields = fields


class BlocklistView(TenantAPIView):
    """The organization's blocklist: members read it, owners and admins change it."""

    permission_classes = [MembersReadAdminsWrite]
    pagination_class = PagePagination

    @extend_schema(
        summary="Blocked addresses and domains",
        responses={200: BlocklistEntrySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(blocklist_entries(), request, view=self)
        return paginator.get_paginated_response(BlocklistEntrySerializer(page, many=True).data)

    @extend_schema(
        summary="Block an address or a domain, deleting the mail stored with it",
        description=(
            "`value` is an address (`a@b.com`) or a domain (`@b.com`, `b.com` or `*@b.com`; "
            "subdomains included). Every stored message with a participant it matches is "
            "deleted (`purged` says how many) and future mail with it is not stored. Adding a "
            "value already blocked is idempotent: 200 with the existing entry (201 when new). "
            "Owners and admins only."
        ),
        request=BlocklistAddSerializer,
        responses={
            201: BlocklistAddedSerializer,
            200: BlocklistAddedSerializer,
            400: OpenApiResponse(description="Not an address or domain, or your own domain"),
            403: OpenApiResponse(description="Not an owner or admin"),
        },
    )
    def post(self, request: Request) -> Response:
        data = BlocklistAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            added = blocklist_entry_add(
                value=data.validated_data["value"],
                user=request.user,  # type: ignore[arg-type]
            )
        except DjangoValidationError as exc:
            raise _invalid(exc, "value") from exc
        added.entry.purged = added.purged  # type: ignore[attr-defined]
        return Response(
            BlocklistAddedSerializer(added.entry).data,
            status=status.HTTP_201_CREATED if added.created else status.HTTP_200_OK,
        )


class BlocklistEntryView(TenantAPIView):
    """One blocklist entry."""

    permission_classes = [MembersReadAdminsWrite]

    @extend_schema(
        summary="Unblock an address or a domain (owners and admins)",
        responses={204: None, 404: OpenApiResponse(description="No such entry")},
    )
    def delete(self, request: Request, pk: str) -> Response:
        entry = BlocklistEntry.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
        if entry is None:
            raise NotFoundError("Blocklist Entry")
        blocklist_entry_remove(entry=entry)
        return Response(status=status.HTTP_204_NO_CONTENT)

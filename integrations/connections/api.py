"""Seed 002's "OAuth provider authorization" and "Manage OAuth connections", seed 003's
Microsoft tenant status, under /api/v1/integrations."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.base import TenantAPIView, acting_membership, acting_user
from crm.api.errors import ApiError, NotFoundError
from crm.api.pagination import PagePagination
from crm.api.permissions import IsOrganizationAdmin
from integrations.connections import selectors, services
from integrations.connections.serializers import (
    ConnectionSerializer,
    DisconnectResultSerializer,
    OutlookConnectionsSerializer,
    ProviderSerializer,
    RefreshResultSerializer,
    TenantDisconnectResultSerializer,
    TenantDisconnectSerializer,
)
from integrations.providers.base import CAPABILITIES, ProviderUnavailable
from integrations.providers.registry import PROVIDERS

CAPABILITY_CHOICES = {"email": ("email",), "calendar": ("calendar",), "all": CAPABILITIES}
TRUE = {"1", "true", "yes", "on"}


def _flag(request: Request, name: str) -> bool:
    return str(request.query_params.get(name, "")).lower() in TRUE


def _flow_error(exc: services.ConnectionFlowError) -> ApiError:
    status_code = 404 if exc.code == "UnknownProvider" else 400
    details = {"admin_consent_url": exc.admin_consent_url} if exc.admin_consent_url else {}
    return ApiError(exc.message, code=exc.code, status_code=status_code, details=details)


def _connection_or_404(request: Request, pk: Any) -> Any:
    connection = (
        selectors.connection_for_user(
            user=acting_user(request), membership=acting_membership(request), connection_id=int(pk)
        )
        if str(pk).isdigit()
        else None
    )
    if connection is None:
        raise NotFoundError("Connection")
    return connection


class ProviderListView(TenantAPIView):
    @extend_schema(responses={200: ProviderSerializer(many=True)}, summary="Available providers")
    def get(self, request: Request) -> Response:
        rows = [
            {
                "name": name,
                "label": provider.label,
                "configured": provider.is_configured(),
                "capabilities": list(CAPABILITIES),
                "scopes": {c: list(provider.scopes_for((c,))) for c in CAPABILITIES},
            }
            for name, provider in PROVIDERS.items()
        ]
        return Response(ProviderSerializer(rows, many=True).data)


class AuthorizeView(TenantAPIView):
    @extend_schema(
        summary="Start connecting a provider account",
        parameters=[
            OpenApiParameter(
                "type", str, enum=list(CAPABILITY_CHOICES), description="What to sync"
            ),
            OpenApiParameter("login_hint", str, description="The account to preselect"),
            OpenApiParameter("adminConsent", bool, description="Microsoft: tenant-wide consent"),
            OpenApiParameter("tenant", str, description="Microsoft directory tenant"),
        ],
        responses={
            302: OpenApiResponse(description="Redirect to the provider's consent screen"),
            200: inline_serializer("AuthorizeUrl", {"url": serializers.URLField()}),
        },
    )
    def get(self, request: Request, provider: str) -> HttpResponse:
        kind = request.query_params.get("type", "all")
        if kind not in CAPABILITY_CHOICES:
            raise ApiError("type must be email, calendar or all.", details={"type": kind})
        try:
            if _flag(request, "adminConsent"):
                if provider != "microsoft":
                    raise ApiError("Admin consent exists for Microsoft 365 only.")
                if not acting_membership(request).is_admin:
                    raise ApiError(
                        "Only admins can grant tenant-wide consent.",
                        code="Forbidden",
                        status_code=403,
                    )
                url = services.admin_consent_start(
                    user=acting_user(request),
                    organization=acting_membership(request).organization,
                    tenant=request.query_params.get("tenant", ""),
                )
            else:
                url = services.oauth_authorize_start(
                    user=acting_user(request),
                    organization=acting_membership(request).organization,
                    provider_name=provider,
                    capabilities=CAPABILITY_CHOICES[kind],
                    login_hint=request.query_params.get("login_hint") or None,
                )
        except services.ConnectionFlowError as exc:
            raise _flow_error(exc) from exc
        if "application/json" in request.headers.get("Accept", ""):
            return Response({"url": url})
        return HttpResponseRedirect(url)


class SessionIdentity(BaseAuthentication):
    """Who is signed in to Liaison in this browser, if anyone; no CSRF check.

    Only used to refuse a callback finished by someone other than who started it: the signed,
    single-use state is what authorizes the callback.
    """

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        user = getattr(request._request, "user", None)
        return (user, None) if user is not None and user.is_authenticated else None


class CallbackView(TenantAPIView):
    """Where the provider sends the browser back. No authentication: the state is the proof."""

    authentication_classes = [SessionIdentity]
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    parser_classes = [FormParser, MultiPartParser]

    @extend_schema(
        summary="OAuth callback (the provider redirects here)",
        auth=[],
        parameters=[
            OpenApiParameter(name, str)
            for name in ("code", "state", "error", "error_description", "admin_consent", "tenant")
        ],
        responses={
            302: OpenApiResponse(description="Back to Settings → Connections"),
            400: OpenApiResponse(description="An error page: nothing was stored"),
        },
    )
    def get(self, request: Request, provider: str) -> HttpResponse:
        return self._finish(request, provider, dict(request.query_params.items()))

    @extend_schema(
        summary="OAuth callback, form_post response mode (Microsoft)",
        auth=[],
        request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        responses={
            302: OpenApiResponse(description="Back to Settings → Connections"),
            400: OpenApiResponse(description="An error page: nothing was stored"),
        },
    )
    def post(self, request: Request, provider: str) -> HttpResponse:
        # A cross-site POST: SameSite=Lax keeps the session cookie away, so the signed,
        # single-use state alone identifies the user (and no CSRF token can exist).
        return self._finish(request, provider, dict(request.POST.items()))

    def _finish(self, request: Request, provider: str, raw: dict[str, Any]) -> HttpResponse:
        params = {k: v for k, v in raw.items() if isinstance(v, str)}
        django_request = request._request
        try:
            result = services.oauth_callback(
                provider_name=provider, params=params, session_user=request.user
            )
        except services.ConnectionFlowError as exc:
            return render(
                django_request,
                "connections/callback_error.html",
                {
                    "message": exc.message,
                    "code": exc.code,
                    "admin_consent_url": exc.admin_consent_url,
                },
                status=400,
            )
        if result.connection is not None:
            text = f"Connected {result.connection.email}."
        else:
            text = "Tenant-wide consent recorded. Each person can now connect their mailbox."
        messages.success(django_request, text)
        if django_request.user.is_authenticated:
            django_request.session["organization_id"] = result.organization.pk
        return HttpResponseRedirect(reverse("settings-connections"))


class DisconnectView(TenantAPIView):
    @extend_schema(
        summary="Disconnect a provider",
        parameters=[
            OpenApiParameter("connectionId", int, description="Only this connection"),
            OpenApiParameter("purge", bool, description="Also delete what was synced"),
        ],
        responses={200: DisconnectResultSerializer},
    )
    def delete(self, request: Request, provider: str) -> Response:
        if provider not in PROVIDERS:
            raise ApiError(
                f"Unknown provider '{provider}'.", code="UnknownProvider", status_code=404
            )
        queryset = selectors.connections_visible_to(
            user=acting_user(request), membership=acting_membership(request), everyone=False
        ).filter(provider=provider)
        connection_id = request.query_params.get("connectionId")
        if connection_id is not None:
            queryset = queryset.filter(pk=int(connection_id) if connection_id.isdigit() else 0)
        connections = list(queryset)
        if not connections:
            raise NotFoundError("Connection")
        purge = _flag(request, "purge")
        notes = [
            note
            for c in connections
            if (note := services.connection_disconnect(connection=c, purge=purge))
        ]
        return Response(
            {
                "message": "Disconnected.",
                "disconnected": [c.pk for c in connections if c.pk] or [int(connection_id or 0)],
                "purged": purge,
                "notes": notes,
            }
        )


class ConnectionListView(TenantAPIView):
    pagination_class = PagePagination

    @extend_schema(
        summary="Connections of the current user (admins: scope=organization)",
        parameters=[OpenApiParameter("scope", str, enum=["mine", "organization"])],
        responses={200: ConnectionSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        queryset = selectors.connections_visible_to(
            user=acting_user(request),
            membership=acting_membership(request),
            everyone=request.query_params.get("scope") == "organization",
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, self)
        return paginator.get_paginated_response(ConnectionSerializer(page, many=True).data)


class ConnectionStatusView(TenantAPIView):
    @extend_schema(
        summary="A connection's status and the action that fixes it",
        responses={200: ConnectionSerializer},
    )
    def get(self, request: Request, pk: str) -> Response:
        return Response(ConnectionSerializer(_connection_or_404(request, pk)).data)


class ConnectionRefreshView(TenantAPIView):
    @extend_schema(
        request=None,
        summary="Refresh the access token now",
        responses={200: RefreshResultSerializer},
    )
    def post(self, request: Request, pk: str) -> Response:
        connection = _connection_or_404(request, pk)
        try:
            connection = services.connection_refresh(connection=connection, force=True)
        except services.ConnectionUnusable as exc:
            raise ApiError(
                "This connection has expired; reconnect it.",
                code="ConnectionExpired",
                status_code=409,
                details={"action": "reconnect", "status": exc.connection.status},
                keep_changes=True,
            ) from exc
        except ProviderUnavailable as exc:
            raise ApiError(
                exc.user_message,
                code="ProviderUnavailable",
                status_code=503,
                headers={"Retry-After": "30"},
                keep_changes=True,
            ) from exc
        body = {
            "message": "Token refreshed successfully",
            "expiresAt": connection.token_expires_at,
            "connection": connection,
        }
        return Response(RefreshResultSerializer(body).data)


def _tenant_row(state: selectors.DirectoryTenantState) -> dict[str, Any]:
    row: dict[str, Any] = {
        "status": state.status,
        "action": state.action,
        "action_label": state.action_label,
        "tenant_id": state.tenant_id,
        "scopes": list(state.scopes),
        "is_token_valid": bool(state.connection and state.connection.is_token_valid),
        "expires_at": state.connection.token_expires_at if state.connection else None,
    }
    if state.connection is not None:
        row |= {
            "connected_by_display_name": state.connection.display_name,
            "connected_by_email": state.connection.email,
            "connected_by_user_id": state.connection.account_id,
            "connected_at": state.connection.connected_at,
            "updated_at": state.connection.updated_at,
        }
    return row


class MicrosoftConnectionsView(TenantAPIView):
    @extend_schema(
        summary="Microsoft 365 connections per directory tenant",
        responses={200: OutlookConnectionsSerializer},
    )
    def get(self, request: Request) -> Response:
        rows = [_tenant_row(s) for s in selectors.directory_tenant_states()]
        return Response(
            OutlookConnectionsSerializer({"connections": rows, "has_connections": bool(rows)}).data
        )


class MicrosoftDisconnectView(TenantAPIView):
    permission_classes = [IsOrganizationAdmin]

    @extend_schema(
        summary="Disconnect a Microsoft directory tenant",
        request=TenantDisconnectSerializer,
        responses={200: TenantDisconnectResultSerializer},
    )
    def post(self, request: Request) -> Response:
        body = TenantDisconnectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        tenant_id = body.validated_data["tenant_id"]
        known = {s.tenant_id for s in selectors.directory_tenant_states()}
        if tenant_id not in known:
            raise NotFoundError("Connection")
        disconnected = services.directory_tenant_disconnect(tenant_id=tenant_id)
        return Response(
            {
                "success": True,
                "tenant_id": tenant_id,
                "affected_shared_inboxes": [],
                "disconnected_connections": disconnected,
            }
        )


__all__ = ["OpenApiTypes"]

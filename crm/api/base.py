"""Base classes every API view uses: tenancy after authentication, strict input, 404 by model."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any, cast

from django.db import models
from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from crm.api.authentication import token_membership
from crm.api.errors import NotFoundError
from crm.models import ApiToken, Membership, Organization, User
from crm.tenancy import tenant_context, transaction_tenant


def acting_user(request: Request) -> User:
    """The authenticated user of an API view (IsOrganizationMember has checked it)."""
    return cast(User, request.user)


def acting_membership(request: Request) -> Membership:
    """The membership the base view set after authentication; the permission requires one."""
    return cast(Membership, request._request.membership)  # type: ignore[attr-defined]


def api_membership(request: Request) -> Membership | None:
    """The membership the request acts as: the token's organization, or the session's."""
    if isinstance(request.auth, ApiToken):
        return token_membership(request.auth)
    return getattr(request._request, "membership", None)


class TenantViewMixin:
    """Sets the current organization right after DRF authenticates, and resets it after."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self._tenant_scope = ExitStack()
        with self._tenant_scope:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)  # type: ignore[misc]
        membership = api_membership(request) if request.user.is_authenticated else None
        request._request.membership = membership  # type: ignore[attr-defined]
        organization: Organization | None = membership.organization if membership else None
        request._request.organization = organization  # type: ignore[attr-defined]
        owned = getattr(request._request, "tenant_transaction", False)
        tenant = transaction_tenant if owned else tenant_context
        self._tenant_scope.enter_context(tenant(organization))


class TenantAPIView(TenantViewMixin, APIView):
    pass


class TenantModelViewSet(TenantViewMixin, viewsets.ModelViewSet):
    """CRUD over a tenant model; another organization's object is a ``<Model>NotFound``."""

    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_object(self) -> models.Model:
        queryset = self.filter_queryset(self.get_queryset())
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        model = queryset.model
        try:
            obj = queryset.get(**{self.lookup_field: lookup})
        except (model.DoesNotExist, ValueError, TypeError) as exc:
            raise NotFoundError(model._meta.verbose_name.title()) from exc
        self.check_object_permissions(self.request, obj)
        return obj


class StrictSerializerMixin:
    """Unknown fields in a request body are an error, not silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {
                name
                for name, field in self.fields.items()  # type: ignore[attr-defined]
                if not field.read_only
            }
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)  # type: ignore[misc]


@extend_schema_field(OpenApiTypes.INT)
class TenantPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A related id resolved within the current organization only (a foreign id does not exist)."""

    def __init__(self, model: type[models.Model], **kwargs: Any) -> None:
        self.model = model
        kwargs.setdefault("queryset", None)
        if kwargs.get("read_only"):
            kwargs.pop("queryset")
        super().__init__(**kwargs)

    def get_queryset(self) -> models.QuerySet[Any]:
        return self.model._default_manager.all()

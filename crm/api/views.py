"""CRM CRUD, API tokens and members under /api/v1."""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.api.base import TenantModelViewSet, TenantViewMixin
from crm.api.errors import ApiError
from crm.api.serializers import (
    AccountSerializer,
    ApiTokenSerializer,
    ContactSerializer,
    DealSerializer,
    IssuedApiTokenSerializer,
    MemberSerializer,
    TaskSerializer,
)
from crm.models import ApiToken, Deal, Membership, Task
from crm.models.tenants import TokenScope


def _service_call(func: Any, **kwargs: Any) -> Any:
    """Run a service, turning its model validation errors into the API's 400."""
    try:
        return func(**kwargs)
    except DjangoValidationError as exc:
        detail = (
            exc.message_dict if hasattr(exc, "message_dict") else {"non_field_errors": exc.messages}
        )
        raise serializers.ValidationError(detail) from exc


class ServiceViewSet(TenantModelViewSet):
    """Create and update through one service function per model: ``save(instance=…, **fields)``."""

    save_service: Any = None
    instance_arg = ""

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = _service_call(self.save_service, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        data[self.instance_arg] = serializer.instance
        instance = _service_call(self.save_service, **data)
        serializer.instance = self.get_queryset().get(pk=instance.pk)


class AccountFilter(django_filters.FilterSet):
    domain = django_filters.CharFilter(field_name="domains__domain", lookup_expr="iexact")
    industry = django_filters.CharFilter(lookup_expr="iexact")
    owner = django_filters.NumberFilter(field_name="owner_id")


class AccountViewSet(ServiceViewSet):
    """Accounts (companies), with their work domains."""

    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    search_fields = ["name", "domains__domain", "industry"]
    ordering_fields = ["name", "created_at", "updated_at"]
    save_service = staticmethod(services.account_save)
    instance_arg = "account"

    def get_queryset(self) -> models.QuerySet[Any]:
        return selectors.account_queryset()

    def filter_queryset(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        return super().filter_queryset(queryset).distinct()


class ContactFilter(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id")
    owner = django_filters.NumberFilter(field_name="owner_id")
    email = django_filters.CharFilter(field_name="emails__email", lookup_expr="iexact")


class ContactViewSet(ServiceViewSet):
    """People, each with several e-mail addresses (one primary)."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    search_fields = ["first_name", "last_name", "title", "emails__email", "account__name"]
    ordering_fields = ["last_name", "first_name", "created_at", "updated_at"]
    save_service = staticmethod(services.contact_save)
    instance_arg = "contact"

    def get_queryset(self) -> models.QuerySet[Any]:
        return selectors.contact_queryset()

    def filter_queryset(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        return super().filter_queryset(queryset).distinct()


class DealFilter(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id")
    owner = django_filters.NumberFilter(field_name="owner_id")
    contact = django_filters.NumberFilter(field_name="dealcontact__contact_id")
    close_after = django_filters.DateFilter(field_name="close_date", lookup_expr="gte")
    close_before = django_filters.DateFilter(field_name="close_date", lookup_expr="lte")

    class Meta:
        model = Deal
        fields = ["stage"]


class DealViewSet(ServiceViewSet):
    """Deals (opportunities) with stage, amount and close date."""

    serializer_class = DealSerializer
    filterset_class = DealFilter
    search_fields = ["name", "account__name"]
    ordering_fields = ["name", "amount", "close_date", "created_at", "updated_at"]
    save_service = staticmethod(services.deal_save)
    instance_arg = "deal"

    def get_queryset(self) -> models.QuerySet[Any]:
        return selectors.deal_queryset()


class TaskFilter(django_filters.FilterSet):
    assignee = django_filters.NumberFilter(field_name="assignee_id")
    contact = django_filters.NumberFilter(field_name="contact_id")
    account = django_filters.NumberFilter(field_name="account_id")
    deal = django_filters.NumberFilter(field_name="deal_id")
    due_after = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lte")

    class Meta:
        model = Task
        fields = ["status"]


class TaskViewSet(ServiceViewSet):
    """Tasks, optionally linked to a contact, an account and a deal."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    search_fields = ["title", "notes"]
    ordering_fields = ["due_at", "created_at", "updated_at", "status"]
    save_service = staticmethod(services.task_save)
    instance_arg = "task"

    def get_queryset(self) -> models.QuerySet[Any]:
        return selectors.task_queryset()


class ApiTokenViewSet(
    TenantViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's API tokens. Creating or revoking one needs a session or a ``*`` token."""

    serializer_class = ApiTokenSerializer

    def get_queryset(self) -> models.QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.select_related("user").filter(user=self.request.user)

    def get_object(self) -> ApiToken:
        pk = str(self.kwargs.get("pk", ""))
        token = self.get_queryset().filter(pk=int(pk)).first() if pk.isdigit() else None
        if token is None:
            raise ApiError("Token not found", code="TokenNotFound", status_code=404)
        return token

    def _require_manage_scope(self, request: Request) -> None:
        token = request.auth
        if isinstance(token, ApiToken) and TokenScope.ALL not in token.scopes:
            raise ApiError(
                "Managing tokens needs a token with the '*' scope.",
                code="Forbidden",
                status_code=403,
            )

    @extend_schema(request=ApiTokenSerializer, responses={201: IssuedApiTokenSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self._require_manage_scope(request)
        serializer = ApiTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        issued = _service_call(
            services.api_token_issue,
            user=request.user,
            description=serializer.validated_data["description"],
            scopes=serializer.validated_data["scopes"],
        )
        body = IssuedApiTokenSerializer(issued.token).data
        body["token"] = issued.secret
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ApiTokenSerializer}, description="Revokes the token.")
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self._require_manage_scope(request)
        token = services.api_token_revoke(token=self.get_object())
        return Response(ApiTokenSerializer(token).data)


class MemberViewSet(TenantViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The people of the current organization, with their roles."""

    serializer_class = MemberSerializer
    ordering_fields = ["created_at"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]

    def get_queryset(self) -> models.QuerySet[Membership]:
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return selectors.members_of(organization=self.request.organization).order_by("user__email")  # type: ignore[attr-defined]

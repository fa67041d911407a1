"""The operator's admin. Superusers see every tenant (through the explicit escape); staff who are
not superusers see only their current organization."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import models
from django.forms import ModelChoiceField
from django.http import HttpRequest

from crm.models import (
    Account,
    AccountDomain,
    ApiToken,
    Contact,
    ContactEmail,
    Deal,
    DealContact,
    Invitation,
    Membership,
    Organization,
    Task,
    User,
)
from crm.tenancy import TenantOwned


def _tenant_queryset(model: type[models.Model], request: HttpRequest) -> models.QuerySet[Any]:
    manager = model._default_manager
    if request.user.is_superuser:
        # The middleware runs superusers' admin requests inside all_tenants().
        return manager.unscoped()  # type: ignore[attr-defined]
    return manager.all()


class TenantAdminMixin:
    """Querysets and foreign-key choices scoped like the rest of Liaison."""

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        queryset = _tenant_queryset(self.model, request)  # type: ignore[attr-defined]
        ordering = self.get_ordering(request)  # type: ignore[attr-defined]
        return queryset.order_by(*ordering) if ordering else queryset

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField:
        related = db_field.related_model
        if isinstance(related, type) and issubclass(related, TenantOwned):
            kwargs["queryset"] = _tenant_queryset(related, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if not request.user.is_superuser or obj is not None:
            fields.append("organization")
        return fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not request.user.is_superuser and not change:
            obj.organization = request.organization  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)  # type: ignore[misc]


class TenantAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_select_related = ["organization"]


class TenantInline(TenantAdminMixin, admin.TabularInline):
    extra = 0

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f for f in super().get_readonly_fields(request, obj) if f != "organization"]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["organization"]


class OrganizationScopedInline(TenantInline):
    """Inline rows inherit their parent's organization."""

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        parent = obj

        class Formset(formset):  # type: ignore[valid-type, misc]
            def save_new(self, form: Any, commit: bool = True) -> Any:
                form.instance.organization_id = parent.organization_id
                return super().save_new(form, commit)

        return Formset


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "first_name", "last_name"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Organization]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(memberships__user=request.user)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__email", "organization__name"]
    raw_id_fields = ["user"]
    list_select_related = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(TenantAdmin):
    list_display = ["email", "organization", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", "organization"]
    search_fields = ["email"]
    exclude = ["key"]
    raw_id_fields = ["invited_by", "accepted_by"]


@admin.register(ApiToken)
class ApiTokenAdmin(TenantAdmin):
    list_display = [
        "prefix",
        "description",
        "user",
        "organization",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["organization"]
    search_fields = ["prefix", "description", "user__email"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    exclude = ["key_hash"]
    raw_id_fields = ["user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # secrets are issued in the UI, the API or `manage.py tokens issue`


class AccountDomainInline(OrganizationScopedInline):
    model = AccountDomain


@admin.register(Account)
class AccountAdmin(TenantAdmin):
    list_display = ["name", "industry", "organization", "owner", "created_at"]
    list_filter = ["industry", "organization"]
    search_fields = ["name", "domains__domain"]
    raw_id_fields = ["owner"]
    inlines = [AccountDomainInline]


class ContactEmailInline(OrganizationScopedInline):
    model = ContactEmail


@admin.register(Contact)
class ContactAdmin(TenantAdmin):
    list_display = ["__str__", "title", "account", "organization", "owner", "created_at"]
    list_filter = ["organization"]
    search_fields = ["first_name", "last_name", "emails__email"]
    raw_id_fields = ["account", "owner"]
    list_select_related = ["organization", "account", "owner"]
    inlines = [ContactEmailInline]


class DealContactInline(OrganizationScopedInline):
    model = DealContact
    raw_id_fields = ["contact"]


@admin.register(Deal)
class DealAdmin(TenantAdmin):
    list_display = ["name", "stage", "amount", "currency", "close_date", "account", "organization"]
    list_filter = ["stage", "organization"]
    search_fields = ["name", "account__name"]
    raw_id_fields = ["account", "owner"]
    list_select_related = ["organization", "account"]
    inlines = [DealContactInline]


@admin.register(Task)
class TaskAdmin(TenantAdmin):
    list_display = ["title", "status", "due_at", "assignee", "organization"]
    list_filter = ["status", "organization"]
    search_fields = ["title", "notes"]
    raw_id_fields = ["assignee", "contact", "account", "deal"]
    list_select_related = ["organization", "assignee"]

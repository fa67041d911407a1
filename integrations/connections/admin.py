from django.contrib import admin

from crm.admin import TenantAdmin
from integrations.connections.models import Connection, DirectoryTenant, OAuthState


@admin.register(Connection)
class ConnectionAdmin(TenantAdmin):
    """Status and errors only: the encrypted token columns are never shown or editable."""

    list_display = [
        "email",
        "provider",
        "status",
        "user",
        "organization",
        "token_expires_at",
        "last_refreshed_at",
    ]
    list_filter = ["provider", "status", "organization"]
    search_fields = ["email", "display_name", "account_id", "user__email"]
    exclude = ["access_token_encrypted", "refresh_token_encrypted"]
    readonly_fields = [
        "account_id",
        "granted_scopes",
        "token_expires_at",
        "last_refreshed_at",
        "last_error_at",
        "connected_at",
    ]
    raw_id_fields = ["user"]


@admin.register(OAuthState)
class OAuthStateAdmin(TenantAdmin):
    list_display = [
        "provider",
        "purpose",
        "user",
        "organization",
        "created_at",
        "expires_at",
        "used_at",
    ]
    list_filter = ["provider", "purpose"]
    exclude = ["secret_encrypted", "nonce"]
    raw_id_fields = ["user"]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(DirectoryTenant)
class DirectoryTenantAdmin(TenantAdmin):
    list_display = ["tenant_id", "organization", "admin_consent_at", "admin_consented_by"]
    search_fields = ["tenant_id"]
    raw_id_fields = ["admin_consented_by"]

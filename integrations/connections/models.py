"""OAuth connections (grants) to Google and Microsoft, the pending sign-ins, directory tenants."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from crm.tenancy import TenantOwned
from integrations.connections import vault


class Provider(models.TextChoices):
    GOOGLE = "google", "Google"
    MICROSOFT = "microsoft", "Microsoft 365"


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    EXPIRED = "expired", "Expired"
    PENDING_AUTH = "pending_auth", "Waiting for sign-in"
    ERROR = "error", "Error"
    REVOKED = "revoked", "Disconnected"


class Connection(TenantOwned):
    """One user's grant at one provider account. Tokens live only encrypted, in the vault."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections"
    )
    provider = models.CharField(max_length=20, choices=Provider.choices)
    account_id = models.CharField(max_length=255, help_text="Google sub / Microsoft oid")
    email = models.CharField(max_length=254)
    display_name = models.CharField(max_length=255, blank=True)
    directory_tenant_id = models.CharField(max_length=64, blank=True, db_index=True)
    capabilities = models.JSONField(default=list)
    granted_scopes = models.JSONField(default=list)
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.CONNECTED
    )
    access_token_encrypted = models.TextField(blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    token_version = models.PositiveIntegerField(default=0, editable=False)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider", "account_id"], name="unique_connection_account"
            )
        ]
        indexes = [models.Index(fields=["status", "token_expires_at"], name="connection_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.email}"

    @property
    def access_token(self) -> str:
        return vault.decrypt(self.access_token_encrypted)

    @property
    def refresh_token(self) -> str:
        return vault.decrypt(self.refresh_token_encrypted)

    def store_tokens(self, *, access_token: str, refresh_token: str | None) -> None:
        self.access_token_encrypted = vault.encrypt(access_token)
        if refresh_token:
            self.refresh_token_encrypted = vault.encrypt(refresh_token)

    def forget_tokens(self) -> None:
        self.access_token_encrypted = ""
        self.refresh_token_encrypted = ""
        self.token_expires_at = None

    @property
    def is_token_valid(self) -> bool:
        return bool(
            self.status == ConnectionStatus.CONNECTED
            and self.access_token_encrypted
            and self.token_expires_at
            and self.token_expires_at > timezone.now()
        )


def _state_expiry() -> Any:
    return timezone.now() + timedelta(minutes=10)


class OAuthPurpose(models.TextChoices):
    CONNECT = "connect", "Connect an account"
    ADMIN_CONSENT = "admin_consent", "Tenant-wide admin consent"


class OAuthState(TenantOwned):
    """A sign-in in flight: single use, ten minutes, bound to a user and an organization."""

    nonce = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    purpose = models.CharField(max_length=20, choices=OAuthPurpose.choices)
    capabilities = models.JSONField(default=list)
    secret_encrypted = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_state_expiry)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.provider} sign-in by {self.user_id}"

    @property
    def secret(self) -> dict[str, Any]:
        raw = vault.decrypt(self.secret_encrypted)
        return json.loads(raw) if raw else {}

    @secret.setter
    def secret(self, value: dict[str, Any]) -> None:
        self.secret_encrypted = vault.encrypt(json.dumps(value))


class DirectoryTenant(TenantOwned):
    """A Microsoft Entra directory (Azure AD tenant) the organization works with."""

    tenant_id = models.CharField(max_length=64)
    admin_consent_at = models.DateTimeField(null=True, blank=True)
    admin_consented_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "tenant_id"], name="unique_directory_tenant"
            )
        ]

    def __str__(self) -> str:
        return self.tenant_id

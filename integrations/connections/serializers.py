from __future__ import annotations

from rest_framework import serializers

from crm.api.base import StrictSerializerMixin
from integrations.connections.models import Connection
from integrations.connections.selectors import connection_state


class ProviderSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    configured = serializers.BooleanField()
    capabilities = serializers.ListField(child=serializers.CharField())
    scopes = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ConnectionSerializer(serializers.ModelSerializer):
    """A connection as the person sees it; tokens never leave the vault."""

    user = serializers.EmailField(source="user.email", read_only=True)
    action = serializers.SerializerMethodField()
    action_label = serializers.SerializerMethodField()
    required_scopes = serializers.SerializerMethodField()
    missing_scopes = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField(source="token_expires_at", read_only=True)
    is_token_valid = serializers.BooleanField(read_only=True)

    class Meta:
        model = Connection
        fields = [
            "id", "provider", "email", "display_name", "directory_tenant_id", "user",
            "capabilities", "status", "action", "action_label", "granted_scopes",
            "required_scopes", "missing_scopes", "expires_at", "is_token_valid",
            "last_refreshed_at", "last_error", "last_error_at", "connected_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_action(self, connection: Connection) -> str:
        return connection_state(connection).action

    def get_action_label(self, connection: Connection) -> str:
        return connection_state(connection).action_label

    def get_required_scopes(self, connection: Connection) -> list[str]:
        return list(connection_state(connection).required_scopes)

    def get_missing_scopes(self, connection: Connection) -> list[str]:
        return list(connection_state(connection).missing_scopes)


class RefreshResultSerializer(serializers.Serializer):
    message = serializers.CharField()
    expiresAt = serializers.DateTimeField()
    connection = ConnectionSerializer()


class DisconnectResultSerializer(serializers.Serializer):
    message = serializers.CharField()
    disconnected = serializers.ListField(child=serializers.IntegerField())
    purged = serializers.BooleanField()
    notes = serializers.ListField(child=serializers.CharField())


class OutlookConnectionStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["connected", "expired", "pending_auth", "not_connected"]
    )
    action = serializers.ChoiceField(choices=["connect", "authorize", "reconnect", "none"])
    action_label = serializers.CharField()
    tenant_id = serializers.CharField()
    connected_by_display_name = serializers.CharField(required=False)
    connected_by_email = serializers.EmailField(required=False)
    connected_by_user_id = serializers.CharField(required=False)
    connected_at = serializers.DateTimeField(required=False)
    updated_at = serializers.DateTimeField(required=False)
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    is_token_valid = serializers.BooleanField()


class OutlookConnectionsSerializer(serializers.Serializer):
    connections = OutlookConnectionStatusSerializer(many=True)
    has_connections = serializers.BooleanField()


class TenantDisconnectSerializer(StrictSerializerMixin, serializers.Serializer):
    tenant_id = serializers.CharField(max_length=64)


class TenantDisconnectResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    tenant_id = serializers.CharField()
    affected_shared_inboxes = serializers.ListField(child=serializers.CharField())
    disconnected_connections = serializers.ListField(child=serializers.IntegerField())

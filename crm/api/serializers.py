from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.base import StrictSerializerMixin, TenantPrimaryKeyField
from crm.models import Account, ApiToken, Contact, Deal, Membership, Task, User
from crm.models.tenants import TokenScope


class UserRefField(serializers.PrimaryKeyRelatedField):
    """A user id that must be a member of the current organization."""

    def get_queryset(self) -> Any:
        request = self.context["request"]
        return User.objects.filter(memberships__organization=request.organization)


class RepresentedListField(serializers.ListField):
    """A writable list whose output is computed from the instance (prefetched related rows)."""

    def __init__(self, *, represent: Any, **kwargs: Any) -> None:
        self.represent = represent
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        return instance

    def to_representation(self, data: Any) -> list[Any]:
        return list(self.represent(data))


class StrictModelSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    def validation_error(self, exc: DjangoValidationError) -> serializers.ValidationError:
        if hasattr(exc, "message_dict"):
            return serializers.ValidationError(exc.message_dict)
        return serializers.ValidationError({"non_field_errors": exc.messages})


class ContactEmailSerializer(serializers.Serializer):
    email = serializers.EmailField()
    is_primary = serializers.BooleanField(default=False)


@extend_schema_field(ContactEmailSerializer)
class EmailItemField(serializers.Field):
    """Accepts ``"a@x.com"`` or ``{"email": "a@x.com", "is_primary": true}``."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            data = {"email": data}
        item = ContactEmailSerializer(data=data)
        item.is_valid(raise_exception=True)
        return dict(item.validated_data)

    def to_representation(self, value: Any) -> dict[str, Any]:
        return {"email": value.email, "is_primary": value.is_primary}


class AccountSerializer(StrictModelSerializer):
    domains = RepresentedListField(
        child=serializers.CharField(max_length=253),
        required=False,
        represent=lambda account: [d.domain for d in account.domains.all()],
    )
    owner = UserRefField(required=False, allow_null=True)
    contact_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "domains",
            "website",
            "industry",
            "owner",
            "contact_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class ContactSerializer(StrictModelSerializer):
    emails = RepresentedListField(
        child=EmailItemField(),
        required=False,
        represent=lambda contact: [
            {"email": e.email, "is_primary": e.is_primary} for e in contact.emails.all()
        ],
    )
    phones = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    account = TenantPrimaryKeyField(Account, required=False, allow_null=True)
    owner = UserRefField(required=False, allow_null=True)
    full_name = serializers.CharField(read_only=True)
    primary_email = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "first_name",
            "last_name",
            "full_name",
            "title",
            "primary_email",
            "emails",
            "phones",
            "account",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def get_primary_email(self, contact: Contact) -> str | None:
        emails = list(contact.emails.all())
        primary = next((e for e in emails if e.is_primary), emails[0] if emails else None)
        return primary.email if primary else None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        creating = self.instance is None
        if creating and not (
            attrs.get("first_name") or attrs.get("last_name") or attrs.get("emails")
        ):
            raise serializers.ValidationError("A contact needs a name or an e-mail address.")
        return attrs


class DealSerializer(StrictModelSerializer):
    account = TenantPrimaryKeyField(Account, required=False, allow_null=True)
    contacts = RepresentedListField(
        child=TenantPrimaryKeyField(Contact),
        required=False,
        represent=lambda deal: sorted(link.contact_id for link in deal.dealcontact_set.all()),
    )
    owner = UserRefField(required=False, allow_null=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "name",
            "account",
            "contacts",
            "stage",
            "amount",
            "currency",
            "close_date",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class TaskSerializer(StrictModelSerializer):
    assignee = UserRefField(required=False, allow_null=True)
    contact = TenantPrimaryKeyField(Contact, required=False, allow_null=True)
    account = TenantPrimaryKeyField(Account, required=False, allow_null=True)
    deal = TenantPrimaryKeyField(Deal, required=False, allow_null=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "notes",
            "due_at",
            "status",
            "assignee",
            "contact",
            "account",
            "deal",
            "completed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "completed_at", "created_at", "updated_at"]


class ApiTokenSerializer(StrictModelSerializer):
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=TokenScope.choices), min_length=1, default=["api"]
    )
    user = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "description",
            "scopes",
            "prefix",
            "user",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = ["id", "prefix", "user", "created_at", "last_used_at", "revoked_at"]


class IssuedApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret; shown only once.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.display_name", read_only=True)
    user_id = serializers.IntegerField(source="user.pk", read_only=True)

    class Meta:
        model = Membership
        fields = ["user_id", "email", "name", "role", "created_at"]
        read_only_fields = fields

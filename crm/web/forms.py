"""Forms of the web UI. They validate input; ``crm.services`` writes.

Choice fields get their querysets in ``__init__``: the tenant manager needs the request's
organization, which does not exist when the module is imported.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

from crm.models import Account, Contact, Deal, DealStage, Organization, TaskStatus, User
from crm.models.records import normalize_email
from crm.models.tenants import TokenScope
from crm.selectors import member_users

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
_SPLIT = re.compile(r"[\s,;]+")


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


class MemberChoiceField(forms.ModelChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("empty_label", "Nobody")
        super().__init__(queryset=User.objects.none(), required=False, **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class ContactsField(forms.ModelMultipleChoiceField):
    """Contacts named with their company, so two Alex Smiths can be told apart."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj} · {obj.account.name}" if obj.account_id else str(obj)


def _optional(model: type[Any], empty_label: str) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=model.objects.none(), required=False, empty_label=empty_label
    )


class RecordForm(forms.Form):
    """A create/edit form for one CRM record; ``service_kwargs`` feeds its save service."""

    wide_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        for name in ("owner", "assignee"):
            if name in self.fields:
                self.choose_from(name, member_users(organization=organization))

    def choose_from(self, name: str, queryset: models.QuerySet[Any]) -> None:
        """Limit a choice field to ``queryset``, evaluated per request (hence per tenant)."""
        field = self.fields[name]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = queryset

    @classmethod
    def initial_from(cls, instance: Any) -> dict[str, Any]:
        return {name: getattr(instance, name) for name in cls.base_fields}

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class ContactForm(RecordForm):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    title = forms.CharField(max_length=150, required=False, label="Job title")
    emails = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ada@example.com"}),
        required=False,
        label="E-mail addresses",
        help_text="One address per line. The first one is the primary address.",
    )
    phones = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "+1 555 0100"}),
        required=False,
        help_text="One number per line.",
    )
    account = _optional(Account, "No account")
    owner = MemberChoiceField()

    wide_fields = ("emails", "phones")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choose_from("account", Account.objects.all())

    @classmethod
    def initial_from(cls, instance: Contact) -> dict[str, Any]:
        initial = super().initial_from(instance) | {"phones": "\n".join(instance.phones or [])}
        initial["emails"] = "\n".join(e.email for e in instance.emails.all())
        return initial

    def clean_emails(self) -> list[str]:
        addresses: list[str] = []
        invalid: list[str] = []
        for line in _lines(self.cleaned_data["emails"]):
            address = normalize_email(line)
            try:
                validate_email(address)
            except ValidationError:
                invalid.append(line)
                continue
            if address not in addresses:
                addresses.append(address)
        if invalid:
            raise ValidationError(f"Not an e-mail address: {', '.join(invalid)}")
        return addresses

    def clean_phones(self) -> list[str]:
        return _lines(self.cleaned_data["phones"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        named = data.get("first_name") or data.get("last_name") or data.get("emails")
        if not named and not self.has_error("emails"):
            raise ValidationError("Give the contact a name or an e-mail address.")
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["emails"] = [
            {"email": address, "is_primary": i == 0} for i, address in enumerate(data["emails"])
        ]
        return data


class AccountForm(RecordForm):
    name = forms.CharField(max_length=200)
    website = forms.URLField(required=False, assume_scheme="https")
    industry = forms.CharField(max_length=100, required=False)
    domains = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "example.com"}),
        required=False,
        help_text="The company's e-mail domains, one per line. Mail from them links here.",
    )
    owner = MemberChoiceField()

    wide_fields = ("domains",)

    @classmethod
    def initial_from(cls, instance: Account) -> dict[str, Any]:
        initial = super().initial_from(instance)
        initial["domains"] = "\n".join(d.domain for d in instance.domains.all())
        return initial

    def clean_domains(self) -> list[str]:
        return [d for d in _SPLIT.split(self.cleaned_data["domains"]) if d]


class DealForm(RecordForm):
    name = forms.CharField(max_length=200)
    account = _optional(Account, "No account")
    stage = forms.ChoiceField(choices=DealStage.choices, initial=DealStage.LEAD)
    amount = forms.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(0), required=False
    )
    currency = forms.CharField(max_length=3, min_length=3, initial="USD")
    close_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    owner = MemberChoiceField()
    contacts = ContactsField(
        queryset=Contact.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="The people involved in this deal. Hold Ctrl or ⌘ to pick several.",
    )

    wide_fields = ("contacts",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choose_from("account", Account.objects.all())
        self.choose_from("contacts", Contact.objects.select_related("account"))

    @classmethod
    def initial_from(cls, instance: Deal) -> dict[str, Any]:
        initial = super().initial_from(instance)
        initial["contacts"] = list(instance.contacts.values_list("pk", flat=True))
        return initial

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        if not currency.isalpha():
            raise ValidationError("Use a three-letter currency code such as USD or EUR.")
        return currency


class TaskForm(RecordForm):
    title = forms.CharField(max_length=200)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    due_at = forms.DateTimeField(
        required=False,
        label="Due",
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    status = forms.ChoiceField(choices=TaskStatus.choices, initial=TaskStatus.OPEN)
    assignee = MemberChoiceField()
    contact = _optional(Contact, "No contact")
    account = _optional(Account, "No account")
    deal = _optional(Deal, "No deal")

    wide_fields = ("notes",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choose_from("contact", Contact.objects.all())
        self.choose_from("account", Account.objects.all())
        self.choose_from("deal", Deal.objects.all())


# --- Settings -----------------------------------------------------------------------------------


class InvitationForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    role = forms.ChoiceField()

    def __init__(self, *args: Any, roles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices, role.initial = roles, "member"
        self.fields["email"].widget.attrs["placeholder"] = "colleague@example.com"


class RoleForm(forms.Form):
    role = forms.ChoiceField()

    def __init__(self, *args: Any, roles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = roles


class ApiTokenForm(forms.Form):
    description = forms.CharField(
        max_length=200, help_text="What uses this token, e.g. “Zapier sync”."
    )
    scopes = forms.MultipleChoiceField(
        choices=TokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[TokenScope.READ],
        help_text="Read only reads records; API also writes them; Everything also manages tokens.",
    )


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=200, label="Organization name")

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from crm import services
from crm.models import User

INVITATION_SESSION_KEY = "invitation_key"


class SignupOrganizationForm(forms.Form):
    """allauth's signup, plus the organization the user starts (or the invitation they accept)."""

    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    organization_name = forms.CharField(
        max_length=200,
        required=False,
        label="Organization",
        help_text="Your team's name. Leave empty when you were invited.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization_name"].widget.attrs["placeholder"] = "Acme Sales"

    def signup(self, request: HttpRequest, user: User) -> None:
        user.first_name = self.cleaned_data.get("first_name", "")
        user.last_name = self.cleaned_data.get("last_name", "")
        user.save(update_fields=["first_name", "last_name"])
        key = request.session.pop(INVITATION_SESSION_KEY, None)
        invitation = services.invitation_by_key(key) if key else None
        if invitation is not None and invitation.is_pending:
            try:
                services.invitation_accept(invitation=invitation, user=user)
            except ValidationError as error:  # signed up with another address than invited
                messages.warning(request, " ".join(error.messages))
            else:
                request.session["organization_id"] = invitation.organization_id
                return
        name = self.cleaned_data.get("organization_name") or f"{user.display_name}'s team"
        organization = services.organization_create(name=name, owner=user)
        request.session["organization_id"] = organization.pk

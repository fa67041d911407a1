"""Switching and creating organizations, and the invitation link (``/invitations/<key>/``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from crm import services
from crm.forms import INVITATION_SESSION_KEY
from crm.middleware import SESSION_ORGANIZATION_KEY
from crm.models import Invitation, Membership
from crm.selectors import membership_for, memberships_for_user
from crm.web.access import acting_user
from crm.web.forms import OrganizationForm


def _enter(request: HttpRequest, organization_id: int) -> None:
    """Make ``organization_id`` the current organization from the next request on."""
    request.session[SESSION_ORGANIZATION_KEY] = organization_id


@login_required
@require_POST
def organization_switch(request: HttpRequest) -> HttpResponse:
    """Switch to one of the user's organizations; any other id is a 404."""
    wanted = request.POST.get("organization", "")
    memberships = memberships_for_user(user=acting_user(request))
    membership = next((m for m in memberships if str(m.organization_id) == wanted), None)
    if membership is None:
        raise Http404("No such organization.")
    _enter(request, membership.organization_id)
    messages.info(request, f"You are now working in {membership.organization}.")
    return redirect("home")


@login_required
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        organization = services.organization_create(
            name=form.cleaned_data["name"],
            owner=acting_user(request),
        )
        _enter(request, organization.pk)
        messages.success(request, f"{organization} is ready. Invite your team from Settings.")
        return redirect("home")
    return render(request, "crm/organizations/new.html", {"form": form})


def _invitation_problem(request: HttpRequest, invitation: Invitation | None) -> HttpResponse:
    status = 404 if invitation is None else 410
    return render(
        request, "crm/invitations/unavailable.html", {"invitation": invitation}, status=status
    )


def _invitation_refused(
    request: HttpRequest, invitation: Invitation, error: ValidationError
) -> HttpResponse:
    """Why the signed-in user cannot accept; sent to another address, they may switch accounts."""
    if error.code != services.INVITATION_OTHER_ADDRESS:
        return _invitation_problem(request, invitation)
    context = {"invitation": invitation, "refusal": " ".join(error.messages)}
    return render(request, "crm/invitations/accept.html", context, status=403)


def invitation_accept(request: HttpRequest, key: str) -> HttpResponse:
    """The link in the invitation e-mail.

    Signed-in people join (and switch to the organization) when the invitation was sent to their
    address; others sign up or sign in first, with the key kept in the session for the signup
    form.
    """
    invitation = services.invitation_by_key(key)
    if invitation is None or not invitation.is_pending:
        return _invitation_problem(request, invitation)
    if not request.user.is_authenticated:
        request.session[INVITATION_SESSION_KEY] = key
        login_url = f"{reverse('account_login')}?next={request.path}"
        context = {"invitation": invitation, "login_url": login_url}
        return render(request, "crm/invitations/accept.html", context)
    user = acting_user(request)
    try:
        if request.method == "POST":
            services.invitation_accept(invitation=invitation, user=user)
        else:
            services.invitation_check(invitation=invitation, user=user)
    except ValidationError as error:
        return _invitation_refused(request, invitation, error)
    if request.method == "POST":
        request.session.pop(INVITATION_SESSION_KEY, None)
        _enter(request, invitation.organization_id)
        messages.success(request, f"Welcome to {invitation.organization}.")
        return redirect("home")
    existing: Membership | None = membership_for(user=user, organization=invitation.organization)
    context = {"invitation": invitation, "existing": existing}
    return render(request, "crm/invitations/accept.html", context)

"""Settings → Members: roles, removal, invitations. Owners and admins manage; members look."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from crm import selectors, services
from crm.middleware import SESSION_ORGANIZATION_KEY
from crm.models import Invitation, Role
from crm.web.access import (
    acting_membership,
    acting_user,
    add_service_errors,
    admin_required,
    assignable_roles,
    can_manage_member,
    member_required,
)
from crm.web.forms import InvitationForm

ROLE_ORDER: dict[str, int] = {Role.OWNER: 0, Role.ADMIN: 1, Role.MEMBER: 2}


def _members_page(request: HttpRequest, invite_form: InvitationForm | None = None) -> HttpResponse:
    actor = acting_membership(request)
    memberships = sorted(
        selectors.members_of(organization=actor.organization),
        key=lambda m: (ROLE_ORDER.get(m.role, 9), m.user.display_name.lower()),
    )
    rows = [
        {"membership": m, "can_manage": can_manage_member(actor, m), "is_me": m.pk == actor.pk}
        for m in memberships
    ]
    roles = assignable_roles(actor)
    context = {
        "nav": "settings",
        "rows": rows,
        "roles": roles,
        "invitations": selectors.outstanding_invitations() if actor.is_admin else [],
        "invite_form": invite_form or InvitationForm(roles=roles),
    }
    return render(request, "crm/settings/members.html", context)


@member_required
def member_list(request: HttpRequest) -> HttpResponse:
    return _members_page(request)


@admin_required
@require_POST
def member_set_role(request: HttpRequest, pk: int) -> HttpResponse:
    actor = acting_membership(request)
    target = get_object_or_404(selectors.members_of(organization=actor.organization), pk=pk)
    role = request.POST.get("role", "")
    if role not in Role.values or not can_manage_member(actor, target, role):
        raise PermissionDenied("You cannot give this role.")
    try:
        services.membership_set_role(membership=target, role=role)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{target.user.display_name} is now {target.get_role_display()}.")
    return redirect("member_list")


@member_required
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove someone (owners and admins), or leave the organization yourself."""
    actor = acting_membership(request)
    target = get_object_or_404(selectors.members_of(organization=actor.organization), pk=pk)
    leaving = target.pk == actor.pk
    if not leaving and not can_manage_member(actor, target):
        raise PermissionDenied("Only owners and admins can remove people.")
    if request.method == "POST":
        try:
            services.membership_remove(membership=target)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("member_list")
        if leaving:
            request.session.pop(SESSION_ORGANIZATION_KEY, None)
            messages.success(request, f"You left {actor.organization}.")
            return redirect("home")
        messages.success(request, f"{target.user.display_name} was removed.")
        return redirect("member_list")
    context = {"nav": "settings", "target": target, "leaving": leaving}
    return render(request, "crm/settings/member_remove.html", context)


@admin_required
@require_POST
def member_invite(request: HttpRequest) -> HttpResponse:
    actor = acting_membership(request)
    form = InvitationForm(request.POST, roles=assignable_roles(actor))
    if not form.is_valid():
        return _members_page(request, invite_form=form)
    email = form.cleaned_data["email"]
    members = selectors.members_of(organization=actor.organization)
    if members.filter(user__email__iexact=email).exists():
        form.add_error("email", f"{email} is already a member.")
        return _members_page(request, invite_form=form)
    try:
        invitation = services.invitation_create(
            email=email,
            role=form.cleaned_data["role"],
            invited_by=acting_user(request),
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return _members_page(request, invite_form=form)
    accept_url = request.build_absolute_uri(reverse("invitation_accept", args=[invitation.key]))
    if services.invitation_send(invitation=invitation, accept_url=accept_url):
        messages.success(request, f"Invitation sent to {invitation.email}.")
    else:
        messages.warning(
            request,
            f"The invitation is saved but the e-mail to {invitation.email} could not be sent. "
            f"Share this link instead: {accept_url}",
        )
    return redirect("member_list")


@admin_required
@require_POST
def invitation_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk, accepted_at__isnull=True)
    services.invitation_revoke(invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} was revoked.")
    return redirect("member_list")

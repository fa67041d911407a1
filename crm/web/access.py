"""Who may see a page: signed in, a member of the current organization, an admin of it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from crm.models import Membership, Role, User

View = Callable[..., HttpResponse]


def acting_user(request: HttpRequest) -> User:
    """The signed-in user, in views behind ``login_required`` or ``member_required``."""
    return cast(User, request.user)


def acting_membership(request: HttpRequest) -> Membership:
    """The current membership (TenantMiddleware sets it), in views behind ``member_required``."""
    return cast(Membership, getattr(request, "membership", None))


def member_required(view: View) -> View:
    """Signed in and in an organization; people without one are offered to create one."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "membership", None) is None:
            return render(request, "crm/no_organization.html")
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: View) -> View:
    """An owner or admin of the current organization; other members get a 403."""

    @member_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not acting_membership(request).is_admin:
            raise PermissionDenied("Only owners and admins can do this.")
        return view(request, *args, **kwargs)

    return wrapper


def can_manage_member(actor: Membership, target: Membership, role: str | None = None) -> bool:
    """Admins manage members and admins; owners alone grant, change or remove the owner role."""
    if not actor.is_admin:
        return False
    touches_owner = target.role == Role.OWNER or role == Role.OWNER
    return actor.role == Role.OWNER or not touches_owner


def assignable_roles(actor: Membership) -> list[tuple[str, str]]:
    """The roles ``actor`` may hand out, for invitation and role forms."""
    if actor.role == Role.OWNER:
        return list(Role.choices)
    return [(value, label) for value, label in Role.choices if value != Role.OWNER]


def is_htmx(request: HttpRequest, target: str | None = None) -> bool:
    """An htmx request (not a history restore), optionally aimed at element ``target``."""
    if request.headers.get("HX-Request") != "true":
        return False
    if request.headers.get("HX-History-Restore-Request") == "true":
        return False
    return target is None or request.headers.get("HX-Target") == target


def safe_next(request: HttpRequest, fallback: str, *, referer: bool = False) -> str:
    """``next`` (or, with ``referer``, the previous page) when it is on this site, else fallback."""
    candidates = [request.POST.get("next"), request.GET.get("next")]
    if referer:
        candidates.append(request.headers.get("Referer"))
    for candidate in candidates:
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return fallback


def add_service_errors(form: BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has it."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from crm.models import ApiToken
from crm.selectors import membership_for

WRITE_SCOPE_MESSAGE = "This token is read-only."


class IsOrganizationMember(permissions.BasePermission):
    """Signed in, acting for an organization the user belongs to; read tokens only read."""

    message = "You are not a member of an organization."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if getattr(request, "membership", None) is None:
            return False
        token = request.auth
        if isinstance(token, ApiToken) and not token.allows(
            write=request.method not in permissions.SAFE_METHODS
        ):
            self.message = WRITE_SCOPE_MESSAGE
            return False
        return True


class IsOrganizationAdmin(IsOrganizationMember):
    message = "Only the organization's owners and admins may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        membership = getattr(request, "membership", None)
        if membership is None or not membership.is_admin:
            self.message = "Only the organization's owners and admins may do this."
            return False
        return True


class MembersReadAdminsWrite(permissions.BasePermission):
    """Members read (GET, HEAD, OPTIONS); owners and admins change."""

    def has_permission(self, request: Request, view: Any) -> bool:
        reads = request.method in permissions.SAFE_METHODS
        checker = IsOrganizationMember() if reads else IsOrganizationAdmin()
        allowed = checker.has_permission(request, view)
        self.message = checker.message
        return allowed


__all__ = [
    "IsOrganizationAdmin",
    "IsOrganizationMember",
    "MembersReadAdminsWrite",
    "membership_for",
]

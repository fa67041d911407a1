from typing import Any

from django.http import HttpRequest

from crm.selectors import memberships_for_user


def tenancy(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_membership": getattr(request, "membership", None),
        "current_organization": getattr(request, "organization", None),
        "user_memberships": lambda: memberships_for_user(user=user),
    }

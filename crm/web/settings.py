"""Settings: the landing page and the user's API tokens in the current organization."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from crm import selectors, services
from crm.models import ApiToken
from crm.web.access import acting_user, add_service_errors, member_required
from crm.web.forms import ApiTokenForm


@member_required
def settings_home(request: HttpRequest) -> HttpResponse:
    return render(request, "crm/settings/index.html", {"nav": "settings"})


@member_required
def token_list(request: HttpRequest) -> HttpResponse:
    tokens = selectors.api_tokens_of(user=acting_user(request))
    return render(request, "crm/settings/tokens.html", {"nav": "settings", "tokens": tokens})


@member_required
def token_create(request: HttpRequest) -> HttpResponse:
    """Issue a token; its secret is on the response page once and stored nowhere."""
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.api_token_issue(
                user=acting_user(request),
                description=form.cleaned_data["description"],
                scopes=form.cleaned_data["scopes"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            context = {"nav": "settings", "issued": issued}
            response = render(request, "crm/settings/token_created.html", context)
            add_never_cache_headers(response)
            return response
    return render(request, "crm/settings/token_form.html", {"nav": "settings", "form": form})


@member_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    services.api_token_revoke(token=token)
    messages.success(request, f"Token “{token.description}” revoked. It no longer works.")
    return redirect("token_list")

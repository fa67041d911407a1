"""Settings → Connections: connect, see what is wrong and press the button that fixes it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.connections import selectors, services
from integrations.connections.models import ConnectionStatus
from integrations.providers.base import CAPABILITIES, ProviderUnavailable
from integrations.providers.registry import PROVIDERS


def _membership_or_404(request: HttpRequest) -> None:
    if getattr(request, "membership", None) is None:
        raise Http404("No organization")


@login_required
def connection_list(request: HttpRequest) -> HttpResponse:
    _membership_or_404(request)
    everyone = request.GET.get("scope") == "organization" and request.membership.is_admin  # type: ignore[attr-defined]
    connections = selectors.connections_visible_to(
        user=request.user,  # type: ignore[arg-type]
        membership=request.membership,  # type: ignore[attr-defined]
        everyone=everyone,
    )
    rows = [(c, selectors.connection_state(c)) for c in connections]
    providers = [(name, p.label, p.is_configured()) for name, p in PROVIDERS.items()]
    return render(
        request,
        "connections/list.html",
        {
            "rows": rows,
            "providers": providers,
            "capabilities": CAPABILITIES,
            "tenants": selectors.directory_tenant_states(),
            "everyone": everyone,
            "active_nav": "settings",
        },
    )


@login_required
@require_POST
def connection_connect(request: HttpRequest, provider: str) -> HttpResponse:
    _membership_or_404(request)
    kind = request.POST.get("type", "all")
    capabilities = (
        CAPABILITIES if kind == "all" else (kind,) if kind in CAPABILITIES else CAPABILITIES
    )
    try:
        if request.POST.get("admin_consent") and provider == "microsoft":
            if not request.membership.is_admin:  # type: ignore[attr-defined]
                raise Http404
            url = services.admin_consent_start(
                user=request.user,  # type: ignore[arg-type]
                organization=request.organization,  # type: ignore[attr-defined]
                tenant=request.POST.get("tenant", ""),
            )
        else:
            url = services.oauth_authorize_start(
                user=request.user,  # type: ignore[arg-type]
                organization=request.organization,  # type: ignore[attr-defined]
                provider_name=provider,
                capabilities=capabilities,
                login_hint=request.POST.get("login_hint") or None,
            )
    except services.ConnectionFlowError as exc:
        messages.error(request, exc.message)
        return redirect("settings-connections")
    return HttpResponseRedirect(url)


def _connection_or_404(request: HttpRequest, pk: int) -> services.Connection:
    _membership_or_404(request)
    connection = selectors.connection_for_user(
        user=request.user,  # type: ignore[arg-type]
        membership=request.membership,  # type: ignore[attr-defined]
        connection_id=pk,
    )
    if connection is None:
        raise Http404("No such connection")
    return connection


@login_required
@require_POST
def connection_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection_or_404(request, pk)
    try:
        services.connection_refresh(connection=connection, force=True)
        messages.success(request, f"{connection.email}: access renewed.")
    except services.ConnectionUnusable:
        messages.error(request, f"{connection.email} has expired. Reconnect it to resume syncing.")
    except ProviderUnavailable as exc:
        messages.warning(request, f"{exc.user_message} Liaison will keep trying.")
    return redirect("settings-connections")


@login_required
@require_POST
def connection_disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection_or_404(request, pk)
    purge = request.POST.get("purge") == "true"
    email = connection.email
    note = services.connection_disconnect(connection=connection, purge=purge)
    text = f"Disconnected {email}" + (" and deleted its synced data." if purge else ".")
    messages.success(request, text)
    if note:
        messages.warning(request, note)
    return redirect(reverse("settings-connections"))


__all__ = ["ConnectionStatus"]

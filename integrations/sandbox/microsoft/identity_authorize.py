"""The interactive legs: authorize (account picker + consent), tenant-wide admin consent, logout.

A person (or a test posting the form) picks an account and answers Accept or Cancel;
``config.auto_approve`` answers Accept at once with the ``login_hint`` account or the first one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from integrations.sandbox.http import Request, Response, router
from integrations.sandbox.microsoft import ids, pages
from integrations.sandbox.microsoft.records import AuthCode, Grant, User
from integrations.sandbox.microsoft.scopes import (
    GRAPH_RESOURCE,
    UnknownScope,
    needs_admin,
    split_scopes,
)
from integrations.sandbox.microsoft.state import MicrosoftState, state_of
from integrations.sandbox.microsoft.tokens import aad_error_body, client_info

TENANT = r"(?P<tenant>(?!google/|graph/|_sandbox/)[A-Za-z0-9.\-]+)"
MULTI_TENANT = ("common", "organizations")


def _resolve(state: MicrosoftState, segment: str) -> str | None:
    if segment.lower() in MULTI_TENANT:
        return segment.lower()
    tenant = state.resolve_tenant(segment)
    return tenant.tenant_id if tenant else None


def _eligible_users(state: MicrosoftState, tenant: str) -> list[User]:
    return [
        u
        for u in state.users.values()
        if not u.shared and (tenant in MULTI_TENANT or u.tenant_id == tenant)
    ]


def _redirect(redirect_uri: str, fields: dict[str, str], response_mode: str) -> Response:
    fields = {k: v for k, v in fields.items() if v is not None}
    if response_mode == "form_post":
        return Response.html(pages.form_post_page(redirect_uri, fields))
    separator = "#" if response_mode == "fragment" else ("&" if "?" in redirect_uri else "?")
    return Response.redirect(redirect_uri + separator + urlencode(fields))


def _error_redirect(
    request: Request,
    state: MicrosoftState,
    pending: dict[str, str],
    error: str,
    code: int,
    text: str,
    subcode: str | None = None,
) -> Response:
    body = aad_error_body(request.base_url, state.now(), error, code, text)
    fields = {"error": error, "error_description": body["error_description"]}
    if subcode:
        fields["error_subcode"] = subcode
    if pending.get("state") is not None:
        fields["state"] = pending["state"]
    return _redirect(pending["redirect_uri"], fields, pending.get("response_mode", "query"))


def _error_page(code: int, text: str) -> Response:
    return Response.html(pages.error_page(code, text), status=400)


def _validate_client(state: MicrosoftState, request: Request) -> Response | dict[str, str]:
    """The pending request from the query (client and redirect URI checked), or the error page
    to show."""
    params = {key: values[-1] for key, values in request.query.items()}
    segment = request.params["tenant"]
    tenant = _resolve(state, segment)
    if tenant is None:
        return _error_page(
            90002,
            f"Tenant '{segment}' not found. Check to make sure you have the "
            "correct tenant ID and are signing into the correct cloud.",
        )
    client_id = params.get("client_id", "")
    app = state.apps.get(client_id)
    if app is None:
        return _error_page(
            700016,
            f"Application with identifier '{client_id}' was not found in "
            f"the directory '{segment}'.",
        )
    redirect_uri = params.get("redirect_uri") or (app.redirect_uris[0] if app.redirect_uris else "")
    # A redirect URI the app did not register is never redirected to: an error page instead.
    if redirect_uri not in app.redirect_uris:
        return _error_page(
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request "
            "does not match the redirect URIs configured for the application "
            f"'{client_id}'.",
        )
    return {**params, "redirect_uri": redirect_uri, "tenant": tenant}


def _unknown_scope(
    request: Request, state: MicrosoftState, pending: dict[str, str], scope: UnknownScope
) -> Response:
    return _error_redirect(
        request,
        state,
        pending,
        "invalid_client",
        650053,
        f"The application asked for scope '{scope}' that doesn't exist "
        "on the resource '00000003-0000-0000-c000-000000000000'.",
    )


@router.route(
    "GET", rf"/{TENANT}/oauth2/v2\.0/authorize", name="identity.authorize", provider="microsoft"
)
def authorize(request: Request) -> Response:
    with request.sandbox.lock:
        state = state_of(request)
        checked = _validate_client(state, request)
        if isinstance(checked, Response):
            return checked
        pending = checked
        if pending.get("response_type", "") != "code":
            if not pending.get("response_type"):
                return _error_redirect(
                    request,
                    state,
                    pending,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'response_type'.",
                )
            return _error_redirect(
                request,
                state,
                pending,
                "unsupported_response_type",
                700054,
                f"response_type '{pending['response_type']}' is not enabled for the application.",
            )
        if not pending.get("scope"):
            return _error_redirect(
                request,
                state,
                pending,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        try:
            graph, oidc = split_scopes(pending["scope"])
        except UnknownScope as exc:
            return _unknown_scope(request, state, pending, exc)
        challenge = pending.get("code_challenge")
        if challenge is not None:
            method = pending.get("code_challenge_method", "plain")
            if method not in ("S256", "plain"):
                return _error_redirect(
                    request,
                    state,
                    pending,
                    "invalid_request",
                    5014,
                    f"Invalid code_challenge_method '{method}'.",
                )
            if not 43 <= len(challenge) <= 128:
                return _error_redirect(
                    request,
                    state,
                    pending,
                    "invalid_request",
                    501491,
                    "Invalid size of Code_Challenge parameter.",
                )
        users = _eligible_users(state, pending["tenant"])
        hint = (pending.get("login_hint") or "").lower() or None
        if state.config is not None and state.config.auto_approve and users:
            chosen = next((u for u in users if u.upn == hint), users[0])
            return _complete(request, state, pending, chosen)
        if pending.get("prompt") == "none":
            return _silent(request, state, pending, users, hint, graph)
        ctx = ids.opaque_token(24)
        state.pending_authorizations[ctx] = {**pending, "kind": "authorize"}
        shown = [*graph, *(s for s in oidc)]
        return Response.html(
            pages.consent_page(
                action=f"/{request.params['tenant']}/login",
                ctx=ctx,
                app=state.apps[pending["client_id"]],
                scopes=shown,
                users=users,
                login_hint=hint,
            )
        )


def _silent(
    request: Request,
    state: MicrosoftState,
    pending: dict[str, str],
    users: list[User],
    hint: str | None,
    graph: list[str],
) -> Response:
    """prompt=none: answer without UI, or say why interaction is needed."""
    user = next((u for u in users if u.upn == hint), None)
    if user is None:
        return _error_redirect(
            request,
            state,
            pending,
            "login_required",
            50058,
            "A silent sign-in request was sent but no user is signed in.",
        )
    grant = _live_grant(state, pending["client_id"], user.oid)
    if grant is None or any(s not in grant.scopes for s in graph):
        return _error_redirect(
            request,
            state,
            pending,
            "consent_required",
            65001,
            _not_consented(state, pending["client_id"]),
        )
    return _complete(request, state, pending, user)


def _not_consented(state: MicrosoftState, client_id: str) -> str:
    app = state.apps[client_id]
    return (
        f"The user or administrator has not consented to use the application with ID "
        f"'{app.client_id}' named '{app.name}'. Send an interactive authorization request "
        "for this user and resource."
    )


def _live_grant(state: MicrosoftState, client_id: str, oid: str) -> Grant | None:
    for grant in state.grants.values():
        if grant.client_id == client_id and grant.oid == oid and grant.revoked_at is None:
            return grant
    return None


def grant_for(state: MicrosoftState, client_id: str, user: User, graph: list[str]) -> Grant:
    """The user's live grant to the app, created or widened to cover ``graph`` scopes."""
    grant = _live_grant(state, client_id, user.oid)
    if grant is None:
        grant = Grant(ids.new_guid(), client_id, user.oid, user.tenant_id, [], state.now())
        state.grants[grant.grant_id] = grant
    grant.scopes = [*grant.scopes, *(s for s in graph if s not in grant.scopes)]
    return grant


def _complete(
    request: Request, state: MicrosoftState, pending: dict[str, str], user: User
) -> Response:
    """Accept: check admin consent, record the grant, redirect with a single-use code."""
    graph, oidc = split_scopes(pending["scope"])
    tenant = state.tenants[user.tenant_id]
    consented = set(tenant.admin_consents.get(pending["client_id"], []))
    if any(
        needs_admin(s, user_consent_allowed=tenant.user_consent_allowed) and s not in consented
        for s in graph
    ):
        return _error_redirect(
            request,
            state,
            pending,
            "consent_required",
            65001,
            _not_consented(state, pending["client_id"]),
        )
    now: datetime = state.now()
    grant = grant_for(state, pending["client_id"], user, graph)
    code = AuthCode(
        code="0.A" + ids.opaque_token(120),
        grant_id=grant.grant_id,
        client_id=pending["client_id"],
        redirect_uri=pending["redirect_uri"],
        scopes=[*graph, *oidc],
        code_challenge=pending.get("code_challenge"),
        code_challenge_method=pending.get("code_challenge_method"),
        nonce=pending.get("nonce"),
        issued_at=now,
        authority_tenant=pending["tenant"],
    )
    state.codes[code.code] = code
    request.log_user = user.upn  # type: ignore[attr-defined]
    fields: dict[str, Any] = {"code": code.code}
    if pending.get("client_info") == "1":
        fields["client_info"] = client_info(user.oid, user.tenant_id)
    fields["state"] = pending.get("state")
    fields["session_state"] = ids.new_guid()
    return _redirect(pending["redirect_uri"], fields, pending.get("response_mode", "query"))


@router.route("POST", rf"/{TENANT}/login", name="identity.login", provider="microsoft")
def login(request: Request) -> Response:
    """The consent screens' form: ``ctx``, ``user`` (object id) and ``action`` accept|cancel."""
    form = request.form()
    with request.sandbox.lock:
        state = state_of(request)
        pending = state.pending_authorizations.pop(form.get("ctx", ""), None)
        if pending is None:
            return _error_page(
                90014, "The sign-in session expired or was already used. Start the sign-in again."
            )
        if form.get("action") != "accept":
            return _error_redirect(
                request,
                state,
                pending,
                "access_denied",
                65004,
                "User declined to consent to access the app.",
                subcode="cancel",
            )
        eligible = {u.oid: u for u in _eligible_users(state, pending["tenant"])}
        user = eligible.get(form.get("user", ""))
        if user is None:
            return _error_page(50020, "The selected account does not exist in this tenant.")
        if pending["kind"] == "adminconsent":
            return _complete_admin_consent(request, state, pending, user)
        return _complete(request, state, pending, user)


@router.route(
    "GET", rf"/{TENANT}(?:/v2\.0)?/adminconsent", name="identity.adminConsent", provider="microsoft"
)
def admin_consent(request: Request) -> Response:
    with request.sandbox.lock:
        state = state_of(request)
        checked = _validate_client(state, request)
        if isinstance(checked, Response):
            return checked
        pending = {**checked, "kind": "adminconsent"}
        try:
            graph, _ = split_scopes(pending.get("scope", ""))
        except UnknownScope as exc:
            return _unknown_scope(request, state, pending, exc)
        if not graph:
            return _error_redirect(
                request,
                state,
                pending,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        users = _eligible_users(state, pending["tenant"])
        if state.config is not None and state.config.auto_approve and users:
            return _complete_admin_consent(request, state, pending, users[0])
        ctx = ids.opaque_token(24)
        state.pending_authorizations[ctx] = pending
        tenant_name = (
            state.tenants[pending["tenant"]].name
            if pending["tenant"] in state.tenants
            else "your organization"
        )
        return Response.html(
            pages.admin_consent_page(
                action=f"/{request.params['tenant']}/login",
                ctx=ctx,
                app=state.apps[pending["client_id"]],
                scopes=graph,
                users=users,
                tenant_name=tenant_name,
            )
        )


def _complete_admin_consent(
    request: Request, state: MicrosoftState, pending: dict[str, str], admin: User
) -> Response:
    graph, _ = split_scopes(pending.get("scope", ""))
    tenant = state.tenants[admin.tenant_id]
    granted = tenant.admin_consents.setdefault(pending["client_id"], [])
    granted.extend(s for s in graph if s not in granted)
    request.log_user = admin.upn  # type: ignore[attr-defined]
    return _redirect(
        pending["redirect_uri"],
        {
            "admin_consent": "True",
            "tenant": tenant.tenant_id,
            "state": pending.get("state", ""),
            "scope": " ".join(f"{GRAPH_RESOURCE}/{s}" for s in graph),
        },
        "query",
    )


@router.route(
    "GET", rf"/{TENANT}/oauth2/v2\.0/logout", name="identity.logout", provider="microsoft"
)
def logout(request: Request) -> Response:
    target = request.arg("post_logout_redirect_uri")
    if target:
        return Response.redirect(target)
    return Response.html(
        "<!DOCTYPE html><html><body><p>You signed out of your account.</p></body></html>"
    )

"""Google's authorization endpoint: ``/google/o/oauth2/v2/auth`` (OAuth 2.0 + OpenID Connect).

``GET`` validates the request as Google does and shows a consent page: the app (client id), the
requested scopes in plain words, a picker of sandbox users (``login_hint`` preselects one) and
Allow / Deny buttons that ``POST`` back to the same path. Allow redirects to ``redirect_uri``
with ``code``, ``scope`` and ``state``; Deny with ``error=access_denied`` and ``state``.

With ``config.auto_approve`` the page is skipped: the request is answered at once with the
redirect Allow would give, for the ``login_hint`` user if it is a sandbox user, else the first
user created. ``prompt=none`` answers silently too, or ``error=consent_required`` when the user has
not yet granted every requested scope to the client.

Google's rules kept: an unknown ``client_id`` (401 invalid_client) or an unregistered
``redirect_uri`` (400 redirect_uri_mismatch) is an error page, never a redirect; so are a missing
or unknown ``response_type``/``scope`` and bad PKCE parameters. A refresh token is issued only
for ``access_type=offline``, and only on the first consent of that user to that client unless
``prompt=consent`` asks again (the reason apps must send ``prompt=consent`` to reconnect).
``include_granted_scopes=true`` adds the scopes granted before. Codes live 10 minutes, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from integrations.sandbox.google.oauth_scopes import (
    SCOPE_DESCRIPTIONS,
    parse_scopes,
    unknown_scopes,
)
from integrations.sandbox.google.oauth_store import CODE_SECONDS, OAuthClient, merge_scopes
from integrations.sandbox.google.state import GoogleState, GoogleUser
from integrations.sandbox.http import Abort, Request, Response, router

AUTHORIZE_PATH = r"/google/o/oauth2/v2/auth"
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "access_type",
    "prompt",
    "login_hint",
    "include_granted_scopes",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "hd",
)


@dataclass
class AuthorizeRequest:
    client: OAuthClient
    redirect_uri: str
    scopes: list[str]
    state: str | None
    offline: bool
    prompts: set[str]
    login_hint: str
    include_granted_scopes: bool
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    params: dict[str, str]


def _error_page(status: int, error: str, detail: str) -> Abort:
    page = (
        f"<!doctype html><title>Error {status}: {escape(error)}</title>"
        f"<h1>Access blocked: authorization error</h1>"
        f"<p><strong>Error {status}: {escape(error)}</strong></p><p>{escape(detail)}</p>"
    )
    return Abort(Response.html(page, status=status))


def parse_authorize(state: GoogleState, params: dict[str, str]) -> AuthorizeRequest:
    """Validate an authorization request in Google's order; error pages as Google shows them."""
    client = state.oauth.clients.get(params.get("client_id", ""))
    if client is None:
        raise _error_page(401, "invalid_client", "The OAuth client was not found.")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri:
        raise _error_page(400, "invalid_request", "Missing required parameter: redirect_uri")
    if redirect_uri not in client.redirect_uris:
        raise _error_page(
            400,
            "redirect_uri_mismatch",
            f"You can't sign in to this app because it doesn't comply with "
            f"Google's OAuth 2.0 policy. redirect_uri={redirect_uri}",
        )
    response_type = params.get("response_type", "")
    if not response_type:
        raise _error_page(400, "invalid_request", "Required parameter is missing: response_type")
    if response_type != "code":
        raise _error_page(
            400, "unsupported_response_type", f"Invalid response_type: {response_type}"
        )
    scopes = parse_scopes(params.get("scope", ""))
    if not scopes:
        raise _error_page(400, "invalid_request", "Missing required parameter: scope")
    invalid = unknown_scopes(scopes)
    if invalid:
        raise _error_page(
            400,
            "invalid_scope",
            f"Some requested scopes were invalid. {{invalid=[{', '.join(invalid)}]}}",
        )
    access_type = params.get("access_type", "online")
    if access_type not in ("online", "offline"):
        raise _error_page(400, "invalid_request", f"Invalid access_type: {access_type}")
    prompts = set(params.get("prompt", "").split())
    if not prompts <= {"none", "consent", "select_account"} or (
        "none" in prompts and len(prompts) > 1
    ):
        raise _error_page(400, "invalid_request", f"Invalid prompt: {params.get('prompt')}")
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if method is not None and challenge is None:
        raise _error_page(400, "invalid_request", "Missing code_challenge.")
    if challenge is not None:
        method = method or "plain"  # Google's default when only the challenge is sent
        if method not in ("plain", "S256"):
            raise _error_page(400, "invalid_request", f"Invalid code_challenge_method: {method}")
        if not _PKCE_VALUE.fullmatch(challenge):
            raise _error_page(400, "invalid_request", "Invalid code_challenge.")
    return AuthorizeRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=params.get("state"),
        offline=access_type == "offline",
        prompts=prompts,
        login_hint=params.get("login_hint", "").strip().lower(),
        include_granted_scopes=params.get("include_granted_scopes", "").lower() == "true",
        code_challenge=challenge,
        code_challenge_method=method,
        nonce=params.get("nonce") or None,
        params=params,
    )


def redirect_with(uri: str, values: dict[str, str | None]) -> Response:
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in values.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return Response.redirect(urlunsplit(parts._replace(query=query)))


def approve(state: GoogleState, auth: AuthorizeRequest, user: GoogleUser, now: float) -> Response:
    """Record consent and send the browser back with a fresh authorization code."""
    oauth = state.oauth
    scopes = auth.scopes
    previous = oauth.grant(user.email, auth.client.client_id)
    if auth.include_granted_scopes and previous is not None:
        scopes = merge_scopes(previous.scopes, scopes)
    issue_refresh = auth.offline and (
        "consent" in auth.prompts or not oauth.has_refresh_token(user.email, auth.client.client_id)
    )
    oauth.record_consent(user.email, auth.client.client_id, scopes)
    code = oauth.issue_code(
        email=user.email,
        client_id=auth.client.client_id,
        redirect_uri=auth.redirect_uri,
        scopes=scopes,
        issue_refresh_token=issue_refresh,
        expires_at=now + CODE_SECONDS,
        code_challenge=auth.code_challenge,
        code_challenge_method=auth.code_challenge_method,
        nonce=auth.nonce,
    )
    return redirect_with(
        auth.redirect_uri,
        {
            "state": auth.state,
            "code": code.code,
            "scope": " ".join(scopes),
            "authuser": "0",
            "prompt": "consent",
        },
    )


def deny(auth: AuthorizeRequest) -> Response:
    return redirect_with(auth.redirect_uri, {"error": "access_denied", "state": auth.state})


def _preselected(state: GoogleState, auth: AuthorizeRequest) -> GoogleUser | None:
    hinted = state.user(auth.login_hint) if auth.login_hint else None
    return hinted or next(iter(state.users.values()), None)


def _silent(state: GoogleState, auth: AuthorizeRequest, now: float) -> Response:
    """``prompt=none``: no page; a code if consent covers the scopes, else an error redirect."""
    user = _preselected(state, auth)
    if user is None:
        return redirect_with(auth.redirect_uri, {"error": "login_required", "state": auth.state})
    grant = state.oauth.grant(user.email, auth.client.client_id)
    if grant is None or not set(auth.scopes) <= set(grant.scopes):
        return redirect_with(auth.redirect_uri, {"error": "consent_required", "state": auth.state})
    return approve(state, auth, user, now)


def consent_page(state: GoogleState, auth: AuthorizeRequest) -> Response:
    app = escape(auth.client.name or auth.client.client_id)
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in auth.params.items()
        if k in _PARAMS
    )
    scopes = "".join(
        f"<li>{escape(SCOPE_DESCRIPTIONS[s])} <code>{escape(s)}</code></li>" for s in auth.scopes
    )
    chosen = _preselected(state, auth)
    options = "".join(
        f'<option value="{escape(u.email)}"{" selected" if u is chosen else ""}>'
        f"{escape(u.name)} &lt;{escape(u.email)}&gt;</option>"
        for u in state.users.values()
    )
    if not options:
        picker = (
            "<p>No sandbox users yet: create one with "
            "<code>POST /_sandbox/google/users</code>, then reload.</p>"
        )
    else:
        picker = f'<label>Account <select name="user">{options}</select></label>'
    page = (
        f"<!doctype html><title>Sign in - Google Accounts (sandbox)</title>"
        f"<h1>{app} wants access to your Google Account</h1>"
        f'<form method="post" action="/google/o/oauth2/v2/auth">{hidden}{picker}'
        f"<p>This will allow {app} to:</p><ul>{scopes}</ul>"
        f'<button type="submit" name="decision" value="deny">Deny</button> '
        f'<button type="submit" name="decision" value="allow">Allow</button></form>'
    )
    return Response.html(page)


def _single(query: dict[str, list[str]]) -> dict[str, str]:
    return {key: values[-1] for key, values in query.items() if values}


@router.route("GET", AUTHORIZE_PATH, name="google.oauth.authorize", provider="google")
def authorize(request: Request) -> Response:
    sandbox = request.sandbox
    with sandbox.lock:
        state: GoogleState = sandbox.google
        auth = parse_authorize(state, _single(request.query))
        now = sandbox.now().timestamp()
        if "none" in auth.prompts:
            return _silent(state, auth, now)
        user = _preselected(state, auth)
        if sandbox.config.auto_approve and user is not None:
            return approve(state, auth, user, now)
        return consent_page(state, auth)


@router.route("POST", AUTHORIZE_PATH, name="google.oauth.consent", provider="google")
def consent(request: Request) -> Response:
    form: dict[str, Any] = request.form()
    sandbox = request.sandbox
    with sandbox.lock:
        state: GoogleState = sandbox.google
        auth = parse_authorize(state, {k: v for k, v in form.items() if k in _PARAMS})
        if form.get("decision") != "allow":
            return deny(auth)
        user = state.user(form.get("user", ""))
        if user is None:
            raise _error_page(400, "invalid_request", "Choose a sandbox account to continue.")
        return approve(state, auth, user, sandbox.now().timestamp())

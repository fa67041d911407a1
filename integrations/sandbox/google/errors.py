"""Google API error bodies, in the shape googleapis.com answers them.

Every Google JSON API (Gmail, Calendar) answers errors as::

    {"error": {"code": 404, "message": "Requested entity was not found.",
               "errors": [{"message": "...", "domain": "global", "reason": "notFound"}],
               "status": "NOT_FOUND"}}

``googleapiclient.errors.HttpError`` reads ``error.message`` and ``error.errors[].reason``; sync
code branches on the reason (``rateLimitExceeded``, ``notFound``...), so these must be exact.
"""

from __future__ import annotations

from typing import Any

from integrations.sandbox.http import Abort, Response

# The canonical google.rpc.Code name for each HTTP status Google APIs answer with.
RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

# Google's wording when a bearer token is missing or not (or no longer) valid.
MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
INVALID_CREDENTIALS = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
AUTH_REALM = 'Bearer realm="https://accounts.google.com/"'


def api_error(
    status: int,
    message: str,
    *,
    reason: str,
    domain: str = "global",
    detail_message: str | None = None,
    location: str | None = None,
    location_type: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    """One Google API error response; ``detail_message`` is the ``errors[0].message``."""
    item: dict[str, Any] = {
        "message": detail_message or message,
        "domain": domain,
        "reason": reason,
    }
    if location:
        item["location"] = location
        item["locationType"] = location_type or "parameter"
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "errors": [item],
        "status": RPC_STATUS.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return Response.json({"error": error}, status=status, headers=headers)


def abort(status: int, message: str, **kwargs: Any) -> Abort:
    """An :class:`Abort` carrying :func:`api_error`; ``raise abort(...)`` in handlers."""
    return Abort(api_error(status, message, **kwargs))


def not_found(message: str = "Requested entity was not found.") -> Abort:
    return abort(404, message, reason="notFound")


def bad_request(message: str, *, reason: str = "invalidArgument") -> Abort:
    return abort(400, message, reason=reason)


def failed_precondition(message: str) -> Abort:
    return abort(400, message, reason="failedPrecondition")


def unauthenticated(*, missing: bool) -> Abort:
    """401 for no bearer token (``required``) or a bad/expired/revoked one (``authError``)."""
    if missing:
        return abort(
            401,
            MISSING_CREDENTIALS,
            reason="required",
            detail_message="Login Required.",
            location="Authorization",
            location_type="header",
            headers=[("WWW-Authenticate", AUTH_REALM)],
        )
    return abort(
        401,
        INVALID_CREDENTIALS,
        reason="authError",
        detail_message="Invalid Credentials",
        location="Authorization",
        location_type="header",
        headers=[("WWW-Authenticate", f'{AUTH_REALM}, error="invalid_token"')],
    )


def insufficient_scopes(*, service: str, method: str, required: list[str]) -> Abort:
    """403 when the token lacks every scope the method accepts (Google's exact shape)."""
    scope_list = " ".join(required)
    return abort(
        403,
        "Request had insufficient authentication scopes.",
        reason="insufficientPermissions",
        detail_message="Insufficient Permission",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                "domain": "googleapis.com",
                "metadata": {"service": service, "method": method},
            }
        ],
        headers=[
            ("WWW-Authenticate", f'{AUTH_REALM}, error="insufficient_scope", scope="{scope_list}"')
        ],
    )


def invalid_json(problem: str) -> Abort:
    return bad_request(f"Invalid JSON payload received. {problem}")

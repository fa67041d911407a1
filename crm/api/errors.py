"""One error body everywhere: ``{"error", "code", "statusCode", "details"}``."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from crm.tenancy import NoOrganizationContext

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """A domain error with its own code, raised by views and services, rendered once here."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "InvalidRequest",
        status_code: int = status.HTTP_400_BAD_REQUEST,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.details = details or {}
        self.headers = headers or {}
        # Some failures are facts to keep (a connection found expired), not work to undo.
        self.keep_changes = keep_changes


class NotFoundError(ApiError):
    def __init__(self, what: str = "Resource", *, details: dict[str, Any] | None = None) -> None:
        code = f"{what.replace(' ', '')}NotFound" if what != "Resource" else "NotFound"
        super().__init__(f"{what} not found", code=code, status_code=404, details=details)


_CODES: list[tuple[type[Exception], str]] = [
    (exceptions.ParseError, "InvalidRequest"),
    (exceptions.ValidationError, "InvalidRequest"),
    (exceptions.NotAuthenticated, "AuthenticationRequired"),
    (exceptions.AuthenticationFailed, "AuthenticationRequired"),
    (exceptions.PermissionDenied, "Forbidden"),
    (exceptions.NotFound, "NotFound"),
    (exceptions.MethodNotAllowed, "MethodNotAllowed"),
    (exceptions.NotAcceptable, "NotAcceptable"),
    (exceptions.UnsupportedMediaType, "UnsupportedMediaType"),
    (exceptions.Throttled, "RateLimitExceeded"),
]


def error_body(message: str, code: str, status_code: int, details: Any = None) -> dict[str, Any]:
    return {"error": message, "code": code, "statusCode": status_code, "details": details or {}}


def _message(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "The request is not valid."
    if isinstance(exc, exceptions.ParseError):
        return f"Malformed request body: {exc.detail}"
    if isinstance(exc, exceptions.Throttled):
        return "Too many requests; retry after the time in the Retry-After header."
    return str(exc.detail)


def _details(exc: exceptions.APIException) -> Any:
    if isinstance(exc, ApiError):
        return exc.details
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        return detail if isinstance(detail, dict) else {"non_field_errors": detail}
    if isinstance(exc, exceptions.Throttled):
        return {"retryAfter": getattr(exc, "wait", None)}
    return {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every error in the one body, and the transaction rolled back."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, NoOrganizationContext):
        exc = exceptions.PermissionDenied("No organization is selected.")

    keep = isinstance(exc, ApiError) and exc.keep_changes
    if transaction.get_connection().in_atomic_block and not keep:
        transaction.set_rollback(True)

    if not isinstance(exc, exceptions.APIException):
        logger.exception("Unhandled error in API view", exc_info=exc)
        body = error_body("Internal server error", "InternalError", 500)
        return Response(body, status=500)

    code = exc.error_code if isinstance(exc, ApiError) else "InvalidRequest"
    if not isinstance(exc, ApiError):
        for cls, name in _CODES:
            if isinstance(exc, cls):
                code = name
                break
    headers: dict[str, str] = dict(exc.headers) if isinstance(exc, ApiError) else {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    body = error_body(_message(exc), code, exc.status_code, _details(exc))
    return Response(body, status=exc.status_code, headers=headers)


def json_error(request: HttpRequest, message: str, code: str, status_code: int) -> JsonResponse:
    return JsonResponse(error_body(message, code, status_code), status=status_code)

"""Calendar v3 errors: Google's JSON error body (built by ``errors.api_error``) as an exception.

Calendar keeps v3's terse wording ("Not Found", "Bad Request") and its own reasons
(``timeRangeEmpty``, ``fullSyncRequired`` in domain ``calendar``...); clients branch on them.
"""

from __future__ import annotations

from typing import Any

from integrations.sandbox.google.errors import api_error
from integrations.sandbox.http import Abort


class CalendarError(Abort):
    """Raised anywhere in the Calendar emulation; the server answers with Google's error body."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        location: str | None = None,
        location_type: str | None = None,
    ) -> None:
        super().__init__(
            api_error(
                status,
                message,
                reason=reason,
                domain=domain,
                location=location,
                location_type=location_type,
            )
        )
        self.status = status
        self.reason = reason
        self.message = message


def bad_request(
    message: str = "Bad Request", reason: str = "badRequest", **kwargs: Any
) -> CalendarError:
    return CalendarError(400, reason, message, **kwargs)


def invalid_parameter(name: str, message: str | None = None) -> CalendarError:
    """Google's answer to a malformed query parameter value."""
    return CalendarError(400, "invalid", message or "Invalid Value", location=name)


def required(message: str, location: str | None = None) -> CalendarError:
    return CalendarError(400, "required", message, location=location)


def not_found() -> CalendarError:
    return CalendarError(404, "notFound", "Not Found")


def gone_deleted() -> CalendarError:
    """Deleting an event that is already deleted."""
    return CalendarError(410, "deleted", "Resource has been deleted")


def full_sync_required() -> CalendarError:
    return CalendarError(
        410,
        "fullSyncRequired",
        "Sync token is no longer valid, a full sync is required.",
        domain="calendar",
    )

"""What every control route (``/_sandbox/...``, generic or a provider's) shares: the error shape
``{"error": {"code", "message"}}`` and reading the JSON body and its fields.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from integrations.sandbox.http import Abort, Request, Response

_HEADER_LINE = re.compile(r"[!-9;-~]+:")


def control_error(status: int, message: str) -> Abort:
    """``raise control_error(404, "no user x")``: the control API's error answer."""
    return Abort(Response.json({"error": {"code": status, "message": message}}, status=status))


def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; no body is ``{}``; anything else is a 400."""
    try:
        data = request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise control_error(400, f"body is not JSON: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise control_error(400, "body must be a JSON object")
    return data


def text_field(data: dict[str, Any], key: str, *, required: bool = True) -> str:
    """``data[key]`` stripped; a 400 unless it is a non-empty string (or absent and optional)."""
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise control_error(400, f"{key} must be a non-empty string")
    return value.strip()


def raw_message(value: Any) -> bytes:
    """A message source given as RFC 5322 text (it starts with a header line) or as base64
    (URL-safe or standard alphabet, padding optional), as the ``raw`` of delivery routes."""
    if not isinstance(value, str) or not value.strip():
        raise control_error(400, "raw must be RFC 5322 text or base64url")
    if _HEADER_LINE.match(value):
        return value.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    cleaned = value.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise control_error(400, "raw is neither RFC 5322 text nor base64url") from None

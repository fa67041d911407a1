"""Conference data: Google Meet links created through ``conferenceData.createRequest``.

Google only reads ``conferenceData`` when the request says ``conferenceDataVersion=1``; with the
default 0 the body's conference data is ignored and whatever the event had is kept. A create
request is idempotent per ``requestId``: sending the same one again keeps the same meeting.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from integrations.sandbox.google.calendar_errors import bad_request, required

MEET_ICON = (
    "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/"
    "logo_meet_2020q4_color_2x_web_512dp.png"
)
# A consumer or Workspace primary calendar allows Meet only (calendar conferenceProperties).
ALLOWED_SOLUTION_TYPES = ("hangoutsMeet",)


def meet_code(seed: str) -> str:
    """A Meet meeting code, ``xxx-xxxx-xxx`` in lower-case letters, stable for ``seed``."""
    digest = hashlib.sha256(seed.encode()).digest()
    letters = "".join(chr(ord("a") + b % 26) for b in digest[:10])
    return f"{letters[:3]}-{letters[3:7]}-{letters[7:10]}"


def _digits(seed: str, count: int) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return "".join(str(int(ch, 16) % 10) for ch in digest[:count])


def meet_conference(code: str, create_request: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``conferenceData`` Google returns for a Meet conference."""
    pin = _digits(code, 13)
    phone_pin = _digits(code + "phone", 9)
    phone = f"+1 555-01{_digits(code + 'tel', 2)}"
    data: dict[str, Any] = {}
    if create_request is not None:
        data["createRequest"] = {
            "requestId": create_request["requestId"],
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
            "status": {"statusCode": "success"},
        }
    data["entryPoints"] = [
        {
            "entryPointType": "video",
            "uri": f"https://meet.google.com/{code}",
            "label": f"meet.google.com/{code}",
        },
        {"entryPointType": "more", "uri": f"https://tel.meet/{code}?pin={pin}", "pin": pin},
        {
            "entryPointType": "phone",
            "uri": "tel:" + phone.replace(" ", "-"),
            "label": phone,
            "pin": phone_pin,
            "regionCode": "US",
        },
    ]
    data["conferenceSolution"] = {
        "key": {"type": "hangoutsMeet"},
        "name": "Google Meet",
        "iconUri": MEET_ICON,
    }
    data["conferenceId"] = code
    return data


def _video_uri(conference: dict[str, Any]) -> str | None:
    for entry in conference.get("entryPoints", []):
        if isinstance(entry, dict) and entry.get("entryPointType") == "video":
            return entry.get("uri")
    return None


def _created(event_id: str, create: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
    if (
        not isinstance(create, dict)
        or not isinstance(create.get("requestId"), str)
        or not (create["requestId"])
    ):
        raise required("Missing conference create request id.")
    key = create.get("conferenceSolutionKey")
    solution_type = key.get("type") if isinstance(key, dict) else None
    if solution_type not in ALLOWED_SOLUTION_TYPES:
        raise bad_request("Invalid conference type value.", reason="invalid")
    previous = (existing or {}).get("conferenceData") or {}
    if previous.get("createRequest", {}).get("requestId") == create["requestId"]:
        return copy.deepcopy(previous)
    return meet_conference(meet_code(f"{event_id}/{create['requestId']}"), create)


def apply_conference(
    event: dict[str, Any],
    body: dict[str, Any],
    existing: dict[str, Any] | None,
    *,
    version: int,
    trusted: bool = False,
) -> None:
    """Set ``conferenceData``/``hangoutLink`` on ``event`` as Google would for this request."""
    if version == 0 and not trusted:
        for key in ("hangoutLink", "conferenceData"):
            if existing and key in existing:
                event[key] = copy.deepcopy(existing[key])
        return
    conference = body.get("conferenceData")
    if conference is None:
        return
    if not isinstance(conference, dict):
        raise bad_request("Invalid conference data.", reason="invalid")
    if conference.get("createRequest") is not None:
        result = _created(event["id"], conference["createRequest"], existing)
    else:
        if not conference.get("conferenceSolution") and not conference.get("entryPoints"):
            raise bad_request("Invalid conference data.", reason="invalid")
        result = copy.deepcopy(conference)
    event["conferenceData"] = result
    solution = result.get("conferenceSolution", {}).get("key", {}).get("type")
    link = _video_uri(result)
    if solution == "hangoutsMeet" and link:
        event["hangoutLink"] = link

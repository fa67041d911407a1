"""users.getProfile, users.watch and users.stop.

``watch`` needs a Pub/Sub topic ``projects/<project>/topics/<topic>`` that exists: in the sandbox
a topic exists once a push endpoint is registered for it (``POST /_sandbox/google/push-endpoints``),
otherwise the call answers 404 as Pub/Sub does for a missing topic. A watch lasts 7 days
(``expiration`` in epoch ms) and a new ``watch`` call replaces the old one, as in Gmail.
"""

from __future__ import annotations

import re
from typing import Any

from integrations.sandbox.google.errors import bad_request, not_found
from integrations.sandbox.google.gmail_common import GmailCall, gmail_route
from integrations.sandbox.google.gmail_store import Watch
from integrations.sandbox.http import Response

WATCH_SECONDS = 7 * 24 * 3600
TOPIC = re.compile(r"projects/[^/]+/topics/(?P<topic>[^/]+)")


@gmail_route("GET", "/profile", name="gmail.users.getProfile")
def get_profile(call: GmailCall) -> dict[str, Any]:
    mailbox = call.mailbox
    return {
        "emailAddress": call.user.email,
        "messagesTotal": len(mailbox.messages),
        "threadsTotal": len(mailbox.threads),
        "historyId": str(mailbox.history_id),
    }


@gmail_route("POST", "/watch", name="gmail.users.watch")
def watch(call: GmailCall) -> dict[str, Any]:
    body = call.json_body({"topicName", "labelIds", "labelFilterAction", "labelFilterBehavior"})
    topic = body.get("topicName")
    if not isinstance(topic, str) or not topic:
        raise bad_request("Invalid topicName")
    found = TOPIC.fullmatch(topic)
    if not found:
        raise bad_request("Invalid topicName does not match projects/SOME-PROJECT/topics/*")
    if topic not in call.sandbox.google.push_endpoints:
        raise not_found(f"Resource not found (resource={found.group('topic')}).")
    label_ids = body.get("labelIds") or []
    if not isinstance(label_ids, list) or not all(isinstance(x, str) for x in label_ids):
        raise bad_request("Invalid value at 'label_ids'")
    # labelFilterBehavior replaces the deprecated labelFilterAction; both default to include.
    action = body.get("labelFilterBehavior") or body.get("labelFilterAction") or "include"
    if action not in ("include", "exclude"):
        raise bad_request(f"Invalid value at 'label_filter_behavior': \"{action}\"")
    expiration = int((call.now() + WATCH_SECONDS) * 1000)
    mailbox = call.mailbox
    mailbox.watch = Watch(
        topic_name=topic, label_ids=label_ids, action=action, expiration_ms=expiration
    )
    return {"historyId": str(mailbox.history_id), "expiration": str(expiration)}


@gmail_route("POST", "/stop", name="gmail.users.stop")
def stop(call: GmailCall) -> Response:
    call.mailbox.watch = None
    return Response.empty()

"""Gmail ``watch`` notifications, delivered like a Cloud Pub/Sub push subscription.

After a request changes a watched mailbox, the sandbox POSTs to the push endpoint registered
for the watch's topic (``POST /_sandbox/google/push-endpoints``) the body Pub/Sub sends::

    {"message": {"data": base64({"emailAddress": ..., "historyId": 1234}),
                 "messageId": "...", "message_id": "...",
                 "publishTime": "...", "publish_time": "..."},
     "subscription": "projects/.../subscriptions/..."}

with ``Authorization: Bearer <OIDC JWT>`` signed by the sandbox's Google key (JWKS at
``/google/oauth2/v3/certs``), ``aud`` = the endpoint's audience. Like Gmail, one request yields
at most one notification per mailbox, ``historyId`` is the mailbox's *current* id (a number), and
a watch with ``labelIds`` only fires for changes to messages carrying (``include``) or not
carrying (``exclude``) those labels.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from integrations.sandbox.google.gmail_store import HistoryRecord, Watch
from integrations.sandbox.google.state import GoogleState, PushEndpoint

PUSH_TOKEN_SECONDS = 3600


def _rfc3339_ms(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _concerns(watch: Watch, record: HistoryRecord) -> bool:
    if not watch.label_ids:
        return True
    touched = set(record.label_ids) | set(record.changed)
    hit = bool(touched & set(watch.label_ids))
    return hit if watch.action == "include" else not hit


def publish_pending(sandbox: Any, base_url: str) -> None:
    """Announce every mailbox changed since the last call to its watch, if any. Lock held."""
    state: GoogleState = sandbox.google
    now = sandbox.now()
    for user in state.users.values():
        box = user.mailbox
        if not box.unpublished:
            continue
        records, box.unpublished = box.unpublished, []
        watch = box.watch
        if watch is None or watch.expiration_ms <= now.timestamp() * 1000:
            continue
        endpoint = state.push_endpoints.get(watch.topic_name)
        if endpoint is None or not any(_concerns(watch, record) for record in records):
            continue
        data = {"emailAddress": user.email, "historyId": box.history_id}
        body = push_body(endpoint, data, now)
        token = push_token(state, endpoint, base_url, now)
        sandbox.notify(
            endpoint.push_endpoint, headers={"Authorization": f"Bearer {token}"}, body=body
        )


def push_body(endpoint: PushEndpoint, data: dict[str, Any], now: Any) -> dict[str, Any]:
    message_id = str(secrets.randbelow(10**16) + 10**15)
    published = _rfc3339_ms(now)
    encoded = base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    return {
        "message": {
            "data": encoded,
            "messageId": message_id,
            "message_id": message_id,
            "publishTime": published,
            "publish_time": published,
        },
        "subscription": endpoint.subscription,
    }


def push_token(state: GoogleState, endpoint: PushEndpoint, base_url: str, now: Any) -> str:
    """The OIDC token Pub/Sub attaches for the push subscription's service account."""
    issued = int(now.timestamp())
    subject = str(int.from_bytes(endpoint.service_account_email.encode()[:8], "big"))
    return state.signing_key.sign(
        {
            "iss": f"{base_url}/google",
            "aud": endpoint.audience,
            "azp": subject,
            "sub": subject,
            "email": endpoint.service_account_email,
            "email_verified": True,
            "iat": issued,
            "exp": issued + PUSH_TOKEN_SECONDS,
        }
    )

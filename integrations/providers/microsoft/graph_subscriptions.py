"""Graph change notifications on a mailbox's messages: create, renew, delete a subscription, and
read the notifications Graph POSTs.

One subscription on ``me/messages`` (``users/{address}/messages`` for a shared mailbox) covers
every folder, so moves to Archive and deletions notify as well as new mail. Graph caps mail
subscriptions at 10,080 minutes; Liaison asks for three days and renews daily. Creating one makes
Graph POST ``?validationToken=…`` to the notification URL and wait up to 10 s for the token back
as text/plain, so the webhook must be reachable (over HTTPS) while ``subscription_create`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from integrations.providers.base import ProviderError
from integrations.providers.mail import DriverContext
from integrations.providers.microsoft.graph import GraphClient, GraphError, GraphResult
from integrations.providers.microsoft.graph_mail import mailbox_path
from integrations.providers.microsoft.graph_mail_parse import parse_datetime

SUBSCRIPTION_LIFETIME = timedelta(days=3)
MAX_LIFETIME = timedelta(minutes=10080)  # Graph's limit for Outlook messages
CHANGE_TYPES = "created,updated,deleted"


@dataclass(frozen=True)
class GraphSubscription:
    id: str
    expires_at: datetime  # aware UTC


@dataclass(frozen=True)
class GraphNotification:
    """One item of a notification POST: a change, or a lifecycle event (``lifecycle_event``)."""

    subscription_id: str
    client_state: str
    change_type: str = ""
    lifecycle_event: str = ""  # reauthorizationRequired | subscriptionRemoved | missed


class SubscriptionGone(ProviderError):
    """Graph no longer knows the subscription (expired or removed): create a new one."""

    def __init__(self) -> None:
        super().__init__("The Graph subscription no longer exists.", code="SubscriptionGone")


def _client(ctx: DriverContext, client: GraphClient | None) -> GraphClient:
    return client or GraphClient(token=ctx.token, renew=ctx.renew)


def _expiration(lifetime: timedelta) -> str:
    moment = datetime.now(UTC) + min(lifetime, MAX_LIFETIME - timedelta(minutes=5))
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _subscription(result: GraphResult) -> GraphSubscription:
    if result.status == 404:
        raise SubscriptionGone()
    result.raise_for_error()
    body = result.body if isinstance(result.body, dict) else {}
    expires_at = parse_datetime(body.get("expirationDateTime"))
    if not body.get("id") or expires_at is None:
        raise ProviderError("Microsoft Graph sent a malformed subscription.")
    return GraphSubscription(id=str(body["id"]), expires_at=expires_at)


def subscription_create(
    ctx: DriverContext,
    *,
    notification_url: str,
    client_state: str,
    lifetime: timedelta = SUBSCRIPTION_LIFETIME,
    client: GraphClient | None = None,
) -> GraphSubscription:
    """A new subscription on the mailbox's messages; lifecycle events go to the same URL.

    Raises GraphError (e.g. ``ValidationError`` when the webhook did not answer the handshake),
    ProviderThrottled / ProviderUnavailable once retries are spent, InvalidGrant.
    """
    body = {
        "changeType": CHANGE_TYPES,
        "notificationUrl": notification_url,
        "lifecycleNotificationUrl": notification_url,
        "resource": f"{mailbox_path(ctx).lstrip('/')}/messages",
        "expirationDateTime": _expiration(lifetime),
        "clientState": client_state,
    }
    result = _client(ctx, client).send(
        "/subscriptions", method="POST", body=body, what="Graph subscription create"
    )
    if result.status == 404:  # the mailbox, not the subscription, is what is missing
        result.raise_for_error()
    return _subscription(result)


def subscription_renew(
    ctx: DriverContext,
    *,
    subscription_id: str,
    lifetime: timedelta = SUBSCRIPTION_LIFETIME,
    client: GraphClient | None = None,
) -> GraphSubscription:
    """Push the expiry out again; SubscriptionGone when Graph forgot the subscription."""
    result = _client(ctx, client).send(
        f"/subscriptions/{quote(subscription_id, safe='')}",
        method="PATCH",
        body={"expirationDateTime": _expiration(lifetime)},
        what="Graph subscription renew",
    )
    return _subscription(result)


def subscription_delete(
    ctx: DriverContext, *, subscription_id: str, client: GraphClient | None = None
) -> None:
    """Delete the subscription; one Graph no longer knows is already what was asked for."""
    result = _client(ctx, client).send(
        f"/subscriptions/{quote(subscription_id, safe='')}",
        method="DELETE",
        what="Graph subscription delete",
    )
    if result.status != 404:
        result.raise_for_error()


def notifications_parse(body: Any) -> list[GraphNotification]:
    """The items of a notification POST (``{"value": [...]}``); ValueError for another shape.
    Items without a subscription id are left out."""
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ValueError("a Graph notification body is {'value': [...]}")
    found: list[GraphNotification] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("subscriptionId"), str):
            continue
        found.append(
            GraphNotification(
                subscription_id=item["subscriptionId"],
                client_state=str(item.get("clientState") or ""),
                change_type=str(item.get("changeType") or ""),
                lifecycle_event=str(item.get("lifecycleEvent") or ""),
            )
        )
    return found


__all__ = [
    "GraphError",
    "GraphNotification",
    "GraphSubscription",
    "SubscriptionGone",
    "notifications_parse",
    "subscription_create",
    "subscription_delete",
    "subscription_renew",
]

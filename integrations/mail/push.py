"""Push: Gmail watches and Graph subscriptions that start an incremental sync at once.

Polling stays the safety net (hourly while a channel is live, see ``scheduler.poll_interval``),
so a channel that cannot be started or renewed is logged and left to the poller.

A mailbox's channel is ``push_channel_id`` (Gmail: the Pub/Sub topic; Graph: the subscription
id), ``push_secret`` (Graph's clientState; empty for Gmail, whose pushes carry a signed token)
and ``push_expires_at``.

The functions that call a provider (enable, renew, refresh, disable) run in the mailbox's
organization context and never inside a transaction: creating a Graph subscription makes
Microsoft call the webhook back before it answers, and that request needs the database (on
SQLite, its write lock).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from crm.tasks import enqueue
from crm.tenancy import all_tenants, tenant_atomic
from integrations.connections.models import ConnectionStatus
from integrations.connections.services import (
    ConnectionUnusable,
)
from integrations.mail.models import Mailbox, RunTrigger, SyncRun, SyncState
from integrations.mail.services import SyncAlreadyRunning, sync_request
from integrations.mail.sync.drivers import mailbox_driver_context
from integrations.providers.base import ProviderError
from integrations.providers.google.gmail_watch import gmail_watch_start, gmail_watch_stop
from integrations.providers.google.push_tokens import push_token_verify
from integrations.providers.mail import DriverContext
from integrations.providers.microsoft.graph_subscriptions import (
    SUBSCRIPTION_LIFETIME,
    GraphNotification,
    SubscriptionGone,
    subscription_create,
    subscription_delete,
    subscription_renew,
)

logger = logging.getLogger(__name__)

# How long a channel lives once (re)started: Gmail's watch 7 days, our Graph subscriptions 3.
CHANNEL_LIFETIME = {"google": timedelta(days=7), "microsoft": SUBSCRIPTION_LIFETIME}
RENEW_EVERY = timedelta(days=1)  # Google asks for a daily watch; Graph's we renew as often
WEBHOOK_URL_NAMES = {"google": "webhook-google", "microsoft": "webhook-microsoft"}
PUSH_ERRORS = (ProviderError, ConnectionUnusable)
TRUE = {"1", "true", "yes", "on"}


# -- configuration ---------------------------------------------------------------------------


def push_provider_enabled(provider: str) -> bool:
    """Gmail push needs a Pub/Sub topic; Graph push is switched on by MICROSOFT_PUSH_ENABLED."""
    if provider == "google":
        return bool(settings.GOOGLE_PUBSUB_TOPIC)
    if provider == "microsoft":
        value: Any = settings.MICROSOFT_PUSH_ENABLED  # a bool, or "true" when set as a string
        return value is True or str(value).strip().lower() in TRUE
    return False


def push_webhook_url(provider: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(WEBHOOK_URL_NAMES[provider])


def gmail_push_token_verify(token: str) -> dict[str, Any]:
    """The claims of a Pub/Sub push token; PushTokenInvalid / PushKeysUnavailable otherwise.
    The audience defaults to the webhook URL, as Pub/Sub's does."""
    return push_token_verify(
        token,
        jwks_url=settings.GOOGLE_PUSH_JWKS_URL,
        audience=settings.GOOGLE_PUSH_AUDIENCE or push_webhook_url("google"),
        issuer=settings.GOOGLE_PUSH_ISSUER,
        service_account=settings.GOOGLE_PUSH_SERVICE_ACCOUNT,
    )


# -- notifications ---------------------------------------------------------------------------


def _syncing(mailbox: Mailbox) -> bool:
    return (
        mailbox.sync_enabled
        and mailbox.read_enabled
        and mailbox.connection.status == ConnectionStatus.CONNECTED
    )


def push_notify(*, mailbox: Mailbox) -> SyncRun | None:
    """An incremental sync now (trigger PUSH). While a run is going or the mailbox is throttled,
    the poller is told to sync again as soon as it may, instead of after its hourly wait."""
    if not _syncing(mailbox):
        return None
    now = timezone.now()
    if mailbox.throttled_until is None or mailbox.throttled_until <= now:
        try:
            return sync_request(mailbox=mailbox, trigger=RunTrigger.PUSH)
        except SyncAlreadyRunning:
            pass
    Mailbox.objects.filter(pk=mailbox.pk).update(next_sync_at=now)
    return None


def gmail_push_receive(*, email_address: str) -> int:
    """Notify every Google mailbox with this address, in whichever organization (one person can
    be in several); the number of mailboxes found."""
    with all_tenants():
        mailboxes = list(
            Mailbox.objects.unscoped()
            .select_related("organization", "connection")
            .filter(provider="google", address__iexact=email_address)
        )
    if not mailboxes:
        logger.info("Gmail push for %s, which no mailbox syncs", email_address)
    for mailbox in mailboxes:
        with tenant_atomic(mailbox.organization):
            push_notify(mailbox=mailbox)
    return len(mailboxes)


def graph_push_receive(*, notifications: Sequence[GraphNotification]) -> int:
    """Act on each notification whose clientState is its subscription's secret; the others are
    logged and ignored. Lifecycle events renew or re-create the subscription (in a task: Graph
    wants its answer within seconds). The number of notifications acted on."""
    ids = {n.subscription_id for n in notifications}
    with all_tenants():
        mailboxes = {
            m.push_channel_id: m
            for m in Mailbox.objects.unscoped()
            .select_related("organization", "connection")
            .filter(provider="microsoft", push_channel_id__in=ids)
            .exclude(push_channel_id="")
        }
    accepted = 0
    changed: dict[int, Mailbox] = {}
    for item in notifications:
        mailbox = mailboxes.get(item.subscription_id)
        if mailbox is None:
            logger.warning(
                "ignored Graph notification: unknown subscription %s", item.subscription_id
            )
            continue
        if not mailbox.push_secret or not hmac.compare_digest(
            item.client_state.encode(), mailbox.push_secret.encode()
        ):
            logger.warning(
                "ignored Graph notification for subscription %s: wrong clientState",
                item.subscription_id,
            )
            continue
        accepted += 1
        if item.lifecycle_event in ("reauthorizationRequired", "subscriptionRemoved"):
            _refresh_later(mailbox, recreate=item.lifecycle_event == "subscriptionRemoved")
        if item.lifecycle_event != "reauthorizationRequired":  # changes, missed, removed
            changed[mailbox.pk] = mailbox
    for mailbox in changed.values():
        with tenant_atomic(mailbox.organization):
            push_notify(mailbox=mailbox)
    return accepted


def _refresh_later(mailbox: Mailbox, *, recreate: bool) -> None:
    from integrations.mail.tasks_push import mailbox_push_refresh_task

    with tenant_atomic(mailbox.organization):
        enqueue(mailbox_push_refresh_task, mailbox.organization, mailbox.pk, recreate)


# -- channels --------------------------------------------------------------------------------


# Push channels reach the provider exactly as the sync drivers do.
push_context = mailbox_driver_context


def _channel_save(
    mailbox: Mailbox, *, channel_id: str, secret: str, expires_at: datetime | None
) -> None:
    fields = {"push_channel_id": channel_id, "push_secret": secret, "push_expires_at": expires_at}
    Mailbox.objects.filter(pk=mailbox.pk).update(**fields, updated_at=timezone.now())
    for name, value in fields.items():
        setattr(mailbox, name, value)


def _why(exc: Exception) -> str:
    return exc.user_message if isinstance(exc, ProviderError) else str(exc)


def _channel_live(mailbox: Mailbox, now: datetime) -> bool:
    expires_at = mailbox.push_expires_at
    return bool(mailbox.push_channel_id) and expires_at is not None and expires_at > now


def push_enable(*, mailbox: Mailbox) -> bool:
    """Start a channel for the mailbox, replacing the one it has. False when push is off for its
    provider or the provider refused (logged): polling carries on either way."""
    if not push_provider_enabled(mailbox.provider):
        return False
    ctx = push_context(mailbox)
    try:
        if mailbox.provider == "google":
            topic = settings.GOOGLE_PUBSUB_TOPIC
            watch = gmail_watch_start(ctx, topic_name=topic)
            _channel_save(mailbox, channel_id=topic, secret="", expires_at=watch.expires_at)
            return True
        previous = mailbox.push_channel_id
        secret = secrets.token_urlsafe(32)  # Graph's clientState: at most 128 characters
        subscription = subscription_create(
            ctx, notification_url=push_webhook_url("microsoft"), client_state=secret
        )
    except PUSH_ERRORS as exc:
        logger.warning(
            "push for mailbox %s (%s) could not start: %s", mailbox.pk, mailbox.provider, _why(exc)
        )
        return False
    _channel_save(
        mailbox, channel_id=subscription.id, secret=secret, expires_at=subscription.expires_at
    )
    if previous and previous != subscription.id:
        _subscription_forget(mailbox, ctx, previous)
    return True


def _subscription_forget(mailbox: Mailbox, ctx: DriverContext, subscription_id: str) -> None:
    try:
        subscription_delete(ctx, subscription_id=subscription_id)
    except PUSH_ERRORS as exc:  # it expires on its own; its notifications are ignored meanwhile
        logger.info(
            "Graph subscription %s of mailbox %s stays: %s", subscription_id, mailbox.pk, _why(exc)
        )


def push_renew(*, mailbox: Mailbox) -> bool:
    """Keep the channel alive: Gmail watches again, Graph extends the subscription (or gets a
    new one when it forgot it). Without a live channel, one is started."""
    if mailbox.provider == "google" or not _channel_live(mailbox, timezone.now()):
        return push_enable(mailbox=mailbox)
    try:
        subscription = subscription_renew(
            push_context(mailbox), subscription_id=mailbox.push_channel_id
        )
    except SubscriptionGone:
        return push_enable(mailbox=mailbox)
    except PUSH_ERRORS as exc:
        logger.warning("push for mailbox %s could not be renewed: %s", mailbox.pk, _why(exc))
        return False
    _channel_save(
        mailbox,
        channel_id=subscription.id,
        secret=mailbox.push_secret,
        expires_at=subscription.expires_at,
    )
    return True


def _gmail_watch_shared(mailbox: Mailbox) -> bool:
    """Gmail keeps one watch per address: another organization's mailbox may still use it."""
    with all_tenants():
        return (
            Mailbox.objects.unscoped()
            .filter(
                provider="google",
                address__iexact=mailbox.address,
                push_expires_at__gt=timezone.now(),
            )
            .exclude(push_channel_id="")
            .exclude(pk=mailbox.pk)
            .exists()
        )


def push_disable(*, mailbox: Mailbox) -> None:
    """Stop the channel at the provider (best effort: it expires anyway) and forget it."""
    if not mailbox.push_channel_id and mailbox.push_expires_at is None:
        return
    ctx = push_context(mailbox)
    try:
        if mailbox.provider == "microsoft" and mailbox.push_channel_id:
            subscription_delete(ctx, subscription_id=mailbox.push_channel_id)
        elif mailbox.provider == "google" and not _gmail_watch_shared(mailbox):
            gmail_watch_stop(ctx)
    except PUSH_ERRORS as exc:
        logger.info("push for mailbox %s stopped here only: %s", mailbox.pk, _why(exc))
    _channel_save(mailbox, channel_id="", secret="", expires_at=None)


def push_refresh(*, mailbox: Mailbox, recreate: bool = False) -> bool:
    """Whatever the channel needs now: stopped when the mailbox no longer syncs or push is off
    for its provider, re-created after Graph removed it, otherwise renewed (or started)."""
    if not (push_provider_enabled(mailbox.provider) and _syncing(mailbox)):
        push_disable(mailbox=mailbox)
        return False
    return push_enable(mailbox=mailbox) if recreate else push_renew(mailbox=mailbox)


# -- beat ------------------------------------------------------------------------------------


def _renewal_due(now: datetime) -> Q:
    """No channel, one started over a day ago, or (Gmail) one on another topic than the set one."""
    due = Q(push_channel_id="") | Q(push_expires_at__isnull=True)
    for provider, lifetime in CHANNEL_LIFETIME.items():
        due |= Q(provider=provider, push_expires_at__lte=now + lifetime - RENEW_EVERY)
    return due | (Q(provider="google") & ~Q(push_channel_id=settings.GOOGLE_PUBSUB_TOPIC))


def push_renew_due() -> int:
    """Queue a refresh for every mailbox whose channel is a day old or gone while it syncs fine
    (one that has synced at least once and is not failing), and for every channel that should
    stop (sync turned off, connection lost, push switched off). The number queued."""
    from integrations.mail.tasks_push import mailbox_push_refresh_task

    now = timezone.now()
    providers = [p for p in CHANNEL_LIFETIME if push_provider_enabled(p)]
    syncing = Q(
        provider__in=providers,
        sync_enabled=True,
        read_enabled=True,
        connection__status=ConnectionStatus.CONNECTED,
    )
    with all_tenants():
        due = list(
            Mailbox.objects.unscoped()
            .filter(syncing, _renewal_due(now), last_synced_at__isnull=False)
            .exclude(sync_state__in=[SyncState.ERROR, SyncState.PAUSED])
            .only("pk", "organization_id")
        )
        due += (
            Mailbox.objects.unscoped()
            .exclude(syncing)
            .exclude(push_channel_id="")
            .only("pk", "organization_id")
        )
    for mailbox in due:
        mailbox_push_refresh_task.delay(mailbox.organization_id, mailbox.pk)
    return len(due)


__all__ = [
    "gmail_push_receive",
    "gmail_push_token_verify",
    "graph_push_receive",
    "push_context",
    "push_disable",
    "push_enable",
    "push_notify",
    "push_refresh",
    "push_renew",
    "push_renew_due",
    "push_webhook_url",
]

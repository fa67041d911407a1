"""Push end to end against the sandbox: channels start, renew and stop at the provider, and a
message delivered there reaches Liaison's webhook (served by ``live_server``) as a PUSH sync.
The engine itself stays out: queued tasks are captured, not run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from integrations.mail.models import Mailbox, RunTrigger, SyncRun
from integrations.mail.push import (
    push_context,
    push_disable,
    push_enable,
    push_notify,
    push_renew_due,
)
from integrations.mail.sync.lease import run_open
from integrations.mail.tasks_push import mailbox_push_refresh_task
from integrations.providers.microsoft.graph_subscriptions import subscription_delete
from tests.conftest import Tenant
from tests.connections.conftest import GOOGLE_USER, MICROSOFT_USER, Providers
from tests.mail.push.support import (
    Queued,
    push_runs,
    reloaded,
    rfc822,
    wait_for,
)
from tests.sync.harness import google_mailbox, microsoft_mailbox

pytestmark = pytest.mark.django_db(transaction=True)


def gmail(tenant: Tenant, providers: Providers, **fields: Any) -> Mailbox:
    return google_mailbox(tenant, providers.sandbox, GOOGLE_USER, **fields)


def outlook(tenant: Tenant, providers: Providers, **fields: Any) -> Mailbox:
    return microsoft_mailbox(
        tenant, providers.sandbox, MICROSOFT_USER, providers.microsoft_tenant_id, **fields
    )


def enable(tenant: Tenant, mailbox: Mailbox) -> Mailbox:
    with tenant.scope():
        assert push_enable(mailbox=mailbox)
    return reloaded(tenant, mailbox)


def close_to(moment: Any, expected: Any) -> bool:
    return abs(moment - expected) < timedelta(minutes=10)


def calls(providers: Providers, route: str) -> int:
    return len(providers.sandbox.requests_log(route=route))


def refresh(tenant: Tenant, mailbox: Mailbox, *, recreate: bool = False) -> Mailbox:
    assert mailbox_push_refresh_task(tenant.organization.pk, mailbox.pk, recreate)
    return reloaded(tenant, mailbox)


# -- from the provider to a queued sync ------------------------------------------------------


def test_mail_delivered_to_a_watched_gmail_mailbox_queues_a_push_sync(
    org_a: Tenant, providers: Providers, site: str, queued: Queued, settings: Any
) -> None:
    mailbox = enable(org_a, gmail(org_a, providers))
    assert mailbox.push_channel_id == settings.GOOGLE_PUBSUB_TOPIC
    assert close_to(mailbox.push_expires_at, timezone.now() + timedelta(days=7))

    providers.sandbox.google.deliver(GOOGLE_USER, rfc822(GOOGLE_USER), label_ids=["INBOX"])

    runs = wait_for(lambda: push_runs(org_a, mailbox))
    assert len(runs) == 1
    assert wait_for(lambda: queued.syncs) == [(org_a.organization.pk, runs[0].pk)]
    assert [n["status"] for n in providers.sandbox.notifications()] == [204]


def test_mail_delivered_to_a_subscribed_outlook_mailbox_queues_a_push_sync(
    org_a: Tenant, providers: Providers, site: str, queued: Queued
) -> None:
    mailbox = enable(org_a, outlook(org_a, providers))  # passes Graph's validation handshake
    assert mailbox.push_channel_id and len(mailbox.push_secret) >= 32
    assert close_to(mailbox.push_expires_at, timezone.now() + timedelta(days=3))

    providers.sandbox.microsoft.deliver(MICROSOFT_USER, rfc822(MICROSOFT_USER))

    runs = wait_for(lambda: push_runs(org_a, mailbox))
    assert len(runs) == 1
    assert wait_for(lambda: queued.syncs) == [(org_a.organization.pk, runs[0].pk)]
    assert {n["status"] for n in providers.sandbox.notifications()} == {202}


def test_one_gmail_push_syncs_the_address_in_every_organization_that_has_it(
    org_a: Tenant, org_b: Tenant, providers: Providers, site: str, queued: Queued
) -> None:
    in_a = enable(org_a, gmail(org_a, providers))
    in_b = gmail(org_b, providers)

    providers.sandbox.google.deliver(GOOGLE_USER, rfc822(GOOGLE_USER), label_ids=["INBOX"])

    assert wait_for(lambda: push_runs(org_a, in_a) and push_runs(org_b, in_b))
    assert {org for org, _ in wait_for(lambda: len(queued.syncs) == 2 and queued.syncs)} == {
        org_a.organization.pk,
        org_b.organization.pk,
    }


def test_a_push_with_the_wrong_audience_is_refused_and_queues_nothing(
    org_a: Tenant, providers: Providers, site: str, queued: Queued, settings: Any
) -> None:
    providers.sandbox.call(
        "POST",
        "/google/push-endpoints",
        json={
            "topicName": settings.GOOGLE_PUBSUB_TOPIC,
            "pushEndpoint": f"{site}/api/v1/integrations/webhooks/google",
            "audience": "https://someone-else.test/push",
        },
    )
    mailbox = enable(org_a, gmail(org_a, providers))

    providers.sandbox.google.deliver(GOOGLE_USER, rfc822(GOOGLE_USER), label_ids=["INBOX"])

    assert [n.get("status") for n in wait_for(providers.sandbox.notifications)] == [403]
    assert push_runs(org_a, mailbox) == [] and queued.syncs == []


def test_a_push_during_a_running_sync_makes_the_poller_sync_again_at_once(
    org_a: Tenant, providers: Providers, queued: Queued
) -> None:
    mailbox = gmail(org_a, providers, next_sync_at=timezone.now() + timedelta(hours=1))
    with org_a.scope():
        run_open(mailbox=mailbox, trigger=RunTrigger.SCHEDULE)
        assert push_notify(mailbox=reloaded(org_a, mailbox)) is None
        assert SyncRun.objects.filter(mailbox=mailbox).count() == 1
    assert reloaded(org_a, mailbox).next_sync_at <= timezone.now()


def test_a_push_for_a_mailbox_that_does_not_sync_does_nothing(
    org_a: Tenant, providers: Providers, queued: Queued
) -> None:
    mailbox = gmail(org_a, providers, sync_enabled=False)
    with org_a.scope():
        assert push_notify(mailbox=reloaded(org_a, mailbox)) is None
    assert push_runs(org_a, mailbox) == [] and queued.syncs == []


# -- channels --------------------------------------------------------------------------------


def test_without_a_topic_gmail_push_stays_off(
    org_a: Tenant, providers: Providers, settings: Any
) -> None:
    settings.GOOGLE_PUBSUB_TOPIC = ""
    mailbox = gmail(org_a, providers)
    with org_a.scope():
        assert push_enable(mailbox=mailbox) is False
    assert calls(providers, "gmail.users.watch") == 0
    assert reloaded(org_a, mailbox).push_expires_at is None


def test_a_refused_watch_is_logged_and_leaves_the_mailbox_to_polling(
    org_a: Tenant, providers: Providers, caplog: pytest.LogCaptureFixture
) -> None:
    mailbox = gmail(org_a, providers)  # the topic was never created: Gmail answers 404
    with org_a.scope():
        assert push_enable(mailbox=mailbox) is False
    assert "could not start" in caplog.text
    assert reloaded(org_a, mailbox).push_channel_id == ""


def test_a_subscription_whose_handshake_fails_is_not_kept(
    org_a: Tenant, providers: Providers, caplog: pytest.LogCaptureFixture
) -> None:
    mailbox = outlook(org_a, providers)  # SITE_URL is http://testserver: unreachable
    with org_a.scope():
        assert push_enable(mailbox=mailbox) is False
    assert "could not start" in caplog.text
    assert reloaded(org_a, mailbox).push_channel_id == ""


def test_channels_are_renewed_a_day_after_they_started(
    org_a: Tenant, providers: Providers, site: str, queued: Queued
) -> None:
    synced = {"last_synced_at": timezone.now()}
    google = enable(org_a, gmail(org_a, providers, **synced))
    microsoft = enable(org_a, outlook(org_a, providers, **synced))
    assert push_renew_due() == 0  # fresh channels wait

    with org_a.scope():
        for mailbox in (google, microsoft):  # as if they had started a day and a bit ago
            expires = mailbox.push_expires_at - timedelta(days=1, minutes=5)
            Mailbox.objects.filter(pk=mailbox.pk).update(push_expires_at=expires)
    assert push_renew_due() == 2
    assert sorted(queued.refreshes) == sorted(
        (org_a.organization.pk, m.pk) for m in (google, microsoft)
    )

    renewed_google = refresh(org_a, google)
    assert calls(providers, "gmail.users.watch") == 2
    assert close_to(renewed_google.push_expires_at, timezone.now() + timedelta(days=7))
    renewed_microsoft = refresh(org_a, microsoft)
    assert calls(providers, "graph.subscriptions.update") == 1
    assert renewed_microsoft.push_channel_id == microsoft.push_channel_id
    assert renewed_microsoft.push_secret == microsoft.push_secret
    assert close_to(renewed_microsoft.push_expires_at, timezone.now() + timedelta(days=3))


def test_a_subscription_graph_forgot_is_created_again_on_renewal(
    org_a: Tenant, providers: Providers, site: str
) -> None:
    mailbox = enable(org_a, outlook(org_a, providers))
    with org_a.scope():
        subscription_delete(push_context(mailbox), subscription_id=mailbox.push_channel_id)
    renewed = refresh(org_a, mailbox)
    assert renewed.push_channel_id not in ("", mailbox.push_channel_id)
    assert renewed.push_secret != mailbox.push_secret
    assert calls(providers, "graph.subscriptions.create") == 2


def test_a_removed_subscription_is_replaced_and_the_old_one_deleted(
    org_a: Tenant, providers: Providers, site: str
) -> None:
    mailbox = enable(org_a, outlook(org_a, providers))
    replaced = refresh(org_a, mailbox, recreate=True)
    assert replaced.push_channel_id not in ("", mailbox.push_channel_id)
    assert calls(providers, "graph.subscriptions.delete") == 1


def test_beat_starts_push_for_synced_mailboxes_and_stops_it_where_sync_stopped(
    org_a: Tenant, org_b: Tenant, providers: Providers, site: str, queued: Queued
) -> None:
    synced = gmail(org_a, providers, last_synced_at=timezone.now())
    never_synced = outlook(org_a, providers)
    stopped = enable(org_b, gmail(org_b, providers, last_synced_at=timezone.now()))
    with org_b.scope():
        Mailbox.objects.filter(pk=stopped.pk).update(sync_enabled=False)

    assert push_renew_due() == 2
    assert sorted(queued.refreshes) == sorted(
        [(org_a.organization.pk, synced.pk), (org_b.organization.pk, stopped.pk)]
    )
    assert refresh(org_a, synced).push_channel_id
    assert mailbox_push_refresh_task(org_b.organization.pk, stopped.pk) is False
    assert reloaded(org_b, stopped).push_expires_at is None
    assert reloaded(org_a, never_synced).push_channel_id == ""


def test_disabling_deletes_the_graph_subscription(
    org_a: Tenant, providers: Providers, site: str
) -> None:
    mailbox = enable(org_a, outlook(org_a, providers))
    with org_a.scope():
        push_disable(mailbox=mailbox)
    assert calls(providers, "graph.subscriptions.delete") == 1
    stopped = reloaded(org_a, mailbox)
    assert (stopped.push_channel_id, stopped.push_secret, stopped.push_expires_at) == ("", "", None)


def test_a_gmail_watch_another_organization_still_uses_is_not_stopped(
    org_a: Tenant, org_b: Tenant, providers: Providers, site: str
) -> None:
    in_a = enable(org_a, gmail(org_a, providers))
    in_b = enable(org_b, gmail(org_b, providers))
    with org_a.scope():
        push_disable(mailbox=in_a)
    assert calls(providers, "gmail.users.stop") == 0
    with org_b.scope():
        push_disable(mailbox=in_b)
    assert calls(providers, "gmail.users.stop") == 1

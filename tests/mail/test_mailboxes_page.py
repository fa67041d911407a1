"""Settings → Mailboxes: status, live progress, problems in plain words, sync now, retry,
policies, shared mailboxes; owners and admins edit, other members read, other organizations 404.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.connections.models import ConnectionStatus
from integrations.mail.models import (
    FailureStatus,
    Mailbox,
    RunStatus,
    RunTrigger,
    SyncFailure,
    SyncRun,
    SyncState,
)
from tests.conftest import Tenant
from tests.mail.factories import ConnectionFactory, MailboxFactory
from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db

PAGE = "/settings/mailboxes/"
MARKER = "alpha-secret"


@pytest.fixture(autouse=True)
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Sync tasks are recorded, not run: the page is under test, not the engine."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        "integrations.mail.tasks.mailbox_sync_task.delay", lambda *args: calls.append(args)
    )
    return calls


@pytest.fixture
def alice(org_a: Tenant) -> Client:
    return signed_in(org_a.owner)


@pytest.fixture
def bob(org_a: Tenant) -> Client:
    return signed_in(org_a.member)


@pytest.fixture
def charlie(org_b: Tenant) -> Client:
    return signed_in(org_b.owner)


@pytest.fixture
def alice_box(org_a: Tenant) -> Mailbox:
    with org_a.scope():
        connection = ConnectionFactory(user=org_a.owner, email="alice@alpha.test")
        return MailboxFactory(connection=connection, address="alice@alpha.test")


@pytest.fixture
def shared(org_a: Tenant, alice_box: Mailbox) -> Mailbox:
    with org_a.scope():
        return MailboxFactory(
            connection=alice_box.connection,
            owner=org_a.owner,
            address="sales@alpha.test",
            kind="shared",
            provider="google",
        )


def run_of(tenant: Tenant, mailbox: Mailbox, status: str, **fields: Any) -> SyncRun:
    with tenant.scope():
        return SyncRun.objects.create(
            mailbox=mailbox, trigger=RunTrigger.MANUAL, timeframe="1m", status=status, **fields
        )


def status_block(html: str, mailbox: Mailbox) -> str:
    match = re.search(
        rf'<div class="mailbox-status" id="mailbox-{mailbox.pk}-status".*?>', html, re.S
    )
    assert match, html
    return match.group(0)


# -- what the page shows -------------------------------------------------------------------------


def test_the_settings_page_links_to_mailboxes(alice: Client) -> None:
    html = alice.get(reverse("settings")).content.decode()

    assert f'href="{PAGE}"' in html


def test_the_page_shows_each_mailbox_with_provider_status_and_last_sync(
    alice: Client, org_a: Tenant, alice_box: Mailbox
) -> None:
    with org_a.scope():
        Mailbox.objects.filter(pk=alice_box.pk).update(
            last_synced_at=timezone.now() - timedelta(minutes=10)
        )
    run_of(org_a, alice_box, RunStatus.COMPLETED)

    response = alice.get(PAGE)

    html = response.content.decode()
    assert response.status_code == 200
    assert "alice@alpha.test" in html and "Google" in html
    assert "Up to date" in html and "10\xa0minutes ago" in html
    assert "Sync now" in html and "Save settings" in html
    for label in ("Last 5 minutes", "Last week", "Last 2 weeks", "Last month", "Everything"):
        assert label in html


def test_a_running_sync_shows_progress_per_folder_and_polls_every_2_seconds(
    alice: Client, org_a: Tenant, alice_box: Mailbox
) -> None:
    folders = {
        "inbox": {"status": "RUNNING", "total": 200, "processed": 50, "failed": 1},
        "sent_items": {"status": "PENDING", "total": 0, "processed": 0, "failed": 0},
    }
    run_of(org_a, alice_box, RunStatus.RUNNING, folders=folders)

    html = alice.get(PAGE).content.decode()

    block = status_block(html, alice_box)
    assert 'hx-trigger="every 2s"' in block
    assert f'hx-get="{PAGE}{alice_box.pk}/status/"' in block
    assert "Syncing" in html
    assert '<progress max="200" value="50">' in html and "50 of 200 · 1 failed" in html
    assert "Sent items" in html


def test_the_status_partial_stops_polling_once_the_run_has_ended(
    alice: Client, org_a: Tenant, alice_box: Mailbox
) -> None:
    run = run_of(org_a, alice_box, RunStatus.RUNNING)
    url = reverse("mailbox-status-web", args=[alice_box.pk])
    assert "hx-trigger" in status_block(alice.get(url).content.decode(), alice_box)

    with org_a.scope():
        SyncRun.objects.filter(pk=run.pk).update(
            status=RunStatus.COMPLETED, completed_at=timezone.now()
        )
    response = alice.get(url, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert "hx-trigger" not in status_block(html, alice_box)
    assert "<html" not in html  # the partial alone


def test_problems_are_said_in_plain_words(alice: Client, org_a: Tenant, alice_box: Mailbox) -> None:
    with org_a.scope():
        alice_box.connection.status = ConnectionStatus.EXPIRED
        alice_box.connection.save(update_fields=["status"])
        throttled = MailboxFactory(
            connection=ConnectionFactory(user=org_a.owner, email="busy@alpha.test"),
            address="busy@alpha.test",
            sync_state=SyncState.THROTTLED,
            throttled_until=timezone.now() + timedelta(hours=1),
        )
        broken = MailboxFactory(
            connection=ConnectionFactory(user=org_a.owner, email="broken@alpha.test"),
            address="broken@alpha.test",
            sync_state=SyncState.ERROR,
            last_error="Google could not be reached.",
        )

    html = alice.get(PAGE).content.decode()

    assert "has expired, so this mailbox cannot sync" in html
    assert f'<a href="{reverse("settings-connections")}">Reconnect it in Connections</a>' in html
    assert "Connection expired" in html
    assert "Google asked Liaison to slow down. Syncing resumes at" in html
    assert "Syncing stopped: Google could not be reached." in html
    assert {throttled.pk, broken.pk} <= {
        int(pk) for pk in re.findall(r'data-mailbox="(\d+)"', html)
    }


def test_failed_messages_are_counted_with_a_retry_button(
    alice: Client, org_a: Tenant, alice_box: Mailbox
) -> None:
    run = run_of(org_a, alice_box, RunStatus.COMPLETED_WITH_ERRORS)
    with org_a.scope():
        for n, status in enumerate([FailureStatus.FAILED] * 2 + [FailureStatus.PERMANENTLY_FAILED]):
            SyncFailure.objects.create(
                run=run, mailbox=alice_box, provider_message_id=f"m{n}", status=status
            )

    html = alice.get(PAGE).content.decode()

    assert "2 messages could not be synced." in html
    assert reverse("mailbox-retry-web", args=[alice_box.pk]) in html
    assert "Retry failed" in html and "Synced with errors" in html


def test_an_empty_page_points_to_connections(alice: Client) -> None:
    html = alice.get(PAGE).content.decode()

    assert "No mailbox syncs yet" in html
    assert "Connect Microsoft 365</a> first" in html


# -- what the buttons do -------------------------------------------------------------------------


def test_sync_now_with_a_timeframe_opens_a_run(
    alice: Client, org_a: Tenant, alice_box: Mailbox
) -> None:
    response = alice.post(reverse("mailbox-sync-web", args=[alice_box.pk]), {"timeframe": "2w"})

    assert response.status_code == 302
    with org_a.scope():
        run = SyncRun.objects.get()
    assert (run.trigger, run.timeframe, run.full_resync) == (RunTrigger.MANUAL, "2w", True)
    html = alice.get(response["Location"]).content.decode()
    assert "Syncing alice@alpha.test." in html


def test_sync_now_while_syncing_says_so_and_opens_nothing(
    alice: Client, org_a: Tenant, alice_box: Mailbox
) -> None:
    run_of(org_a, alice_box, RunStatus.RUNNING)

    response = alice.post(reverse("mailbox-sync-web", args=[alice_box.pk]), follow=True)

    assert "alice@alpha.test is already syncing." in response.content.decode()
    with org_a.scope():
        assert SyncRun.objects.count() == 1


def test_retry_failed_retries_only_failed_messages(
    alice: Client, org_a: Tenant, alice_box: Mailbox
) -> None:
    run = run_of(org_a, alice_box, RunStatus.COMPLETED_WITH_ERRORS)
    with org_a.scope():
        SyncFailure.objects.create(run=run, mailbox=alice_box, provider_message_id="m-1")
        SyncFailure.objects.create(
            run=run,
            mailbox=alice_box,
            provider_message_id="m-dead",
            status=FailureStatus.PERMANENTLY_FAILED,
            attempts=3,
        )

    response = alice.post(reverse("mailbox-retry-web", args=[alice_box.pk]), follow=True)

    assert "Retrying 1 failed message(s)" in response.content.decode()
    with org_a.scope():
        assert SyncRun.objects.get(trigger=RunTrigger.RETRY).retry_ids == ["m-1"]


def test_saving_the_policies_changes_the_mailbox(
    alice: Client, org_a: Tenant, alice_box: Mailbox
) -> None:
    prefix = f"m{alice_box.pk}"
    data = {
        f"{prefix}-sync_enabled": "on",
        f"{prefix}-read_enabled": "on",
        f"{prefix}-sync_timeframe": "1w",
        f"{prefix}-visibility": "metadata",
        f"{prefix}-contact_creation": "none",
        f"{prefix}-is_default": "on",
    }

    response = alice.post(reverse("mailbox-settings-web", args=[alice_box.pk]), data)

    assert response.status_code == 302
    with org_a.scope():
        alice_box.refresh_from_db()
    assert (alice_box.sync_timeframe, alice_box.visibility, alice_box.contact_creation) == (
        "1w",
        "metadata",
        "none",
    )
    assert alice_box.send_enabled is False and alice_box.exclude_internal is False
    assert alice_box.is_default is True


def test_invalid_policies_are_shown_on_the_form(
    alice: Client, org_a: Tenant, alice_box: Mailbox
) -> None:
    prefix = f"m{alice_box.pk}"
    data = {
        f"{prefix}-sync_timeframe": "10y",
        f"{prefix}-visibility": "full",
        f"{prefix}-contact_creation": "sent",
    }

    response = alice.post(reverse("mailbox-settings-web", args=[alice_box.pk]), data)

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    with org_a.scope():
        assert Mailbox.objects.get(pk=alice_box.pk).sync_timeframe == "1m"


def test_disconnecting_a_shared_mailbox_deletes_it(
    alice: Client, org_a: Tenant, shared: Mailbox
) -> None:
    response = alice.post(reverse("mailbox-disconnect-web", args=[shared.pk]), follow=True)

    assert "Disconnected sales@alpha.test" in response.content.decode()
    with org_a.scope():
        assert not Mailbox.objects.filter(pk=shared.pk).exists()


def test_the_shared_mailbox_form_appears_with_a_microsoft_connection(
    alice: Client, org_a: Tenant
) -> None:
    with org_a.scope():
        ConnectionFactory(user=org_a.owner, provider="microsoft")

    html = alice.get(PAGE).content.decode()

    assert "Connect a shared mailbox" in html
    assert 'name="email"' in html and "Connect mailbox" in html


def test_connecting_a_shared_mailbox_without_a_microsoft_connection_is_refused(
    alice: Client, org_a: Tenant
) -> None:
    response = alice.post(reverse("mailbox-connect-web"), {"email": "sales@contoso.test"})

    assert response.status_code == 400
    with org_a.scope():
        assert not Mailbox.objects.exists()


# -- who may do what -----------------------------------------------------------------------------


def test_members_see_shared_mailboxes_read_only_and_cannot_change_them(
    bob: Client, org_a: Tenant, alice_box: Mailbox, shared: Mailbox
) -> None:
    html = bob.get(PAGE).content.decode()

    assert "sales@alpha.test" in html and "Read-only" in html
    assert f'data-mailbox="{alice_box.pk}"' not in html  # Alice's own mailbox is hers alone
    assert reverse("mailbox-sync-web", args=[shared.pk]) not in html
    assert reverse("mailbox-settings-web", args=[shared.pk]) not in html
    for name in ("mailbox-sync-web", "mailbox-settings-web", "mailbox-retry-web"):
        assert bob.post(reverse(name, args=[shared.pk])).status_code == 403
    assert bob.post(reverse("mailbox-disconnect-web", args=[shared.pk])).status_code == 403
    with org_a.scope():
        assert Mailbox.objects.filter(pk=shared.pk).exists()
        assert not SyncRun.objects.exists()


def test_a_colleagues_own_mailbox_is_a_404_for_members(bob: Client, alice_box: Mailbox) -> None:
    assert bob.get(reverse("mailbox-status-web", args=[alice_box.pk])).status_code == 404
    assert bob.post(reverse("mailbox-sync-web", args=[alice_box.pk])).status_code == 404


def test_admins_may_show_every_mailbox(alice: Client, org_a: Tenant, alice_box: Mailbox) -> None:
    with org_a.scope():
        MailboxFactory(connection=ConnectionFactory(user=org_a.member), address="bob@alpha.test")

    mine = alice.get(PAGE).content.decode()
    everyone = alice.get(PAGE, {"scope": "organization"}).content.decode()

    assert "bob@alpha.test" not in mine
    assert "bob@alpha.test" in everyone and "connected by bob@alpha.test" in everyone


# -- other organizations -------------------------------------------------------------------------


@pytest.fixture
def alpha_box(org_a: Tenant, org_b: Tenant) -> Mailbox:
    """A's shared mailbox with a running sync and a failure, all carrying the marker."""
    with org_a.scope():
        mailbox = MailboxFactory(
            connection=ConnectionFactory(user=org_a.owner, email=f"{MARKER}@alpha.test"),
            address=f"{MARKER}@alpha.test",
            display_name=MARKER,
            kind="shared",
            last_error=MARKER,
        )
    run = run_of(org_a, mailbox, RunStatus.RUNNING, error=MARKER)
    with org_a.scope():
        SyncFailure.objects.create(run=run, mailbox=mailbox, provider_message_id=MARKER)
    return mailbox


OBJECT_ROUTES = [
    "mailbox-status-web",
    "mailbox-settings-web",
    "mailbox-sync-web",
    "mailbox-retry-web",
    "mailbox-disconnect-web",
]


@pytest.mark.parametrize("name", OBJECT_ROUTES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_organizations_mailbox_is_a_404(
    charlie: Client, alpha_box: Mailbox, name: str, method: str
) -> None:
    response = getattr(charlie, method)(reverse(name, args=[alpha_box.pk]), {"timeframe": "1w"})

    get_only, post_only = name == "mailbox-status-web", name != "mailbox-status-web"
    wrong_method = (method == "post" and get_only) or (method == "get" and post_only)
    assert response.status_code == (405 if wrong_method else 404)
    assert MARKER not in response.content.decode()


def test_the_page_never_shows_another_organizations_mailboxes(
    charlie: Client, org_a: Tenant, alpha_box: Mailbox
) -> None:
    for query in ({}, {"scope": "organization"}):
        response = charlie.get(PAGE, query)
        assert response.status_code == 200
        assert MARKER not in response.content.decode()

    charlie.post(reverse("mailbox-connect-web"), {"email": f"{MARKER}@alpha.test"})
    with org_a.scope():
        assert Mailbox.objects.filter(pk=alpha_box.pk).exists()
        assert SyncRun.objects.filter(mailbox=alpha_box).count() == 1

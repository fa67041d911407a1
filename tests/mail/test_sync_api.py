"""The mailbox and sync API: settings, sync now (409 when running), progress, retries of failed
messages, manual sync triggers, and Microsoft 365 shared mailboxes against the sandbox.

The sync engine is not under test here: the task a sync queues on commit is recorded, not run.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm.models import User
from integrations.connections.models import Connection, ConnectionStatus
from integrations.mail.models import (
    FailureStatus,
    Mailbox,
    MailThread,
    Message,
    RunStatus,
    RunTrigger,
    SharedInbox,
    SyncFailure,
    SyncRun,
)
from tests.conftest import Tenant, token_client
from tests.connections.conftest import (  # noqa: F401  (providers is a fixture)
    MICROSOFT_USER,
    Providers,
    connect,
    providers,
)
from tests.mail.factories import (
    ConnectionFactory,
    MailboxFactory,
    MessageCopyFactory,
    mail_message,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/integrations"


@pytest.fixture(autouse=True)
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The sync tasks queued (on commit), recorded instead of run."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        "integrations.mail.tasks.mailbox_sync_task.delay", lambda *args: calls.append(args)
    )
    return calls


def own_mailbox(tenant: Tenant, user: User, address: str, **fields: Any) -> Mailbox:
    with tenant.scope():
        connection = ConnectionFactory(user=user, email=address, **fields.pop("connection", {}))
        return MailboxFactory(connection=connection, address=address, **fields)


def shared_mailbox(tenant: Tenant, of: Mailbox, address: str, **fields: Any) -> Mailbox:
    with tenant.scope():
        return MailboxFactory(
            connection=of.connection,
            owner=of.owner,
            address=address,
            kind="shared",
            provider=of.provider,
            **fields,
        )


def run_of(
    tenant: Tenant, mailbox: Mailbox, status: str = RunStatus.COMPLETED, **f: Any
) -> SyncRun:
    with tenant.scope():
        f = {"trigger": RunTrigger.SCHEDULE, "timeframe": "1m", **f}
        return SyncRun.objects.create(mailbox=mailbox, status=status, **f)


def failure(tenant: Tenant, run: SyncRun, message_id: str, status: str, attempts: int = 1) -> Any:
    with tenant.scope():
        return SyncFailure.objects.create(
            run=run,
            mailbox=run.mailbox,
            provider_message_id=message_id,
            status=status,
            attempts=attempts,
            last_error="timeout",
        )


@pytest.fixture
def alice_box(org_a: Tenant) -> Mailbox:
    return own_mailbox(org_a, org_a.owner, "alice@alpha.test")


@pytest.fixture
def bob_box(org_a: Tenant) -> Mailbox:
    return own_mailbox(org_a, org_a.member, "bob@alpha.test")


@pytest.fixture
def bob_api(org_a: Tenant) -> APIClient:
    return token_client(org_a, org_a.member)


# -- listing and settings ------------------------------------------------------------------------


def test_list_shows_the_users_mailboxes_with_policies_state_and_latest_run(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox, bob_box: Mailbox
) -> None:
    run_of(org_a, alice_box, RunStatus.COMPLETED, folders={"mailbox": {"status": "COMPLETED"}})
    latest = run_of(org_a, alice_box, RunStatus.RUNNING)

    body = api_a.get(f"{BASE}/email/mailboxes").json()

    assert (body["total"], body["page"], body["pages"]) == (1, 1, 1)
    row = body["results"][0]
    assert row["address"] == "alice@alpha.test" and row["provider"] == "google"
    assert row["kind"] == "primary" and row["can_edit"] is True
    for policy in ("read_enabled", "send_enabled", "sync_enabled", "exclude_internal"):
        assert row[policy] is True
    assert (row["sync_timeframe"], row["visibility"], row["contact_creation"]) == (
        "1m",
        "full",
        "sent",
    )
    assert row["sync_state"] == "idle" and row["last_synced_at"] is None
    assert row["connection"]["status"] == "connected"
    assert row["latest_sync"]["sync_id"] == latest.pk
    assert row["latest_sync"]["status"] == "RUNNING"


def test_members_see_their_own_and_shared_mailboxes_but_not_a_colleagues_private_one(
    bob_api: APIClient, org_a: Tenant, alice_box: Mailbox, bob_box: Mailbox
) -> None:
    shared = shared_mailbox(org_a, alice_box, "sales@alpha.test")

    body = bob_api.get(f"{BASE}/email/mailboxes", {"scope": "organization"}).json()

    rows = {r["address"]: r for r in body["results"]}
    assert set(rows) == {"bob@alpha.test", "sales@alpha.test"}
    assert rows["sales@alpha.test"]["can_edit"] is False
    assert bob_api.get(f"{BASE}/email/mailboxes/{alice_box.pk}").status_code == 404
    assert bob_api.get(f"{BASE}/email/mailboxes/{shared.pk}").status_code == 200


def test_admins_list_every_mailbox_with_scope_organization(
    api_a: APIClient, alice_box: Mailbox, bob_box: Mailbox
) -> None:
    body = api_a.get(f"{BASE}/email/mailboxes", {"scope": "organization"}).json()

    assert [r["address"] for r in body["results"]] == ["alice@alpha.test", "bob@alpha.test"]
    assert all(r["can_edit"] for r in body["results"])


def test_the_list_costs_the_same_queries_for_one_or_many_mailboxes(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox
) -> None:
    run_of(org_a, alice_box)
    api_a.get(f"{BASE}/email/mailboxes")  # the token's last use is recorded once a minute
    with CaptureQueriesContext(db_connection) as few:
        api_a.get(f"{BASE}/email/mailboxes")
    for n in range(4):
        box = shared_mailbox(org_a, alice_box, f"team{n}@alpha.test")
        failure(org_a, run_of(org_a, box), f"m{n}", FailureStatus.FAILED)

    with CaptureQueriesContext(db_connection) as many:
        body = api_a.get(f"{BASE}/email/mailboxes").json()

    assert body["total"] == 5
    assert len(many) == len(few)


def test_patch_changes_the_policies(api_a: APIClient, org_a: Tenant, alice_box: Mailbox) -> None:
    changes = {
        "sync_timeframe": "2w",
        "visibility": "subject",
        "contact_creation": "sent_and_received",
        "exclude_internal": False,
        "send_enabled": False,
    }

    response = api_a.patch(f"{BASE}/email/mailboxes/{alice_box.pk}", changes, format="json")

    assert response.status_code == 200
    assert {k: response.json()[k] for k in changes} == changes
    with org_a.scope():
        alice_box.refresh_from_db()
    assert (alice_box.sync_timeframe, alice_box.visibility, alice_box.send_enabled) == (
        "2w",
        "subject",
        False,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sync_timeframe": "3d"}, "sync_timeframe"),
        ({"visibility": "everyone"}, "visibility"),
        ({"contact_creation": "all"}, "contact_creation"),
        ({"read_enabled": "maybe"}, "read_enabled"),
        ({"address": "x@evil.test"}, "address"),
        ({"sync_state": "idle"}, "sync_state"),
    ],
)
def test_patch_refuses_invalid_values_and_unknown_fields(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox, body: dict[str, Any], field: str
) -> None:
    response = api_a.patch(f"{BASE}/email/mailboxes/{alice_box.pk}", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "InvalidRequest"
    assert field in response.json()["details"]
    with org_a.scope():
        assert Mailbox.objects.get(pk=alice_box.pk).address == "alice@alpha.test"


def test_making_a_mailbox_the_default_unsets_the_other_one(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox, bob_box: Mailbox
) -> None:
    with org_a.scope():
        Mailbox.objects.filter(pk=bob_box.pk).update(is_default=True)

    response = api_a.patch(
        f"{BASE}/email/mailboxes/{alice_box.pk}", {"is_default": True}, format="json"
    )

    assert response.status_code == 200 and response.json()["is_default"] is True
    with org_a.scope():
        assert list(Mailbox.objects.filter(is_default=True)) == [alice_box]


def test_a_shared_inbox_of_another_organization_does_not_exist(
    api_a: APIClient, org_a: Tenant, org_b: Tenant, alice_box: Mailbox
) -> None:
    with org_b.scope():
        foreign = SharedInbox.objects.create(name="Beta team")

    response = api_a.patch(
        f"{BASE}/email/mailboxes/{alice_box.pk}", {"shared_inbox": foreign.pk}, format="json"
    )

    assert response.status_code == 400
    assert "shared_inbox" in response.json()["details"]


def test_only_the_owner_or_an_admin_may_change_a_mailbox(
    bob_api: APIClient, org_a: Tenant, alice_box: Mailbox
) -> None:
    shared = shared_mailbox(org_a, alice_box, "sales@alpha.test")

    response = bob_api.patch(
        f"{BASE}/email/mailboxes/{shared.pk}", {"sync_enabled": False}, format="json"
    )

    assert response.status_code == 403 and response.json()["code"] == "Forbidden"
    assert bob_api.post(f"{BASE}/email/mailboxes/{shared.pk}/sync").status_code == 403
    with org_a.scope():
        assert Mailbox.objects.get(pk=shared.pk).sync_enabled is True
        assert not SyncRun.objects.exists()


def test_read_only_tokens_cannot_start_a_sync(org_a: Tenant, alice_box: Mailbox) -> None:
    reader = token_client(org_a, scopes=("read",))

    assert reader.get(f"{BASE}/email/mailboxes").status_code == 200
    assert reader.post(f"{BASE}/email/mailboxes/{alice_box.pk}/sync").status_code == 403


# -- sync now ------------------------------------------------------------------------------------


def test_sync_now_opens_a_run_and_queues_it_on_commit(
    api_a: APIClient,
    org_a: Tenant,
    alice_box: Mailbox,
    queued: list[tuple[Any, ...]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_a.post(f"{BASE}/email/mailboxes/{alice_box.pk}/sync", format="json")

    assert response.status_code == 202
    body = response.json()
    with org_a.scope():
        run = SyncRun.objects.get()
    assert body == {
        "mailbox_id": alice_box.pk,
        "sync_id": run.pk,
        "execution_id": str(run.pk),
        "status": "RUNNING",
        "timeframe": "1m",
    }
    assert (run.trigger, run.full_resync) == (RunTrigger.MANUAL, False)
    assert queued == [(org_a.organization.pk, run.pk)]


def test_sync_now_with_a_timeframe_lists_that_period_again(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox
) -> None:
    response = api_a.post(
        f"{BASE}/email/mailboxes/{alice_box.pk}/sync", {"timeframe": "1w"}, format="json"
    )

    assert response.status_code == 202 and response.json()["timeframe"] == "1w"
    with org_a.scope():
        run = SyncRun.objects.get()
    assert (run.timeframe, run.full_resync) == ("1w", True)


def test_a_second_sync_while_one_runs_is_a_409_naming_the_running_one(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox
) -> None:
    first = api_a.post(f"{BASE}/email/mailboxes/{alice_box.pk}/sync").json()

    response = api_a.post(
        f"{BASE}/email/mailboxes/{alice_box.pk}/sync", {"timeframe": "5m"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "error": "A sync is already running for this mailbox.",
        "code": "SyncAlreadyRunning",
        "statusCode": 409,
        "details": {"sync_id": first["sync_id"], "execution_id": first["execution_id"]},
    }
    with org_a.scope():
        assert SyncRun.objects.count() == 1


def test_sync_refuses_an_unknown_timeframe(api_a: APIClient, alice_box: Mailbox) -> None:
    response = api_a.post(
        f"{BASE}/email/mailboxes/{alice_box.pk}/sync", {"timeframe": "3y"}, format="json"
    )

    assert response.status_code == 400
    assert "timeframe" in response.json()["details"]


def test_sync_of_a_mailbox_with_sync_off_or_an_expired_connection_is_refused(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox
) -> None:
    off = own_mailbox(org_a, org_a.owner, "off@alpha.test", sync_enabled=False)
    expired = own_mailbox(
        org_a, org_a.owner, "old@alpha.test", connection={"status": ConnectionStatus.EXPIRED}
    )

    off_response = api_a.post(f"{BASE}/email/mailboxes/{off.pk}/sync")
    expired_response = api_a.post(f"{BASE}/email/mailboxes/{expired.pk}/sync")

    assert (off_response.status_code, off_response.json()["code"]) == (409, "SyncDisabled")
    assert expired_response.status_code == 409
    assert expired_response.json()["code"] == "ConnectionExpired"
    assert expired_response.json()["details"]["action"] == "reconnect"


# -- status --------------------------------------------------------------------------------------


def test_status_is_the_latest_run_with_progress_per_folder(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox
) -> None:
    run_of(org_a, alice_box, RunStatus.FAILED, error="old")
    folders = {
        "inbox": {"status": "COMPLETED", "total": 120, "processed": 120, "failed": 2},
        "sent_items": {"status": "RUNNING", "total": 40, "processed": 10, "failed": 0},
        "archive": {"status": "PENDING", "total": 0, "processed": 0, "failed": 0},
    }
    latest = run_of(org_a, alice_box, RunStatus.RUNNING, folders=folders, timeframe="2w")

    body = api_a.get(f"{BASE}/email/mailboxes/{alice_box.pk}/sync/status").json()

    assert body["execution_id"] == str(latest.pk) and body["status"] == "RUNNING"
    assert body["timeframe"] == "2w" and body["completed_at"] is None and body["error"] is None
    assert body["inbox"] == {
        "status": "COMPLETED",
        "total_messages": 120,
        "processed_messages": 120,
        "failed_messages": 2,
    }
    assert body["sent_items"]["processed_messages"] == 10
    assert body["archive"]["status"] == "PENDING"
    assert "mailbox" not in body and "retry" not in body


def test_gmail_progress_is_under_mailbox_and_errors_are_reported(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox
) -> None:
    folders = {"mailbox": {"status": "FAILED", "total": 5, "processed": 3, "failed": 0}}
    run_of(org_a, alice_box, RunStatus.FAILED, folders=folders, error="The connection expired")

    body = api_a.get(f"{BASE}/email/mailboxes/{alice_box.pk}/sync/status").json()

    assert body["mailbox"]["total_messages"] == 5 and body["mailbox"]["status"] == "FAILED"
    assert body["error"] == "The connection expired"


def test_status_of_a_mailbox_that_never_synced_is_a_404(
    api_a: APIClient, alice_box: Mailbox
) -> None:
    response = api_a.get(f"{BASE}/email/mailboxes/{alice_box.pk}/sync/status")

    assert response.status_code == 404 and response.json()["code"] == "SyncNotFound"


# -- retry ---------------------------------------------------------------------------------------


@pytest.fixture
def failed_run(org_a: Tenant, alice_box: Mailbox) -> SyncRun:
    """A finished run with one FAILED, one PERMANENTLY_FAILED and one RESOLVED message."""
    run = run_of(org_a, alice_box, RunStatus.COMPLETED_WITH_ERRORS)
    failure(org_a, run, "m-failed", FailureStatus.FAILED)
    failure(org_a, run, "m-dead", FailureStatus.PERMANENTLY_FAILED, attempts=3)
    failure(org_a, run, "m-ok", FailureStatus.RESOLVED)
    return run


def _retry(client: APIClient, mailbox: Mailbox, **body: Any) -> Any:
    return client.post(f"{BASE}/email/mailboxes/{mailbox.pk}/sync/retry", body, format="json")


def test_retry_all_failed_queues_only_failed_messages(
    api_a: APIClient,
    org_a: Tenant,
    alice_box: Mailbox,
    failed_run: SyncRun,
    queued: list[tuple[Any, ...]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _retry(api_a, alice_box, sync_id=str(failed_run.pk), scope="all_failed")

    assert response.status_code == 202
    with org_a.scope():
        retry = SyncRun.objects.get(trigger=RunTrigger.RETRY)
    assert response.json() == {
        "retry_execution_id": str(retry.pk),
        "retry_sync_id": retry.pk,
        "messages_queued": 1,
    }
    assert retry.retry_ids == ["m-failed"] and retry.status == RunStatus.RUNNING
    assert queued == [(org_a.organization.pk, retry.pk)]


def test_retry_of_chosen_messages_never_includes_permanently_failed_ones(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox, failed_run: SyncRun
) -> None:
    response = _retry(
        api_a, alice_box, sync_id=failed_run.pk, message_ids=["m-failed", "m-dead", "m-ok"]
    )

    assert response.status_code == 202 and response.json()["messages_queued"] == 1
    with org_a.scope():
        assert SyncRun.objects.get(trigger=RunTrigger.RETRY).retry_ids == ["m-failed"]


def test_retry_with_only_permanently_failed_messages_is_nothing_to_retry(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox, failed_run: SyncRun
) -> None:
    response = _retry(api_a, alice_box, sync_id=str(failed_run.pk), message_ids=["m-dead"])

    assert response.status_code == 400
    assert response.json()["code"] == "NothingToRetry"
    with org_a.scope():
        assert not SyncRun.objects.filter(trigger=RunTrigger.RETRY).exists()


def test_retry_all_failed_includes_failures_of_earlier_runs_but_not_later_ones(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox, failed_run: SyncRun
) -> None:
    later = run_of(org_a, alice_box, RunStatus.COMPLETED_WITH_ERRORS)
    failure(org_a, later, "m-later", FailureStatus.FAILED)

    response = _retry(api_a, alice_box, sync_id=str(failed_run.pk), scope="all_failed")

    assert response.json()["messages_queued"] == 1
    with org_a.scope():
        assert SyncRun.objects.get(trigger=RunTrigger.RETRY).retry_ids == ["m-failed"]


def test_retry_while_a_sync_runs_is_a_409(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox, failed_run: SyncRun
) -> None:
    running = run_of(org_a, alice_box, RunStatus.RUNNING)

    response = _retry(api_a, alice_box, sync_id=str(failed_run.pk), scope="all_failed")

    assert response.status_code == 409 and response.json()["code"] == "SyncAlreadyRunning"
    assert response.json()["details"]["sync_id"] == running.pk


@pytest.mark.parametrize(
    "body",
    [
        {"scope": "all_failed"},
        {"sync_id": "1"},
        {"sync_id": "1", "scope": "all_failed", "message_ids": ["m"]},
        {"sync_id": "1", "scope": "everything"},
        {"sync_id": "1", "message_ids": []},
        {"sync_id": "abc", "scope": "all_failed"},
    ],
)
def test_retry_needs_a_sync_id_and_either_a_scope_or_message_ids(
    api_a: APIClient, alice_box: Mailbox, body: dict[str, Any]
) -> None:
    response = _retry(api_a, alice_box, **body)

    assert response.status_code == 400 and response.json()["code"] == "InvalidRequest"


def test_retry_of_a_sync_of_another_mailbox_is_a_404(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox, bob_box: Mailbox
) -> None:
    bobs_run = run_of(org_a, bob_box, RunStatus.COMPLETED_WITH_ERRORS)
    failure(org_a, bobs_run, "b-1", FailureStatus.FAILED)

    response = _retry(api_a, alice_box, sync_id=str(bobs_run.pk), scope="all_failed")

    assert response.status_code == 404 and response.json()["code"] == "SyncNotFound"


# -- failures ------------------------------------------------------------------------------------


def test_failures_lists_unresolved_messages_with_attempts_and_errors(
    api_a: APIClient, alice_box: Mailbox, failed_run: SyncRun
) -> None:
    body = api_a.get(f"{BASE}/email/mailboxes/{alice_box.pk}/failures").json()

    assert body["total"] == 2
    rows = {r["message_id"]: r for r in body["results"]}
    assert rows["m-failed"]["status"] == "FAILED" and rows["m-failed"]["retryable"] is True
    assert rows["m-dead"]["attempts"] == 3 and rows["m-dead"]["retryable"] is False
    assert rows["m-dead"]["last_error"] == "timeout"
    assert rows["m-dead"]["sync_id"] == failed_run.pk


def test_failures_filter_by_status_and_page(
    api_a: APIClient, alice_box: Mailbox, failed_run: SyncRun
) -> None:
    url = f"{BASE}/email/mailboxes/{alice_box.pk}/failures"

    resolved = api_a.get(url, {"status": "RESOLVED"}).json()
    paged = api_a.get(url, {"limit": 1, "page": 2}).json()

    assert [r["message_id"] for r in resolved["results"]] == ["m-ok"]
    assert (paged["total"], paged["pages"], len(paged["results"])) == (2, 2, 1)
    assert api_a.get(url, {"status": "LOST"}).status_code == 400


# -- manual sync triggers ------------------------------------------------------------------------


def test_email_sync_starts_each_enabled_mailbox_and_reports_running_ones(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox, bob_box: Mailbox
) -> None:
    busy = shared_mailbox(org_a, alice_box, "busy@alpha.test")
    running = run_of(org_a, busy, RunStatus.RUNNING)
    shared_mailbox(org_a, alice_box, "off@alpha.test", sync_enabled=False)

    response = api_a.post(f"{BASE}/email/sync")

    assert response.status_code == 202
    body = response.json()
    assert [s["mailbox_id"] for s in body["started"]] == [alice_box.pk]
    assert [s["sync_id"] for s in body["already_running"]] == [running.pk]
    assert body["skipped"] == []
    with org_a.scope():
        assert not SyncRun.objects.filter(mailbox=bob_box).exists()


def test_email_sync_reports_mailboxes_whose_connection_expired(
    api_a: APIClient, org_a: Tenant
) -> None:
    expired = own_mailbox(
        org_a, org_a.owner, "old@alpha.test", connection={"status": ConnectionStatus.EXPIRED}
    )

    body = api_a.post(f"{BASE}/email/sync").json()

    assert body["started"] == []
    assert body["skipped"][0]["mailbox_id"] == expired.pk
    assert body["skipped"][0]["code"] == "ConnectionExpired"


@pytest.mark.parametrize("kind", ["email", "all"])
def test_connection_sync_starts_the_connections_mailboxes(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox, bob_box: Mailbox, kind: str
) -> None:
    shared = shared_mailbox(org_a, alice_box, "sales@alpha.test")

    response = api_a.post(
        f"{BASE}/connections/{alice_box.connection_id}/sync", {"type": kind}, format="json"
    )

    assert response.status_code == 202
    body = response.json()
    assert (body["connection_id"], body["type"]) == (alice_box.connection_id, kind)
    assert sorted(s["mailbox_id"] for s in body["started"]) == [alice_box.pk, shared.pk]
    with org_a.scope():
        assert not SyncRun.objects.filter(mailbox=bob_box).exists()


def test_connection_sync_of_calendar_is_not_available_yet(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox
) -> None:
    response = api_a.post(
        f"{BASE}/connections/{alice_box.connection_id}/sync", {"type": "calendar"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "NotAvailable"
    assert response.json()["error"] == "Calendar sync arrives with calendar support."
    with org_a.scope():
        assert not SyncRun.objects.exists()


def test_connection_sync_of_someone_elses_connection_is_a_404_for_members(
    bob_api: APIClient, alice_box: Mailbox
) -> None:
    response = bob_api.post(
        f"{BASE}/connections/{alice_box.connection_id}/sync", {"type": "all"}, format="json"
    )

    assert response.status_code == 404 and response.json()["code"] == "ConnectionNotFound"


def test_connection_sync_refuses_an_unknown_type(api_a: APIClient, alice_box: Mailbox) -> None:
    response = api_a.post(
        f"{BASE}/connections/{alice_box.connection_id}/sync", {"type": "contacts"}, format="json"
    )

    assert response.status_code == 400 and "type" in response.json()["details"]


# -- Microsoft 365 shared mailboxes --------------------------------------------------------------


@pytest.fixture
def megan(providers: Providers, org_a: Tenant) -> Connection:  # noqa: F811
    """Alice's Microsoft 365 connection (megan@contoso.test) made through the sandbox."""
    browser = Client()
    browser.force_login(org_a.owner)
    connect(browser, providers, "microsoft", MICROSOFT_USER)
    sandbox, tenant_id = providers.sandbox, providers.microsoft_tenant_id
    sandbox.microsoft.create_shared_mailbox(
        tenant_id, "sales@contoso.test", "Contoso Sales", delegates=[MICROSOFT_USER]
    )
    sandbox.microsoft.create_shared_mailbox(
        tenant_id, "finance@contoso.test", "Contoso Finance", delegates=[]
    )
    with org_a.scope():
        return Connection.objects.get(provider="microsoft")


def test_a_delegate_connects_a_shared_mailbox(
    api_a: APIClient, org_a: Tenant, megan: Connection
) -> None:
    response = api_a.post(
        f"{BASE}/email/mailboxes/connect", {"email": "Sales@contoso.test"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outlook_email"] == "sales@contoso.test" and body["provider"] == "outlook"
    assert body["tenant_id"] == megan.directory_tenant_id
    assert body["sync"] is None
    with org_a.scope():
        mailbox = Mailbox.objects.get(address="sales@contoso.test")
        default_inbox = SharedInbox.objects.get(is_default=True)
        assert not SyncRun.objects.filter(mailbox=mailbox).exists()
    assert (mailbox.kind, mailbox.provider, mailbox.owner_id) == (
        "shared",
        "microsoft",
        org_a.owner.pk,
    )
    assert mailbox.connection_id == megan.pk and mailbox.shared_inbox_id == default_inbox.pk
    assert mailbox.display_name == "Contoso Sales"
    assert body["mailbox"]["id"] == mailbox.pk


def test_connecting_with_a_timeframe_starts_the_first_sync_in_the_given_inbox(
    api_a: APIClient, org_a: Tenant, megan: Connection
) -> None:
    with org_a.scope():
        inbox = SharedInbox.objects.create(name="Sales team")

    response = api_a.post(
        f"{BASE}/email/mailboxes/connect",
        {
            "email": "sales@contoso.test",
            "shared_inbox_id": str(inbox.pk),
            "mailboxSyncTimeframe": "1w",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    with org_a.scope():
        mailbox = Mailbox.objects.get(address="sales@contoso.test")
        run = SyncRun.objects.get(mailbox=mailbox)
    assert mailbox.shared_inbox_id == inbox.pk and mailbox.sync_timeframe == "1w"
    assert (run.trigger, run.timeframe) == (RunTrigger.CONNECT, "1w")
    assert response.json()["sync"]["sync_id"] == run.pk


def test_someone_who_is_not_a_delegate_gets_403_and_nothing_is_stored(
    api_a: APIClient, org_a: Tenant, megan: Connection
) -> None:
    response = api_a.post(
        f"{BASE}/email/mailboxes/connect", {"email": "finance@contoso.test"}, format="json"
    )

    assert response.status_code == 403, response.content
    assert response.json()["code"] == "MailboxAccessDenied"
    assert response.json()["statusCode"] == 403
    with org_a.scope():
        assert not Mailbox.objects.filter(address="finance@contoso.test").exists()


def test_connecting_an_address_already_connected_is_a_409(
    api_a: APIClient, org_a: Tenant, megan: Connection
) -> None:
    url = f"{BASE}/email/mailboxes/connect"
    api_a.post(url, {"email": "sales@contoso.test"}, format="json")

    response = api_a.post(url, {"email": "sales@contoso.test"}, format="json")

    assert response.status_code == 409 and response.json()["code"] == "MailboxAlreadyConnected"


def test_connecting_without_a_microsoft_connection_says_so(
    api_a: APIClient, alice_box: Mailbox
) -> None:
    response = api_a.post(
        f"{BASE}/email/mailboxes/connect", {"email": "sales@contoso.test"}, format="json"
    )

    assert response.status_code == 400 and response.json()["code"] == "MicrosoftNotConnected"


def test_with_several_microsoft_connections_the_connection_must_be_named(
    api_a: APIClient, org_a: Tenant
) -> None:
    with org_a.scope():
        first = ConnectionFactory(user=org_a.owner, provider="microsoft")
        ConnectionFactory(user=org_a.owner, provider="microsoft")

    ambiguous = api_a.post(
        f"{BASE}/email/mailboxes/connect", {"email": "sales@contoso.test"}, format="json"
    )
    unknown = api_a.post(
        f"{BASE}/email/mailboxes/connect",
        {"email": "sales@contoso.test", "connectionId": first.pk + 100},
        format="json",
    )

    assert ambiguous.status_code == 400 and ambiguous.json()["code"] == "ConnectionRequired"
    assert len(ambiguous.json()["details"]["connections"]) == 2
    assert unknown.status_code == 404 and unknown.json()["code"] == "ConnectionNotFound"


def test_connect_refuses_unknown_fields(api_a: APIClient) -> None:
    response = api_a.post(
        f"{BASE}/email/mailboxes/connect", {"email": "a@b.test", "owner": 1}, format="json"
    )

    assert response.status_code == 400 and "owner" in response.json()["details"]


def test_disconnect_deletes_the_shared_mailbox_and_mail_no_other_mailbox_holds(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox
) -> None:
    shared = shared_mailbox(org_a, alice_box, "sales@alpha.test")
    run_of(org_a, shared, RunStatus.RUNNING)
    with org_a.scope():
        only_shared = mail_message(shared, sender="ada@acme.test", subject="Only here")
        both = mail_message(shared, sender="bob@acme.test", subject="Both")
        MessageCopyFactory(mailbox=alice_box, message=both)

    response = api_a.post(f"{BASE}/email/mailboxes/{shared.pk}/disconnect")

    assert response.status_code == 200
    assert response.json() == {"success": True, "email": "sales@alpha.test"}
    with org_a.scope():
        assert not Mailbox.objects.filter(pk=shared.pk).exists()
        assert not SyncRun.objects.filter(mailbox_id=shared.pk).exists()
        assert list(Message.objects.all()) == [both]
        assert not MailThread.objects.filter(pk=only_shared.thread_id).exists()
        assert MailThread.objects.get(pk=both.thread_id).message_count == 1


def test_own_mailboxes_are_disconnected_under_connections_not_here(
    api_a: APIClient, org_a: Tenant, alice_box: Mailbox
) -> None:
    response = api_a.post(f"{BASE}/email/mailboxes/{alice_box.pk}/disconnect")

    assert response.status_code == 400 and response.json()["code"] == "NotASharedMailbox"
    with org_a.scope():
        assert Mailbox.objects.filter(pk=alice_box.pk).exists()


def test_mappings_list_the_organizations_microsoft_mailboxes(
    bob_api: APIClient, org_a: Tenant, alice_box: Mailbox
) -> None:
    with org_a.scope():
        outlook = ConnectionFactory(
            user=org_a.owner, provider="microsoft", directory_tenant_id="tenant-1"
        )
        shared = MailboxFactory(
            connection=outlook, address="sales@contoso.test", kind="shared", provider="microsoft"
        )

    body = bob_api.get(f"{BASE}/email/mailboxes/mappings").json()

    assert body["count"] == 1
    assert body["outlook_emails"][0] | {"connected_at": None} == {
        "outlook_email": "sales@contoso.test",
        "mailbox_id": shared.pk,
        "kind": "shared",
        "tenant_id": "tenant-1",
        "provider": "outlook",
        "connected_at": None,
        "connected_by_user_id": str(org_a.owner.pk),
    }


def test_another_organizations_connection_cannot_reach_a_shared_mailbox(
    api_b: APIClient, org_a: Tenant, org_b: Tenant
) -> None:
    with org_a.scope():
        alphas = ConnectionFactory(user=org_a.owner, provider="microsoft")

    response = api_b.post(
        f"{BASE}/email/mailboxes/connect",
        {"email": "sales@contoso.test", "connectionId": alphas.pk},
        format="json",
    )

    assert response.status_code == 404 and response.json()["code"] == "ConnectionNotFound"
    with org_b.scope():
        assert not Mailbox.objects.exists()

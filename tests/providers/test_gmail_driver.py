"""The Gmail driver against the sandbox over HTTPS: listing, history, batched fetches, faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integrations.providers.base import InvalidGrant
from integrations.providers.google import gmail
from integrations.providers.google.gmail import build_driver
from integrations.providers.mail import (
    CursorExpired,
    DriverContext,
    FetchFailure,
    RemoteMessage,
    SyncWindow,
)
from integrations.sandbox.client import SandboxClient
from tests.providers.gmail_support import GmailBox, all_pages, email, gmail_box

EVERYTHING = SyncWindow(since=None)
CATEGORY_LABELS = ("PROMOTIONS", "SOCIAL", "FORUMS", "UPDATES")


@pytest.fixture
def box(sandbox: SandboxClient, settings: Any) -> GmailBox:
    return gmail_box(sandbox, settings)


def fetch_ids(pages: list[Any]) -> list[str]:
    return [message_id for page in pages for message_id in page.fetch]


def history_cursor(box: GmailBox, window: SyncWindow = EVERYTHING) -> str:
    pages = all_pages(box.driver(), None, window)
    assert pages[-1].final
    return pages[-1].cursor


def in_scope(labels: list[str]) -> bool:
    hidden = {"SPAM", "TRASH", *(f"CATEGORY_{name}" for name in CATEGORY_LABELS)}
    return not hidden.intersection(labels)


def test_build_driver_reads_the_context(box: GmailBox) -> None:
    ctx = DriverContext(mailbox_address=box.address, token=box.tokens.token, renew=box.tokens.renew)
    driver = build_driver(ctx)
    assert driver.provider == "google"
    assert driver.streams == ("",)
    assert {folder.role for folder in driver.folders()} >= {"inbox", "sent", "spam", "trash"}


def test_folders_map_system_labels_and_keep_user_labels_as_other(box: GmailBox) -> None:
    driver = box.driver()
    created = driver.users.labels().create(userId="me", body={"name": "Clients"}).execute()
    roles = {folder.provider_id: folder.role for folder in driver.folders()}
    assert roles["INBOX"] == "inbox"
    assert roles["SENT"] == "sent"
    assert roles["DRAFT"] == "drafts"
    assert roles["SPAM"] == "spam"
    assert roles["TRASH"] == "trash"
    assert roles[created["id"]] == "other"
    # Flags and tabs are labels but not folders; Gmail has no archive folder at all.
    assert "UNREAD" not in roles
    assert "archive" not in roles.values()


def test_initial_listing_honours_the_window_and_the_exclusions(box: GmailBox) -> None:
    now = datetime.now(UTC)
    recent, old = now - timedelta(days=2), now - timedelta(days=40)
    wanted = {
        box.deliver(email("In the inbox"), internal_date=recent),
        box.deliver(email("Archived"), label_ids=["CATEGORY_PERSONAL"], internal_date=recent),
        box.deliver(email("Sent by me"), label_ids=["SENT"], internal_date=recent),
    }
    box.deliver(email("Too old"), internal_date=old)
    box.deliver(email("Spam"), label_ids=["SPAM"], internal_date=recent)
    box.deliver(email("Trash"), label_ids=["TRASH"], internal_date=recent)
    tabs = {
        box.deliver(email(f"Tab {name}"), label_ids=["INBOX", f"CATEGORY_{name}"])
        for name in CATEGORY_LABELS
    }
    since = now - timedelta(days=30)

    pages = all_pages(box.driver(), None, SyncWindow(since=since))

    assert set(fetch_ids(pages)) == wanted
    assert pages[-1].final
    assert json.loads(pages[-1].cursor)["phase"] == "history"
    with_tabs = all_pages(box.driver(), None, SyncWindow(since=since, include_categories=True))
    assert set(fetch_ids(with_tabs)) == wanted | tabs


def test_an_interrupted_listing_resumes_at_the_page_after_the_saved_cursor(box: GmailBox) -> None:
    box.sandbox.google.fill(box.address, seed=5, count=1200)
    expected = {m["id"] for m in box.stored() if in_scope(m.get("labelIds", []))}
    first = next(iter(box.driver().changes(stream="", cursor=None, window=EVERYTHING)))
    assert not first.final
    assert first.total_estimate == len(expected)
    assert json.loads(first.cursor)["phase"] == "list"
    mark = box.sandbox.last_request_seq()

    # A new worker after a crash: only the saved cursor survives.
    rest = all_pages(box.driver(), first.cursor, EVERYTHING)

    listed = list(first.fetch) + fetch_ids(rest)
    assert len(listed) == len(set(listed))
    assert set(listed) == expected
    routes = {call["route"] for call in box.api_calls(mark)}
    assert routes == {"gmail.users.messages.list"}  # no new getProfile: same starting point
    assert rest[-1].final


def test_mail_arriving_during_the_listing_comes_with_the_next_incremental_run(
    box: GmailBox,
) -> None:
    box.sandbox.google.fill(box.address, seed=6, count=700)
    driver = box.driver()
    pages = driver.changes(stream="", cursor=None, window=EVERYTHING)
    next(pages)
    arrived = box.deliver(email("Arrived mid-listing"))
    cursor = [page.cursor for page in pages][-1]

    incremental = all_pages(driver, cursor, EVERYTHING)

    assert arrived in fetch_ids(incremental)


def test_incremental_run_reports_new_deleted_read_starred_archived_trashed_and_labelled(
    box: GmailBox,
) -> None:
    driver = box.driver()
    label = driver.users.labels().create(userId="me", body={"name": "Clients"}).execute()["id"]
    ids = [box.deliver(email(f"Message {n}")) for n in range(6)]
    deleted, read, starred, archived, trashed, labelled = ids
    cursor = history_cursor(box)
    google = box.sandbox.google
    new = box.deliver(email("New"))
    box.deliver(email("New spam"), label_ids=["SPAM"])
    box.deliver(email("New promotion"), label_ids=["INBOX", "CATEGORY_PROMOTIONS"])
    google.delete_message(box.address, deleted)
    google.modify_labels(box.address, read, remove=["UNREAD"])
    google.modify_labels(box.address, starred, add=["STARRED"])
    google.modify_labels(box.address, archived, remove=["INBOX"])
    google.modify_labels(box.address, trashed, add=["TRASH"], remove=["INBOX"])
    google.modify_labels(box.address, labelled, add=[label])

    pages = all_pages(driver, cursor, EVERYTHING)

    assert len(pages) == 1 and pages[0].final
    page = pages[0]
    assert page.fetch == (new,)
    assert set(page.removed) == {deleted, trashed}
    flags = {change.provider_id: change for change in page.flags}
    assert set(flags) == {read, starred, archived, labelled}
    assert flags[read].is_read and not flags[read].is_starred
    assert flags[starred].is_starred and not flags[starred].is_read
    assert "INBOX" not in flags[archived].folder_ids
    assert "INBOX" in flags[labelled].folder_ids and label in flags[labelled].folder_ids

    # Back out of the trash: the pipeline dropped it, so it comes back as content to fetch.
    google.modify_labels(box.address, trashed, remove=["TRASH"], add=["INBOX"])
    again = all_pages(driver, page.cursor, EVERYTHING)
    assert [p.fetch for p in again] == [(trashed,)]


def test_a_message_trashed_and_restored_within_one_page_is_fetched_not_removed(
    box: GmailBox,
) -> None:
    message = box.deliver(email("Oops"))
    cursor = history_cursor(box)
    box.sandbox.google.modify_labels(box.address, message, add=["TRASH"], remove=["INBOX"])
    box.sandbox.google.modify_labels(box.address, message, add=["INBOX"], remove=["TRASH"])

    (page,) = all_pages(box.driver(), cursor, EVERYTHING)

    assert (page.fetch, page.flags, page.removed) == ((message,), (), ())


def test_expired_history_raises_cursor_expired(box: GmailBox) -> None:
    box.deliver(email("Hello"))
    cursor = history_cursor(box)
    box.sandbox.google.expire_history(box.address)

    with pytest.raises(CursorExpired):
        all_pages(box.driver(), cursor, EVERYTHING)


def test_a_cursor_the_driver_did_not_write_raises_cursor_expired(box: GmailBox) -> None:
    with pytest.raises(CursorExpired):
        all_pages(box.driver(), "12345", EVERYTHING)


def test_an_unchanged_mailbox_costs_exactly_one_history_call(box: GmailBox) -> None:
    box.sandbox.google.fill(box.address, seed=3, count=50)
    cursor = history_cursor(box)
    driver = box.driver()
    mark = box.sandbox.last_request_seq()

    pages = all_pages(driver, cursor, EVERYTHING)

    assert [call["route"] for call in box.api_calls(mark)] == ["gmail.users.history.list"]
    assert len(pages) == 1
    (page,) = pages
    assert page.final and not page.fetch and not page.flags and not page.removed
    assert json.loads(page.cursor) == json.loads(cursor)


def listed_ids(box: GmailBox, count: int, seed: int = 11) -> list[str]:
    box.sandbox.google.fill(box.address, seed=seed, count=count)
    return fetch_ids(all_pages(box.driver(), None, EVERYTHING))


@pytest.mark.parametrize(
    ("status", "fault"),
    [
        (429, {"retry_after": 1}),
        (403, {"reason": "rateLimitExceeded"}),
        (403, {"reason": "userRateLimitExceeded"}),
        (500, {}),
    ],
)
def test_failed_calls_inside_batches_are_retried_until_every_message_is_fetched(
    box: GmailBox, status: int, fault: dict[str, Any]
) -> None:
    ids = listed_ids(box, 120)
    box.sandbox.add_fault(
        route="gmail.users.messages.get", status=status, rate=0.3, seed=status, **fault
    )
    mark = box.sandbox.last_request_seq()

    results = box.driver().fetch(ids)

    assert all(isinstance(result, RemoteMessage) for result in results)
    assert [result.provider_id for result in results] == ids
    gets = [call for call in box.api_calls(mark) if call["route"] == "gmail.users.messages.get"]
    assert all(call["batch"] for call in gets)
    assert any(call["status"] == status for call in gets)  # the faults did fire
    # Only the failed calls went again: each message was answered 200 exactly once.
    assert sum(call["status"] == 200 for call in gets) == len(ids)
    if "retry_after" in fault:
        assert 1.0 in box.sleeps  # Retry-After honoured


def test_mixed_failures_inside_batches_still_fetch_every_message(box: GmailBox) -> None:
    ids = listed_ids(box, 200, seed=12)
    route = "gmail.users.messages.get"
    box.sandbox.add_faults(
        [
            {"route": route, "status": 429, "rate": 0.1, "retry_after": 2, "seed": 1},
            {"route": route, "status": 403, "rate": 0.1, "seed": 2},
            {"route": route, "status": 503, "rate": 0.1, "seed": 3},
            # A dropped connection loses a whole batch: every call in it goes again.
            {"route": "google.batch.gmail", "reset": True, "rate": 0.2, "seed": 4},
        ]
    )

    mark = box.sandbox.last_request_seq()

    results = box.driver().fetch(ids)

    assert all(isinstance(result, RemoteMessage) for result in results)
    batches = box.sandbox.requests_log(since=mark, route="google.batch.gmail")
    assert any(entry.get("reset") for entry in batches)


def test_a_message_that_stays_missing_is_a_permanent_failure(box: GmailBox) -> None:
    gone, missing, kept = (box.deliver(email(f"Message {n}")) for n in range(3))
    box.sandbox.google.delete_message(box.address, gone)
    box.sandbox.add_fault(route="gmail.users.messages.get", path=missing, status=404)

    results = box.driver().fetch([gone, missing, kept])

    assert results[0] == FetchFailure(gone, "not found", permanent=True)
    assert results[1] == FetchFailure(missing, "not found", permanent=True)
    assert isinstance(results[2], RemoteMessage) and results[2].provider_id == kept


def test_messages_fetched_unread_read_as_fetch_answers_them_failures_included(
    box: GmailBox, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone, kept, unreadable = (box.deliver(email(f"Message {n}")) for n in range(3))
    box.sandbox.google.delete_message(box.address, gone)
    normalize = gmail.message_from_resource

    def normalize_or_fail(resource: dict[str, Any]) -> RemoteMessage:
        if resource["id"] == unreadable:
            raise ValueError("a payload the driver cannot read")
        return normalize(resource)

    monkeypatch.setattr(gmail, "message_from_resource", normalize_or_fail)
    driver = box.driver()
    ids = [gone, kept, unreadable, kept]

    unread = driver.fetch_unread(ids)
    read = [driver.read(one) for one in unread]

    assert unread[0] == FetchFailure(gone, "not found", permanent=True)
    assert [getattr(one, "provider_id", None) for one in unread[1:]] == [kept, unreadable, kept]
    assert read == driver.fetch(ids)
    assert isinstance(read[1], RemoteMessage) and read[1].subject == "Message 1"
    assert isinstance(read[2], FetchFailure) and "could not be normalized" in read[2].reason


def test_a_message_that_keeps_failing_becomes_a_retryable_failure(box: GmailBox) -> None:
    failing, fine = (box.deliver(email(f"Message {n}")) for n in range(2))
    box.sandbox.add_fault(route="gmail.users.messages.get", path=failing, status=500)

    results = box.driver(attempts=3).fetch([failing, fine])

    assert isinstance(results[0], FetchFailure) and not results[0].permanent
    assert isinstance(results[1], RemoteMessage)


def test_a_listing_that_keeps_being_throttled_raises_provider_throttled(box: GmailBox) -> None:
    from integrations.providers.mail import ProviderThrottled

    box.sandbox.add_fault(route="gmail.users.getProfile", status=429, retry_after=3)

    with pytest.raises(ProviderThrottled) as raised:
        all_pages(box.driver(), None, EVERYTHING)
    assert raised.value.retry_after == 3.0


def test_a_401_renews_the_token_once_and_the_call_succeeds(box: GmailBox) -> None:
    message = box.deliver(email("Hello"))
    driver = box.driver()
    box.sandbox.add_fault(route="gmail.users.labels.list", status=401, times=1)

    assert driver.folders()
    assert box.tokens.renewals == 1

    box.sandbox.add_fault(route="gmail.users.messages.get", status=401, times=1)
    (result,) = driver.fetch([message])
    assert isinstance(result, RemoteMessage)
    assert box.tokens.renewals == 2


def test_a_revoked_grant_raises_invalid_grant(box: GmailBox) -> None:
    message = box.deliver(email("Hello"))
    driver = box.driver()
    box.sandbox.google.revoke_grants(box.address)

    with pytest.raises(InvalidGrant):
        driver.folders()
    with pytest.raises(InvalidGrant):
        all_pages(driver, None, EVERYTHING)
    with pytest.raises(InvalidGrant):
        driver.fetch([message])

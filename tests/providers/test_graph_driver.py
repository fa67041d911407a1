"""The Graph mail driver against the sandbox over HTTPS: delta paging, cursors, folders, fetch.

Faults, auth, shared mailboxes and attachments are in test_graph_driver_faults.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from integrations.providers.mail import (
    ChangePage,
    CursorExpired,
    FetchFailure,
    RemoteMessage,
    SyncWindow,
)
from integrations.providers.microsoft.graph_mail import GraphMailDriver, build_driver
from integrations.sandbox.client import SandboxClient
from tests.providers.graph_support import (
    OWNER,
    GraphWorld,
    initial_sync,
    make_graph_world,
    rfc822,
)

EVERYTHING = SyncWindow(since=None)


@pytest.fixture
def world(sandbox: SandboxClient, settings: Any) -> GraphWorld:
    return make_graph_world(sandbox, settings)


def run_stream(
    driver: GraphMailDriver, stream: str, cursor: str | None = None, window: SyncWindow = EVERYTHING
) -> list[ChangePage]:
    return list(driver.changes(stream=stream, cursor=cursor, window=window))


def sync_all(driver: GraphMailDriver, window: SyncWindow = EVERYTHING) -> dict[str, str]:
    """An initial sync of every stream; answers the final cursors."""
    return initial_sync(driver, window)[1]


def message_ids(pages: list[ChangePage]) -> list[str]:
    return [m.provider_id for page in pages for m in page.messages]


def remote_listing(world: GraphWorld, who: str = OWNER) -> list[dict]:
    return world.sandbox.microsoft.messages(who)["messages"]


def test_build_driver_reads_the_page_size_option(world: GraphWorld) -> None:
    vault = world.vault()
    ctx = world.context(vault)
    assert build_driver(ctx).page_size == 100
    ctx.options["page_size"] = "250"
    driver = build_driver(ctx)
    assert (driver.provider, driver.streams) == ("microsoft", ("inbox", "sentitems", "archive"))
    assert driver.page_size == 250


def test_folders_map_well_known_roles_and_nested_folders(world: GraphWorld) -> None:
    vault = world.vault()
    created = requests.post(
        f"{world.sandbox.microsoft_graph_url}/me/mailFolders/inbox/childFolders",
        json={"displayName": "Customers"},
        headers={"Authorization": f"Bearer {vault.token()}"},
        verify=world.sandbox.ca_bundle,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    since = world.sandbox.last_request_seq()

    folders = world.driver(vault).folders()

    roles = {f.name: f.role for f in folders}
    assert roles["Inbox"] == "inbox"
    assert roles["Sent Items"] == "sent"
    assert roles["Archive"] == "archive"
    assert roles["Drafts"] == "drafts"
    assert roles["Junk Email"] == "spam"
    assert roles["Deleted Items"] == "trash"
    assert roles["Outbox"] == "other"
    assert roles["Customers"] == "other"
    assert len({f.provider_id for f in folders}) == len(folders)
    assert [c["route"] for c in world.calls(since)] == ["graph.batch", "graph.batch"]


def test_initial_delta_lists_each_folder_within_the_window(world: GraphWorld) -> None:
    world.sandbox.microsoft.fill(OWNER, seed=11, count=400, span_days=60)
    since = datetime.now(UTC) - timedelta(days=20)
    window = SyncWindow(since=since)
    driver = world.driver(page_size=25)
    expected = {
        stream: {
            row["immutableId"]
            for row in remote_listing(world)
            if row["folder"] == stream and datetime.fromisoformat(row["receivedDateTime"]) >= since
        }
        for stream in driver.streams
    }

    for stream in driver.streams:
        pages = run_stream(driver, stream, None, window)
        ids = message_ids(pages)
        assert len(ids) == len(set(ids))
        assert set(ids) == expected[stream] != set()
        assert all(m.received_at >= since for p in pages for m in p.messages)
        assert [p.final for p in pages] == [False] * (len(pages) - 1) + [True]
        assert "$deltatoken" in parse_qs(urlsplit(pages[-1].cursor).query)
        assert all(not p.fetch and not p.removed for p in pages)


def test_initial_listing_resumes_from_a_next_link_cursor(world: GraphWorld) -> None:
    world.sandbox.microsoft.fill(OWNER, seed=5, count=120)
    first_run = world.driver(page_size=10).changes(stream="inbox", cursor=None, window=EVERYTHING)
    seen = [next(first_run), next(first_run)]  # the worker dies after committing page 2
    cursor = seen[-1].cursor
    assert not seen[-1].final and "$skiptoken" in parse_qs(urlsplit(cursor).query)

    rest = run_stream(world.driver(page_size=10), "inbox", cursor)

    ids = message_ids(seen) + message_ids(rest)
    inbox = {r["immutableId"] for r in remote_listing(world) if r["folder"] == "inbox"}
    assert len(ids) == len(set(ids)) and set(ids) == inbox
    assert rest[-1].final


def test_incremental_reports_new_deleted_read_and_flagged(world: GraphWorld) -> None:
    old = [world.deliver(rfc822(f"Old {n}")) for n in range(4)]
    driver = world.driver()
    cursors = sync_all(driver)
    control = world.sandbox.microsoft
    new = world.deliver(rfc822("Brand new"))
    control.delete_message(OWNER, old[0])
    control.update_message(OWNER, old[1], is_read=True)
    control.update_message(OWNER, old[2], flagged=True)

    pages = run_stream(driver, "inbox", cursors["inbox"])

    assert len(pages) == 1 and pages[0].final
    by_id = {m.provider_id: m for m in pages[0].messages}
    assert set(by_id) == {new, old[1], old[2]}
    assert by_id[new].subject == "Brand new" and not by_id[new].is_read
    assert by_id[old[1]].is_read and not by_id[old[1]].is_starred
    assert by_id[old[2]].is_starred
    assert pages[0].removed == (old[0],)
    assert run_stream(driver, "sentitems", cursors["sentitems"])[0].messages == ()


def test_a_move_removes_from_one_stream_and_adds_to_the_other(world: GraphWorld) -> None:
    moving = world.deliver(rfc822("Archive me"))
    returning = world.deliver(rfc822("Back to inbox"), folder="archive")
    driver = world.driver()
    cursors = sync_all(driver)
    folders = {f.role: f.provider_id for f in driver.folders()}
    world.sandbox.microsoft.update_message(OWNER, moving, folder="archive")
    world.sandbox.microsoft.update_message(OWNER, returning, folder="inbox")

    inbox = run_stream(driver, "inbox", cursors["inbox"])[0]
    archive = run_stream(driver, "archive", cursors["archive"])[0]

    # Immutable ids survive the move, so the pipeline sees the same message change folders.
    assert inbox.removed == (moving,)
    assert [(m.provider_id, m.folder_ids) for m in inbox.messages] == [
        (returning, (folders["inbox"],))
    ]
    assert archive.removed == (returning,)
    assert [(m.provider_id, m.folder_ids) for m in archive.messages] == [
        (moving, (folders["archive"],))
    ]


def test_an_expired_delta_link_raises_cursor_expired(world: GraphWorld) -> None:
    world.deliver(rfc822("Hello"))
    driver = world.driver()
    cursors = sync_all(driver)
    world.sandbox.microsoft.expire_delta(OWNER)

    with pytest.raises(CursorExpired) as raised:
        run_stream(driver, "sentitems", cursors["sentitems"])
    assert raised.value.stream == "sentitems"

    driver.prefetch(cursors=cursors, window=EVERYTHING)  # the batched first page: same error
    with pytest.raises(CursorExpired) as raised:
        run_stream(driver, "inbox", cursors["inbox"])
    assert raised.value.stream == "inbox"


def test_a_cursor_for_another_endpoint_restarts_the_stream(world: GraphWorld) -> None:
    driver = world.driver()
    with pytest.raises(CursorExpired):
        run_stream(driver, "inbox", "https://elsewhere.test/v1.0/me/mailFolders/inbox/delta")


def test_an_unchanged_mailbox_costs_one_batch_call_per_poll(world: GraphWorld) -> None:
    world.sandbox.microsoft.fill(OWNER, seed=2, count=60)
    driver = world.driver()
    cursors = sync_all(driver)
    since = world.sandbox.last_request_seq()

    driver.prefetch(cursors=cursors, window=EVERYTHING)
    pages = {s: run_stream(driver, s, cursors[s]) for s in driver.streams}

    calls = world.calls(since)
    assert [c["route"] for c in calls] == ["graph.batch"]
    inner = world.sandbox.requests_log(since=since, route="graph.mailFolders.messages.delta")
    assert len(inner) == 3 and all(e["batch"] for e in inner)
    for stream, stream_pages in pages.items():
        assert len(stream_pages) == 1
        page = stream_pages[0]
        assert page.final and not (page.messages or page.removed or page.fetch or page.flags)
        assert page.cursor != cursors[stream]  # a fresh deltaLink to save

    since = world.sandbox.last_request_seq()
    for stream in driver.streams:  # without prefetch: one delta call per folder
        run_stream(driver, stream, pages[stream][0].cursor)
    assert len(world.calls(since)) == 3


def test_prefetch_serves_changes_and_initial_listings_too(world: GraphWorld) -> None:
    world.deliver(rfc822("One"))
    driver = world.driver()
    cursors = sync_all(driver)
    fresh = world.deliver(rfc822("Two"))
    since = world.sandbox.last_request_seq()

    driver.prefetch(cursors={**cursors, "archive": None}, window=EVERYTHING)
    inbox = run_stream(driver, "inbox", cursors["inbox"])
    archive = run_stream(driver, "archive", None)

    assert message_ids(inbox) == [fresh]
    assert archive[-1].final and archive[-1].cursor
    assert len(world.calls(since)) == 1


def test_a_first_sync_primes_nothing_and_fetches_each_folder_in_its_turn(
    world: GraphWorld,
) -> None:
    world.deliver(rfc822("One"))
    driver = world.driver()
    since = world.sandbox.last_request_seq()

    driver.prefetch(cursors={}, window=EVERYTHING)
    assert world.calls(since) == []

    inbox = run_stream(driver, "inbox", None)
    assert message_ids(inbox) and inbox[-1].final
    assert [c["route"] for c in world.calls(since)] == ["graph.mailFolders.messages.delta"]


def test_fetch_keeps_order_and_marks_gone_messages_permanent(world: GraphWorld) -> None:
    kept = [world.deliver(rfc822(f"Kept {n}")) for n in range(25)]
    gone = world.deliver(rfc822("Gone"))
    world.sandbox.microsoft.delete_message(OWNER, gone)
    wanted = [*kept[:12], gone, *kept[12:]]
    since = world.sandbox.last_request_seq()

    fetched = world.driver().fetch(wanted)

    assert [f.provider_id for f in fetched] == wanted
    failure = fetched[12]
    assert isinstance(failure, FetchFailure) and failure.permanent
    assert all(isinstance(f, RemoteMessage) for n, f in enumerate(fetched) if n != 12)
    assert fetched[0].subject == "Kept 0"
    assert [c["route"] for c in world.calls(since)] == ["graph.batch", "graph.batch"]


def test_threading_headers_addresses_and_bodies_normalize(world: GraphWorld) -> None:
    message_id = world.deliver(
        rfc822(
            "Re: Pricing",
            sender='"ANA@Fabrikam.test" <ANA@Fabrikam.test>',
            to=f"Megan Bowen <{OWNER}>, megan@contoso.test, Bo <bo@fabrikam.test>",
            headers="In-Reply-To: <root@fabrikam.test>\r\n"
            "References: <root@fabrikam.test>\r\n <second@fabrikam.test>\r\n"
            "Cc: \r\nReply-To: Sales <sales@fabrikam.test>\r\n",
            message_id="<reply-1@fabrikam.test>",
        )
    )

    [message] = world.driver().fetch([message_id])

    assert isinstance(message, RemoteMessage)
    assert message.rfc_message_id == "<reply-1@fabrikam.test>"
    assert message.in_reply_to == "<root@fabrikam.test>"
    assert message.references == ("<root@fabrikam.test>", "<second@fabrikam.test>")
    assert message.sender is not None and message.sender.address == "ana@fabrikam.test"
    assert message.sender.name == ""  # Exchange's address-as-name placeholder is dropped
    assert [a.address for a in message.to] == [OWNER, "bo@fabrikam.test"]
    assert [(a.address, a.name) for a in message.reply_to] == [("sales@fabrikam.test", "Sales")]
    assert message.sent_at == datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
    assert message.provider_thread_id and message.snippet.startswith("Hello Megan")
    assert message.text_body.startswith("Hello Megan") and message.html_body == ""

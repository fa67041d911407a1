"""Graph message delta on a mail folder: rounds, paging, @removed, expiry."""

from __future__ import annotations

from tests.sandbox.graph_harness import graph_for, rfc822, seed_directory

DELTA = "me/mailFolders/inbox/messages/delta"


def _deliver(sandbox, subject: str, folder: str = "inbox") -> dict:
    return sandbox.microsoft.deliver(
        "alice@contoso.test",
        rfc822(sender="carol@partner.test", to="alice@contoso.test", subject=subject),
        folder=folder,
    )


def test_initial_round_pages_by_maxpagesize_and_ends_with_a_delta_link(sandbox):
    seed_directory(sandbox)
    for number in range(5):
        _deliver(sandbox, f"m{number}")
    _deliver(sandbox, "elsewhere", folder="archive")
    graph = graph_for(sandbox, "alice@contoso.test")
    first = graph.get(DELTA, headers={"Prefer": "odata.maxpagesize=2"})
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=2"
    page = first.json()
    assert len(page["value"]) == 2 and "$skiptoken" in page["@odata.nextLink"].replace("%24", "$")
    assert page["@odata.context"].endswith("$metadata#Collection(message)")
    entries, delta_link = graph.delta_round(DELTA, headers={"Prefer": "odata.maxpagesize=2"})
    assert sorted(e["subject"] for e in entries) == [f"m{n}" for n in range(5)]
    assert "$deltatoken" in delta_link.replace("%24", "$")
    assert graph.delta_round(delta_link)[0] == []


def test_incremental_round_reports_new_read_changed_deleted_and_moved_out(sandbox):
    seed_directory(sandbox)
    stays = _deliver(sandbox, "stays")
    read = _deliver(sandbox, "read later")
    deleted = _deliver(sandbox, "deleted")
    moved = _deliver(sandbox, "moved out")
    graph = graph_for(sandbox, "alice@contoso.test")
    _, delta_link = graph.delta_round(DELTA)
    sandbox.microsoft.update_message("alice@contoso.test", read["id"], is_read=True)
    sandbox.microsoft.delete_message("alice@contoso.test", deleted["id"])
    sandbox.microsoft.update_message("alice@contoso.test", moved["id"], folder="archive")
    _deliver(sandbox, "brand new")
    entries, _ = graph.delta_round(delta_link)
    changed = {e["subject"]: e for e in entries if "@removed" not in e}
    removed = {e["id"]: e["@removed"] for e in entries if "@removed" in e}
    assert set(changed) == {"read later", "brand new"}
    assert changed["read later"]["isRead"] is True
    assert removed == {deleted["id"]: {"reason": "deleted"}, moved["id"]: {"reason": "deleted"}}
    assert stays["id"] not in removed


def test_select_from_the_first_request_carries_through_the_round(sandbox):
    seed_directory(sandbox)
    _deliver(sandbox, "one")
    graph = graph_for(sandbox, "alice@contoso.test")
    entries, delta_link = graph.delta_round(DELTA, params={"$select": "subject,isRead"})
    assert set(entries[0]) == {"@odata.type", "@odata.etag", "id", "subject", "isRead"}
    _deliver(sandbox, "two")
    later, _ = graph.delta_round(delta_link)
    assert set(later[0]) == {"@odata.type", "@odata.etag", "id", "subject", "isRead"}


def test_immutable_ids_in_delta_stay_the_same_after_a_move(sandbox):
    seed_directory(sandbox)
    message = _deliver(sandbox, "traveller")
    graph = graph_for(sandbox, "alice@contoso.test")
    headers = {"Prefer": 'IdType="ImmutableId"'}
    entries, inbox_link = graph.delta_round(DELTA, headers=headers)
    assert entries[0]["id"] == message["immutableId"]
    sandbox.microsoft.update_message("alice@contoso.test", message["id"], folder="archive")
    removed, _ = graph.delta_round(inbox_link, headers=headers)
    assert removed == [
        {
            "@odata.type": "#microsoft.graph.message",
            "id": message["immutableId"],
            "@removed": {"reason": "deleted"},
        }
    ]
    archive, _ = graph.delta_round("me/mailFolders/archive/messages/delta", headers=headers)
    assert [e["id"] for e in archive] == [message["immutableId"]]


def test_folder_key_syntax_addresses_the_same_folder(sandbox):
    seed_directory(sandbox)
    _deliver(sandbox, "keyed")
    graph = graph_for(sandbox, "alice@contoso.test")
    entries, delta_link = graph.delta_round("me/mailFolders('Inbox')/messages/delta")
    assert [e["subject"] for e in entries] == ["keyed"]
    assert "mailFolders('Inbox')" in delta_link


def test_expired_delta_token_answers_410_sync_state_not_found(sandbox):
    seed_directory(sandbox)
    _deliver(sandbox, "one")
    graph = graph_for(sandbox, "alice@contoso.test")
    _, delta_link = graph.delta_round(DELTA)
    sandbox.microsoft.expire_delta("alice@contoso.test")
    response = graph.get(delta_link)
    assert response.status_code == 410
    error = response.json()["error"]
    assert error["code"] == "SyncStateNotFound"
    assert error["message"].startswith("The sync state generation is not found")


def test_delta_link_of_another_folder_is_rejected(sandbox):
    seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    _, delta_link = graph.delta_round(DELTA)
    token = delta_link.split("deltatoken=")[1]
    response = graph.get("me/mailFolders/archive/messages/delta", params={"$deltatoken": token})
    assert response.status_code == 400


def test_delta_filter_accepts_only_received_date_time(sandbox):
    seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    ok = graph.get(DELTA, params={"$filter": "receivedDateTime ge 2020-01-01T00:00:00Z"})
    assert ok.status_code == 200
    bad = graph.get(DELTA, params={"$filter": "isRead eq false"})
    assert bad.status_code == 400

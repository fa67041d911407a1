"""Graph users, mail folders and messages over HTTPS with requests."""

from __future__ import annotations

import json

from integrations.sandbox.microsoft.state import MicrosoftState
from tests.sandbox.graph_harness import (
    graph_for,
    http_session,
    rfc822,
    seed_directory,
)

IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}


def _deliver(sandbox, upn: str, subject: str, **kwargs):
    raw = rfc822(
        sender=kwargs.pop("sender", "carol@partner.test"),
        to=upn,
        subject=subject,
        **{k: kwargs.pop(k) for k in ("body", "message_id", "extra") if k in kwargs},
    )
    return sandbox.microsoft.deliver(upn, raw, **kwargs)


def test_me_returns_the_signed_in_user(sandbox):
    directory = seed_directory(sandbox)
    me = graph_for(sandbox, "alice@contoso.test").get("me").json()
    assert me["id"] == directory.alice["id"]
    assert me["userPrincipalName"] == me["mail"] == "alice@contoso.test"
    assert me["displayName"] == "Alice Archer" and me["surname"] == "Archer"
    assert me["@odata.context"].endswith("/$metadata#users/$entity")


def test_request_without_a_token_answers_401_invalid_authentication_token(sandbox):
    seed_directory(sandbox)
    response = http_session(sandbox).get(f"{sandbox.microsoft_graph_url}/me/messages")
    error = response.json()["error"]
    assert response.status_code == 401
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["message"] == "Access token is empty."
    assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])


def test_expired_access_token_answers_401(sandbox):
    seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    sandbox.advance_clock(3600)
    response = graph.get("me")
    assert response.status_code == 401
    assert "Lifetime validation failed" in response.json()["error"]["message"]


def test_missing_mail_scope_answers_403_error_access_denied(sandbox):
    seed_directory(sandbox)
    response = graph_for(sandbox, "alice@contoso.test", ["User.Read"]).get("me/messages")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ErrorAccessDenied"


def test_shared_mailbox_is_open_to_delegates_and_403_to_others(sandbox):
    directory = seed_directory(sandbox)
    sandbox.microsoft.create_shared_mailbox(
        directory.tenant_id, "sales@contoso.test", "Sales Team", ["alice@contoso.test"]
    )
    _deliver(sandbox, "sales@contoso.test", "Shared hello")
    scopes = ["User.Read", "Mail.Read.Shared"]
    alice = graph_for(sandbox, "alice@contoso.test", scopes)
    bob = graph_for(sandbox, "bob@contoso.test", scopes)
    assert alice.get("users/sales@contoso.test").json()["displayName"] == "Sales Team"
    listed = alice.get("users/sales@contoso.test/messages").json()["value"]
    assert [m["subject"] for m in listed] == ["Shared hello"]
    denied = bob.get("users/sales@contoso.test/messages")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "ErrorAccessDenied"
    assert bob.get("users/sales@contoso.test").status_code == 403
    assert alice.get("users/bob@contoso.test/messages").status_code == 403


def test_well_known_folders_report_total_and_unread_counts(sandbox):
    seed_directory(sandbox)
    _deliver(sandbox, "alice@contoso.test", "one")
    _deliver(sandbox, "alice@contoso.test", "two", is_read=True)
    _deliver(sandbox, "alice@contoso.test", "junk", folder="junkemail")
    graph = graph_for(sandbox, "alice@contoso.test")
    names = [f["displayName"] for f in graph.get("me/mailFolders").json()["value"]]
    assert {"Inbox", "Sent Items", "Archive", "Drafts", "Deleted Items", "Junk Email"} <= set(names)
    inbox = graph.get("me/mailFolders/inbox").json()
    assert (inbox["displayName"], inbox["totalItemCount"], inbox["unreadItemCount"]) == (
        "Inbox",
        2,
        1,
    )
    assert graph.get("me/mailFolders/JunkEmail").json()["totalItemCount"] == 1
    assert graph.get("me/mailFolders/inbox/childFolders").json()["value"] == []


def test_message_json_is_derived_from_the_rfc5322_source(sandbox):
    seed_directory(sandbox)
    _deliver(
        sandbox,
        "alice@contoso.test",
        "Quarterly review",
        body="Numbers attached.",
        message_id="<q1@partner.test>",
        extra="Cc: Dan <dan@partner.test>\r\nImportance: high\r\n",
    )
    graph = graph_for(sandbox, "alice@contoso.test")
    message = graph.get("me/messages").json()["value"][0]
    assert message["internetMessageId"] == "<q1@partner.test>"
    assert message["from"] == {"emailAddress": {"name": "Sender", "address": "carol@partner.test"}}
    assert message["toRecipients"] == [
        {"emailAddress": {"name": "alice@contoso.test", "address": "alice@contoso.test"}}
    ]
    assert message["ccRecipients"][0]["emailAddress"]["name"] == "Dan"
    assert message["importance"] == "high" and message["bodyPreview"] == "Numbers attached."
    assert message["body"]["contentType"] == "text"
    assert message["sentDateTime"] == "2025-01-06T10:00:00Z"
    assert message["flag"] == {"flagStatus": "notFlagged"} and message["isRead"] is False
    assert message["@odata.etag"] == f'W/"{message["changeKey"]}"'
    assert "internetMessageHeaders" not in message
    selected = graph.get(
        f"me/messages/{message['id']}", params={"$select": "subject,internetMessageHeaders"}
    ).json()
    assert set(selected) == {
        "@odata.context",
        "@odata.etag",
        "id",
        "subject",
        "internetMessageHeaders",
    }
    assert {"name": "Importance", "value": "high"} in selected["internetMessageHeaders"]


def test_prefer_body_content_type_converts_the_body(sandbox):
    seed_directory(sandbox)
    _deliver(sandbox, "alice@contoso.test", "plain", body="Line one\r\nLine <two>")
    graph = graph_for(sandbox, "alice@contoso.test")
    response = graph.get("me/messages", headers={"Prefer": 'outlook.body-content-type="html"'})
    body = response.json()["value"][0]["body"]
    assert body["contentType"] == "html" and "Line &lt;two&gt;" in body["content"]
    assert response.headers["Preference-Applied"] == 'outlook.body-content-type="html"'


def test_list_pages_with_top_and_next_link_newest_first(sandbox):
    seed_directory(sandbox)
    for day in range(1, 6):
        sandbox.microsoft.deliver(
            "alice@contoso.test",
            rfc822(sender="x@partner.test", to="alice@contoso.test", subject=f"m{day}"),
            received_date_time=f"2025-01-0{day}T09:00:00+00:00",
        )
    graph = graph_for(sandbox, "alice@contoso.test")
    page = graph.get(
        "me/mailFolders/inbox/messages", params={"$top": 2, "$select": "subject,receivedDateTime"}
    ).json()
    subjects = [m["subject"] for m in page["value"]]
    while "@odata.nextLink" in page:
        page = graph.get(page["@odata.nextLink"]).json()
        subjects += [m["subject"] for m in page["value"]]
    assert subjects == ["m5", "m4", "m3", "m2", "m1"]
    assert set(page["value"][0]) == {"@odata.etag", "id", "subject", "receivedDateTime"}


def test_filter_subset_and_orderby(sandbox):
    seed_directory(sandbox)
    _deliver(sandbox, "alice@contoso.test", "from carol")
    _deliver(sandbox, "alice@contoso.test", "from dave", sender="dave@partner.test", is_read=True)
    graph = graph_for(sandbox, "alice@contoso.test")

    def subjects(expression: str, **extra: str) -> list[str]:
        response = graph.get("me/messages", params={"$filter": expression, **extra})
        assert response.status_code == 200, response.text
        return sorted(m["subject"] for m in response.json()["value"])

    assert subjects("isRead eq false") == ["from carol"]
    assert subjects("from/emailAddress/address eq 'DAVE@partner.test'") == ["from dave"]
    assert subjects("isRead eq true or hasAttachments eq true") == ["from dave"]
    assert subjects("receivedDateTime ge 2000-01-01T00:00:00Z and isRead eq false") == [
        "from carol"
    ]
    assert subjects(
        "receivedDateTime ge 2000-01-01T00:00:00Z", **{"$orderby": "receivedDateTime desc"}
    ) == ["from carol", "from dave"]


def test_search_matches_free_text_and_property_restrictions(sandbox):
    seed_directory(sandbox)
    _deliver(sandbox, "alice@contoso.test", "Renewal terms", body="Pricing for 2026")
    _deliver(sandbox, "alice@contoso.test", "Lunch", sender="dave@partner.test")
    graph = graph_for(sandbox, "alice@contoso.test")

    def subjects(query: str) -> list[str]:
        response = graph.get("me/messages", params={"$search": query})
        assert response.status_code == 200, response.text
        return [m["subject"] for m in response.json()["value"]]

    assert subjects('"pricing"') == ["Renewal terms"]
    assert subjects('"from:dave@partner.test"') == ["Lunch"]
    assert subjects('"subject:renewal pricing"') == ["Renewal terms"]
    combined = graph.get("me/messages", params={"$search": '"x"', "$filter": "isRead eq true"})
    assert combined.status_code == 400


def test_orderby_not_leading_the_filter_answers_inefficient_filter(sandbox):
    seed_directory(sandbox)
    response = graph_for(sandbox, "alice@contoso.test").get(
        "me/messages", params={"$filter": "isRead eq false", "$orderby": "receivedDateTime desc"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InefficientFilter"


def test_unknown_select_property_answers_400(sandbox):
    seed_directory(sandbox)
    response = graph_for(sandbox, "alice@contoso.test").get(
        "me/messages", params={"$select": "nonsense"}
    )
    assert response.status_code == 400
    assert "Could not find a property named 'nonsense'" in response.json()["error"]["message"]


def test_immutable_id_survives_a_move_while_the_default_id_changes(sandbox):
    seed_directory(sandbox)
    _deliver(sandbox, "alice@contoso.test", "keep me")
    graph = graph_for(sandbox, "alice@contoso.test")
    default = graph.get("me/messages").json()["value"][0]
    immutable = graph.get("me/messages", headers=IMMUTABLE).json()["value"][0]
    assert immutable["id"] != default["id"]
    moved = graph.post(f"me/messages/{default['id']}/move", json={"destinationId": "archive"})
    assert moved.status_code == 201
    assert moved.json()["id"] != default["id"]
    assert graph.get(f"me/messages/{default['id']}").json()["error"]["code"] == "ErrorItemNotFound"
    again = graph.get(f"me/messages/{immutable['id']}", headers=IMMUTABLE)
    assert again.json()["id"] == immutable["id"]
    archive = graph.get("me/mailFolders/archive").json()["id"]
    assert again.json()["parentFolderId"] == archive
    assert again.headers["Preference-Applied"] == 'IdType="ImmutableId"'


def test_patch_read_flag_and_categories(sandbox):
    seed_directory(sandbox)
    _deliver(sandbox, "alice@contoso.test", "patch me")
    graph = graph_for(sandbox, "alice@contoso.test")
    message = graph.get("me/messages").json()["value"][0]
    updated = graph.patch(
        f"me/messages/{message['id']}",
        json={"isRead": True, "flag": {"flagStatus": "flagged"}, "categories": ["Deal"]},
    ).json()
    assert updated["isRead"] is True and updated["flag"]["flagStatus"] == "flagged"
    assert updated["categories"] == ["Deal"] and updated["changeKey"] != message["changeKey"]
    rows = sandbox.microsoft.messages("alice@contoso.test")["messages"]
    assert rows[0]["isRead"] is True and rows[0]["flag"] == {"flagStatus": "flagged"}
    refused = graph.patch(f"me/messages/{message['id']}", json={"subject": "new"})
    assert refused.json()["error"]["code"] == "ErrorInvalidPropertyUpdateSentMessage"


def test_delete_removes_the_message(sandbox):
    seed_directory(sandbox)
    _deliver(sandbox, "alice@contoso.test", "bye")
    graph = graph_for(sandbox, "alice@contoso.test")
    message_id = graph.get("me/messages").json()["value"][0]["id"]
    assert graph.delete(f"me/messages/{message_id}").status_code == 204
    assert graph.get(f"me/messages/{message_id}").status_code == 404


def test_mime_value_returns_the_stored_source(sandbox):
    seed_directory(sandbox)
    _deliver(sandbox, "alice@contoso.test", "raw please", message_id="<raw@partner.test>")
    graph = graph_for(sandbox, "alice@contoso.test")
    message_id = graph.get("me/messages").json()["value"][0]["id"]
    source = graph.get(f"me/messages/{message_id}/$value").content
    assert b"Message-ID: <raw@partner.test>" in source


def test_filled_mailbox_maps_generator_folders_to_well_known_folders(sandbox):
    seed_directory(sandbox)
    sandbox.microsoft.fill("alice@contoso.test", seed=11, count=60)
    rows = sandbox.microsoft.messages("alice@contoso.test")["messages"]
    assert {r["folder"] for r in rows} <= {
        "inbox",
        "sentitems",
        "archive",
        "junkemail",
        "deleteditems",
        "drafts",
    }
    graph = graph_for(sandbox, "alice@contoso.test")
    total = sum(f["totalItemCount"] for f in graph.get("me/mailFolders").json()["value"])
    assert total == len(rows) == 60


def test_state_round_trips_through_json_with_tokens_and_ids_intact(sandbox, sandbox_server):
    seed_directory(sandbox)
    _deliver(sandbox, "alice@contoso.test", "persisted")
    graph = graph_for(sandbox, "alice@contoso.test")
    before = graph.get("me/messages").json()["value"]
    live = sandbox_server.sandbox
    with live.lock:
        saved = json.loads(json.dumps(live.microsoft.to_dict()))
        live.microsoft = MicrosoftState.from_dict(saved)
    after = graph.get("me/messages").json()["value"]
    assert [m["id"] for m in after] == [m["id"] for m in before]
    assert after[0]["subject"] == "persisted"

"""Graph attachments, sendMail, reply, drafts and their delivery between sandbox mailboxes."""

from __future__ import annotations

import base64

from tests.sandbox.graph_harness import graph_for, rfc822, seed_directory

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEA"
    "wS2OUAAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n% sandbox test document\n%%EOF\n"


def _multipart() -> str:
    png = base64.b64encode(PNG).decode()
    pdf = base64.b64encode(PDF).decode()
    return (
        "From: Carol <carol@partner.test>\r\nTo: alice@contoso.test\r\nSubject: Proposal\r\n"
        "Date: Tue, 07 Jan 2025 09:00:00 +0000\r\nMessage-ID: <prop@partner.test>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        '--outer\r\nContent-Type: multipart/related; boundary="rel"\r\n\r\n'
        "--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        '<html><body><p>See logo <img src="cid:logo@partner"></p></body></html>\r\n'
        "--rel\r\nContent-Type: image/png\r\nContent-ID: <logo@partner>\r\n"
        'Content-Disposition: inline; filename="logo.png"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{png}\r\n--rel--\r\n"
        '--outer\r\nContent-Type: application/pdf; name="proposal.pdf"\r\n'
        'Content-Disposition: attachment; filename="proposal.pdf"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--outer--\r\n"
    )


def test_attachments_list_get_and_value_with_inline_content_id(sandbox):
    seed_directory(sandbox)
    sandbox.microsoft.deliver("alice@contoso.test", _multipart())
    graph = graph_for(sandbox, "alice@contoso.test")
    message = graph.get("me/messages").json()["value"][0]
    assert message["hasAttachments"] is True and message["body"]["contentType"] == "html"
    listed = graph.get(f"me/messages/{message['id']}/attachments").json()["value"]
    by_name = {a["name"]: a for a in listed}
    logo, proposal = by_name["logo.png"], by_name["proposal.pdf"]
    assert logo["@odata.type"] == "#microsoft.graph.fileAttachment"
    assert (logo["isInline"], logo["contentId"], logo["contentType"]) == (
        True,
        "logo@partner",
        "image/png",
    )
    assert base64.b64decode(logo["contentBytes"]) == PNG
    assert (proposal["isInline"], proposal["size"]) == (False, len(PDF))
    one = graph.get(f"me/messages/{message['id']}/attachments/{proposal['id']}").json()
    assert one["name"] == "proposal.pdf"
    raw = graph.get(f"me/messages/{message['id']}/attachments/{proposal['id']}/$value")
    assert raw.content == PDF and raw.headers["Content-Type"] == "application/pdf"


def test_expand_attachments_inlines_them_in_the_message(sandbox):
    seed_directory(sandbox)
    sandbox.microsoft.deliver("alice@contoso.test", _multipart())
    graph = graph_for(sandbox, "alice@contoso.test")
    message = graph.get("me/messages", params={"$expand": "attachments"}).json()["value"][0]
    assert sorted(a["name"] for a in message["attachments"]) == ["logo.png", "proposal.pdf"]
    assert graph.get("me/messages", params={"$expand": "mentions"}).status_code == 400


def test_only_inline_attachments_leave_has_attachments_false(sandbox):
    seed_directory(sandbox)
    inline_only = _multipart().split("--outer\r\nContent-Type: application/pdf")[0]
    inline_only += "--outer--\r\n"
    sandbox.microsoft.deliver("alice@contoso.test", inline_only)
    message = graph_for(sandbox, "alice@contoso.test").get("me/messages").json()["value"][0]
    assert message["hasAttachments"] is False


def test_send_mail_reaches_another_users_inbox_and_sent_items(sandbox):
    seed_directory(sandbox)
    alice = graph_for(sandbox, "alice@contoso.test")
    response = alice.post(
        "me/sendMail",
        json={
            "message": {
                "subject": "Lunch?",
                "body": {"contentType": "HTML", "content": "<p>Noon?</p>"},
                "toRecipients": [{"emailAddress": {"address": "bob@contoso.test"}}],
                "attachments": [
                    {
                        "@odata.type": "#microsoft.graph.fileAttachment",
                        "name": "menu.pdf",
                        "contentType": "application/pdf",
                        "contentBytes": base64.b64encode(PDF).decode(),
                    }
                ],
            }
        },
    )
    assert response.status_code == 202 and response.content == b""
    received = graph_for(sandbox, "bob@contoso.test").get("me/mailFolders/inbox/messages").json()
    message = received["value"][0]
    assert message["subject"] == "Lunch?" and message["hasAttachments"] is True
    assert message["from"]["emailAddress"] == {
        "name": "Alice Archer",
        "address": "alice@contoso.test",
    }
    sent = alice.get("me/mailFolders/sentitems/messages").json()["value"][0]
    assert sent["internetMessageId"] == message["internetMessageId"]
    assert sent["isRead"] is True


def test_reply_threads_with_in_reply_to_and_references(sandbox):
    seed_directory(sandbox)
    alice = graph_for(sandbox, "alice@contoso.test")
    bob = graph_for(sandbox, "bob@contoso.test")
    alice.post(
        "me/sendMail",
        json={
            "message": {
                "subject": "Contract",
                "body": {"contentType": "Text", "content": "Draft attached."},
                "toRecipients": [{"emailAddress": {"address": "bob@contoso.test"}}],
            }
        },
    )
    original = bob.get("me/messages").json()["value"][0]
    assert (
        bob.post(f"me/messages/{original['id']}/reply", json={"comment": "Looks good."}).status_code
        == 202
    )
    reply = alice.get(
        "me/mailFolders/inbox/messages",
        params={"$select": "subject,internetMessageHeaders,conversationId,body"},
    ).json()["value"][0]
    headers = {h["name"]: h["value"] for h in reply["internetMessageHeaders"]}
    assert reply["subject"] == "RE: Contract"
    assert headers["In-Reply-To"] == original["internetMessageId"]
    assert original["internetMessageId"] in headers["References"]
    assert "Looks good." in reply["body"]["content"]
    sent = alice.get(
        "me/mailFolders/sentitems/messages", params={"$select": "conversationId"}
    ).json()["value"][0]
    assert sent["conversationId"] == reply["conversationId"]


def test_create_reply_all_draft_then_send(sandbox):
    directory = seed_directory(sandbox)
    sandbox.microsoft.create_user(directory.tenant_id, "carl@contoso.test", "Carl Cole")
    sandbox.microsoft.deliver(
        "alice@contoso.test",
        rfc822(
            sender="bob@contoso.test", to="alice@contoso.test, carl@contoso.test", subject="Plan"
        ),
    )
    alice = graph_for(sandbox, "alice@contoso.test")
    original = alice.get("me/messages").json()["value"][0]
    draft = alice.post(f"me/messages/{original['id']}/createReplyAll").json()
    assert draft["isDraft"] is True and draft["subject"] == "RE: Plan"
    assert {r["emailAddress"]["address"] for r in draft["toRecipients"]} == {
        "bob@contoso.test",
        "carl@contoso.test",
    }
    patched = alice.patch(
        f"me/messages/{draft['id']}", json={"body": {"contentType": "text", "content": "Agreed."}}
    ).json()
    assert patched["body"]["content"].strip() == "Agreed."
    assert alice.post(f"me/messages/{draft['id']}/send").status_code == 202
    assert alice.get("me/mailFolders/drafts").json()["totalItemCount"] == 0
    carl = graph_for(sandbox, "carl@contoso.test").get("me/messages").json()["value"]
    assert [m["subject"] for m in carl] == ["RE: Plan"]


def test_send_mail_without_recipients_is_rejected(sandbox):
    seed_directory(sandbox)
    response = graph_for(sandbox, "alice@contoso.test").post(
        "me/sendMail",
        json={"message": {"subject": "nobody", "body": {"contentType": "text", "content": "x"}}},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ErrorInvalidRecipients"


def test_send_as_a_mailbox_one_has_no_rights_to_is_denied(sandbox):
    seed_directory(sandbox)
    response = graph_for(sandbox, "alice@contoso.test").post(
        "me/sendMail",
        json={
            "message": {
                "subject": "spoof",
                "from": {"emailAddress": {"address": "bob@contoso.test"}},
                "toRecipients": [{"emailAddress": {"address": "bob@contoso.test"}}],
            }
        },
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ErrorSendAsDenied"


def test_adding_an_attachment_to_a_draft(sandbox):
    seed_directory(sandbox)
    alice = graph_for(sandbox, "alice@contoso.test")
    draft = alice.post(
        "me/messages",
        json={
            "subject": "With file",
            "toRecipients": [{"emailAddress": {"address": "x@partner.test"}}],
            "body": {"contentType": "text", "content": "see file"},
        },
    ).json()
    added = alice.post(
        f"me/messages/{draft['id']}/attachments",
        json={
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": "a.pdf",
            "contentBytes": base64.b64encode(PDF).decode(),
        },
    )
    assert added.status_code == 201 and added.json()["name"] == "a.pdf"
    names = [a["name"] for a in alice.get(f"me/messages/{draft['id']}/attachments").json()["value"]]
    assert names == ["a.pdf"]

"""Graph JSON the sandbox never sends but real Graph does: partial delta items, attached
messages, senders without an SMTP address, Message-IDs without brackets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from integrations.providers.mail import DriverContext, RemoteFlags
from integrations.providers.microsoft.graph import GraphClient
from integrations.providers.microsoft.graph_mail import GraphMailDriver
from integrations.providers.microsoft.graph_mail_parse import (
    attachment_from_json,
    message_from_json,
    wants_attachments,
)

BASE = "https://graph.example.test/v1.0"


def _unreachable() -> str:
    raise AssertionError("no provider call expected")


def offline_driver() -> GraphMailDriver:
    ctx = DriverContext("megan@contoso.test", token=_unreachable, renew=_unreachable)
    client = GraphClient(token=_unreachable, renew=_unreachable, base_url=BASE)
    return GraphMailDriver(ctx, client=client)


def full_item(item_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "receivedDateTime": "2025-01-06T10:00:05Z",
        "sentDateTime": "2025-01-06T10:00:00Z",
        "subject": "Hello",
        "body": {"contentType": "html", "content": "<p>Hi&nbsp;Megan,</p><p>Thanks</p>"},
        "bodyPreview": "Hi Megan, Thanks",
        "from": {"emailAddress": {"name": "Ana", "address": "Ana@Fabrikam.test"}},
        "toRecipients": [],
        "isRead": False,
        "flag": {"flagStatus": "notFlagged"},
        "parentFolderId": "inbox-id",
        "hasAttachments": False,
        **changes,
    }


def test_partial_delta_items_become_flags_or_fetches() -> None:
    # Real Graph can answer a read-state change with only id, isRead and parentFolderId.
    body = {
        "@odata.deltaLink": f"{BASE}/me/mailFolders/inbox/messages/delta?$deltatoken=x",
        "value": [
            {"id": "read-only", "isRead": True, "parentFolderId": "inbox-id"},
            {
                "id": "flags",
                "isRead": False,
                "flag": {"flagStatus": "flagged"},
                "parentFolderId": "inbox-id",
            },
            full_item("whole"),
            {"id": "gone", "@removed": {"reason": "changed"}},
        ],
    }

    page = offline_driver()._page("inbox", body)

    assert page.final and page.cursor == body["@odata.deltaLink"]
    assert page.fetch == ("read-only",)
    assert page.flags == (RemoteFlags("flags", ("inbox-id",), is_read=False, is_starred=True),)
    assert [m.provider_id for m in page.messages] == ["whole"]
    assert page.removed == ("gone",)


def test_odd_message_json_normalizes() -> None:
    message = message_from_json(
        full_item(
            "m1",
            internetMessageId="abc@legacy.test",
            sender={"emailAddress": {"name": "Relay", "address": "relay@fabrikam.test"}},
            toRecipients=[
                {"emailAddress": {"name": "Megan", "address": None}},
                {"emailAddress": {"name": "/O=EXCHANGELABS/OU=X/CN=RECIPIENTS/CN=B0B"}},
                {"emailAddress": {"name": "megan@contoso.test", "address": "MEGAN@contoso.test"}},
            ],
            internetMessageHeaders=None,
            sentDateTime=None,
            receivedDateTime="2025-01-06T10:00:05.123+01:00",
        )
    )
    assert message.rfc_message_id == "<abc@legacy.test>"
    assert message.sender is not None and message.sender.address == "ana@fabrikam.test"
    assert [(a.address, a.name) for a in message.to] == [("megan@contoso.test", "")]
    assert message.sent_at == message.received_at
    assert message.received_at == datetime(2025, 1, 6, 9, 0, 5, 123000, tzinfo=UTC)
    assert message.html_body.startswith("<p>Hi") and message.text_body == ""
    assert message.snippet == "Hi Megan, Thanks"
    assert (message.in_reply_to, message.references) == ("", ())


def test_attached_messages_and_broken_bytes_are_kept() -> None:
    item = attachment_from_json(
        {
            "@odata.type": "#microsoft.graph.itemAttachment",
            "id": "att-1",
            "name": "Fwd: Hello",
            "contentType": None,
            "size": 108189,
            "isInline": False,
        }
    )
    assert (item.content_type, item.filename, item.data) == ("message/rfc822", "Fwd: Hello", None)
    broken = attachment_from_json(
        {"id": "att-2", "name": "x.png", "isInline": True, "size": 3, "contentBytes": "%%%"},
        keep_data_up_to=10,
    )
    assert broken.data is None and broken.provider_attachment_id == "att-2"


def test_attachments_are_listed_when_the_mime_structure_says_so() -> None:
    def headers(content_type: str) -> list[dict[str, str]]:
        return [{"name": "Subject", "value": "x"}, {"name": "Content-Type", "value": content_type}]

    plain = full_item("a", body={"contentType": "text", "content": "hi"})
    assert not wants_attachments(plain)
    assert wants_attachments(full_item("b", hasAttachments=True))
    # Graph says hasAttachments=false when all attachments are inline, cited or not.
    assert wants_attachments(
        full_item("c", body={"contentType": "html", "content": "<img src='CID:x'>"})
    )
    assert wants_attachments(
        full_item("d", internetMessageHeaders=headers('multipart/mixed; boundary="b"'))
    )
    assert wants_attachments(full_item("e", internetMessageHeaders=headers("multipart/signed")))
    assert not wants_attachments(
        full_item("f", internetMessageHeaders=headers("multipart/alternative; boundary=b"))
    )
    assert not wants_attachments(full_item("g", internetMessageHeaders=headers("text/plain")))

"""The Google state itself: ids, history ids, generated mailboxes, persistence round trip."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from integrations.sandbox.generator import Person, generate_mailbox
from integrations.sandbox.google.gmail_delivery import fill_mailbox
from integrations.sandbox.google.gmail_store import Mailbox, Watch
from integrations.sandbox.google.state import GoogleState, PushEndpoint

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RAW = b"From: a@x.test\r\nTo: b@y.test\r\nSubject: Hi\r\nMessage-ID: <%d@x.test>\r\n\r\nHi\r\n"


def test_message_ids_are_16_hex_digits_growing_with_the_internal_date() -> None:
    box = Mailbox("b@y.test")
    older = box.add(RAW % 1, ["INBOX"], 1_700_000_000_000, 0.0)
    newer = box.add(RAW % 2, ["INBOX"], 1_700_000_100_000, 0.0)
    assert re.fullmatch(r"[0-9a-f]{16}", older.id) and re.fullmatch(r"[0-9a-f]{16}", newer.id)
    assert newer.id > older.id


def test_history_ids_strictly_increase_with_gaps() -> None:
    box = Mailbox("b@y.test")
    message = box.add(RAW % 1, ["INBOX", "UNREAD"], 1_700_000_000_000, 0.0)
    box.change_labels(message, [], ["UNREAD"], 0.0)
    box.change_labels(message, ["STARRED"], [], 0.0)
    ids = [record.id for record in box.history]
    assert ids == sorted(set(ids))
    assert message.history_id == ids[-1] == box.history_id


def test_fill_maps_folders_to_labels_and_threads_by_thread_key() -> None:
    owner = Person("Ana Ruiz", "ana@acme.test")
    items = generate_mailbox(owner=owner, seed=3, count=200, now=NOW)
    box = Mailbox(owner.email)
    assert fill_mailbox(box, items, NOW.timestamp()) == len(items)
    labels = {label for m in box.messages.values() for label in m.label_ids}
    assert {"INBOX", "SENT", "UNREAD", "CATEGORY_PERSONAL"} <= labels
    keys = {item.thread_key for item in items}
    assert len(box.threads) == len(keys)
    assert fill_mailbox(box, items, NOW.timestamp()) == 0  # the same seed twice adds nothing


def test_state_survives_a_json_round_trip() -> None:
    state = GoogleState()
    user = state.add_user("Ana@Acme.test", "Ana Ruiz", NOW.timestamp())
    message = user.mailbox.add(RAW % 1, ["INBOX"], 1_700_000_000_000, NOW.timestamp())
    label = user.mailbox.create_label("Deals", "show", "labelShow", None)
    user.mailbox.change_labels(message, [label.id], [], NOW.timestamp())
    user.mailbox.watch = Watch("projects/p/topics/t", ["INBOX"], "include", 1)
    state.push_endpoints["projects/p/topics/t"] = PushEndpoint(
        "projects/p/topics/t",
        "https://hook.test/push",
        "aud",
        "projects/p/subscriptions/s",
        "push@p.iam.gserviceaccount.com",
    )
    token = state.oauth.issue_access_token(user.email, "client", ["openid"], NOW.timestamp())
    kid = state.signing_key.kid
    restored = GoogleState.from_dict(json.loads(json.dumps(state.to_dict())))
    again = restored.user("ana@acme.test")
    assert again is not None
    copy = again.mailbox.messages[message.id]
    assert copy.raw == message.raw and copy.label_ids == ["INBOX", label.id]
    assert again.mailbox.history_id == user.mailbox.history_id
    assert again.mailbox.labels[label.id].name == "Deals"
    assert again.mailbox.watch == user.mailbox.watch
    assert restored.oauth.live_access_token(token.token, NOW.timestamp()) is not None
    assert restored.push_endpoints == state.push_endpoints
    assert restored.signing_key.kid == kid
    assert (again.calendar is None) == (user.calendar is None)

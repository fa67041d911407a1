"""CPython's own e-mail test corpus, delivered to sandbox mailboxes and synced by both drivers.

The ``msg_*.txt`` files are read at run time from the running Python's ``test/test_email/data``
(never copied into the repository): mail that exercised the standard library's parser, with
odd charsets, broken boundaries, nested messages and missing headers. Every message must sync
without a crash, and no MIME part may be dropped silently: each leaf part is either a body or
a RemoteAttachment.
"""

from __future__ import annotations

import sysconfig
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from pathlib import Path
from typing import Any

import pytest

from integrations.providers.mail import RemoteMessage, SyncWindow
from integrations.providers.microsoft.graph_mail import build_driver
from integrations.sandbox.client import SandboxClient
from tests.providers.gmail_support import GmailBox, gmail_box
from tests.providers.graph_support import OWNER, initial_sync, make_graph_world

CORPUS = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"
BODY_TYPES = ("text/plain", "text/html")
EVERYTHING = SyncWindow(since=None, include_categories=True)


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.skip(
            f"this Python has no test package ({CORPUS} is missing): install the distribution's "
            "python3-test / libpython3.x-testsuite package to run the corpus test"
        )
    files = sorted(CORPUS.glob("msg_*.txt"))
    if not files:
        pytest.skip(f"no msg_*.txt files in {CORPUS}")
    return files


@dataclass(frozen=True)
class Leaf:
    part_id: str  # Gmail's numbering: "" for the root, "0", "1.0"...
    content_type: str


def gmail_leaves(part: Message, part_id: str = "") -> list[Leaf]:
    """The leaf parts as Gmail numbers them: an attached message is one leaf, not a subtree."""
    content_type = part.get_content_type()
    if content_type != "message/rfc822" and part.is_multipart():
        prefix = f"{part_id}." if part_id else ""
        children = part.get_payload()
        assert isinstance(children, list)
        return [
            leaf
            for index, child in enumerate(children)
            for leaf in gmail_leaves(child, f"{prefix}{index}")
        ]
    return [] if is_empty_container(part) else [Leaf(part_id, content_type)]


def is_empty_container(part: Message) -> bool:
    """A multipart whose boundary never appears (msg_39): no parts and no bytes to keep."""
    return part.get_content_maintype() == "multipart" and not part.get_payload()


def assert_nothing_dropped(leaves: list[Leaf], message: RemoteMessage, name: str) -> None:
    attached = {attachment.part_id for attachment in message.attachments}
    assert attached <= {leaf.part_id for leaf in leaves}, name
    bodies = [leaf.content_type for leaf in leaves if leaf.part_id not in attached]
    # What is not an attachment can only be the (first) text body and the (first) HTML body.
    assert all(kind in BODY_TYPES for kind in bodies), (name, bodies)
    assert len(bodies) == len(set(bodies)), (name, bodies)


def test_every_corpus_message_syncs_through_the_gmail_driver_without_dropping_parts(
    sandbox: SandboxClient, settings: Any
) -> None:
    files = corpus_files()
    box: GmailBox = gmail_box(sandbox, settings)
    delivered = {box.deliver(path.read_bytes()): path for path in files}
    driver = box.driver()

    results = driver.fetch(list(delivered))

    assert len(results) == len(files)
    for result in results:
        assert isinstance(result, RemoteMessage), result
        path = delivered[result.provider_id]
        source = message_from_bytes(path.read_bytes(), policy=compat32)
        assert_nothing_dropped(gmail_leaves(source), result, path.name)
        for attachment in result.attachments:
            data = driver.fetch_attachment(
                provider_message_id=result.provider_id, attachment=attachment
            )
            assert len(data) == attachment.size, (path.name, attachment)
    # And the listing finds them all, like a first sync would.
    listed = {
        i for page in driver.changes(stream="", cursor=None, window=EVERYTHING) for i in page.fetch
    }
    assert listed == set(delivered)


# -- Graph half ----------------------------------------------------------------------------------


def exchange_attachment_count(source: Message) -> int:
    """How many attachments Exchange makes of a message: every leaf but the body, which is the
    first text/plain and the first text/html part that are neither named nor attachments. A
    multipart whose boundary never appears (msg_39) is a leaf too: an empty attachment."""
    bodies: set[str] = set()
    count = 0
    for part in source.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        named = part.get_filename() is not None or part.get_content_disposition() == "attachment"
        if kind in BODY_TYPES and not named and kind not in bodies:
            bodies.add(kind)
            continue
        count += 1
    return count


def test_every_corpus_message_syncs_through_the_graph_driver_without_dropping_parts(
    sandbox: SandboxClient, settings: Any
) -> None:
    files = corpus_files()
    world = make_graph_world(sandbox, settings)
    delivered = {world.deliver(path.read_bytes()): path for path in files}
    driver = build_driver(world.context(world.vault()))

    synced, _ = initial_sync(driver, EVERYTHING)

    assert set(synced) == set(delivered)
    # Inline parts nothing cites (msg_04, msg_33, msg_36, msg_39) come with hasAttachments=false
    # from Graph: the driver must still list them.
    for provider_id, path in delivered.items():
        message = synced[provider_id]
        source = message_from_bytes(path.read_bytes(), policy=compat32)
        assert len(message.attachments) == exchange_attachment_count(source), path.name
        assert message.folder_ids and message.received_at, path.name
        for attachment in message.attachments:
            data = driver.fetch_attachment(provider_message_id=provider_id, attachment=attachment)
            assert len(data) == attachment.size, (path.name, attachment)
    assert len(sandbox.microsoft.messages(OWNER)["messages"]) == len(files)

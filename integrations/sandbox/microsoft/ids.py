"""Identifiers shaped like Microsoft's: GUIDs for directory objects, Exchange-style item ids."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid


def new_guid() -> str:
    return str(uuid.uuid4())


def _exchange_id(prefix: bytes, body: bytes) -> str:
    # Exchange ids are URL-safe base64 of a binary entry id, "=" padding kept.
    return base64.urlsafe_b64encode(prefix + body).decode("ascii")


def rest_item_id(mailbox_oid: str) -> str:
    """A default (REST) item id: tied to the item's current folder, so a move changes it."""
    return _exchange_id(
        b"\x00\x00\x00\x00\x1b\x24\x00" + uuid.UUID(mailbox_oid).bytes[:8],
        b"\x46\x00\x00" + secrets.token_bytes(33),
    )


def immutable_item_id(mailbox_oid: str) -> str:
    """An immutable id (Prefer: IdType="ImmutableId"): stable for the item's whole life."""
    return _exchange_id(
        b"\x00\x09\x00\x2e\x00" + uuid.UUID(mailbox_oid).bytes[:8],
        b"\x00\x00" + secrets.token_bytes(30),
    )


def folder_id(mailbox_oid: str) -> str:
    return _exchange_id(
        b"\x00\x00\x00\x00\x1b\x24\x00" + uuid.UUID(mailbox_oid).bytes[:8],
        b"\x2e\x00\x00" + secrets.token_bytes(21),
    )


def event_id(mailbox_oid: str) -> str:
    return _exchange_id(
        b"\x00\x00\x00\x00\x1b\x24\x00" + uuid.UUID(mailbox_oid).bytes[:8],
        b"\x46\x00\x00" + secrets.token_bytes(30),
    )


def occurrence_id(master_id: str, original_start_iso: str) -> str:
    """Occurrence ids are derived from the series and the original start, so they are stable."""
    digest = hashlib.sha256(f"{master_id}|{original_start_iso}".encode()).digest()
    return _exchange_id(b"\x00\x00\x00\x00\x1b\x24\x00\x51", digest + b"\x00\x10")


def change_key() -> str:
    return base64.b64encode(b"\x09\x00\x00\x00\x16\x00\x00\x00" + secrets.token_bytes(12)).decode()


def opaque_token(nbytes: int = 48) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode("ascii").rstrip("=")


def attachment_id(message_immutable_id: str, index: int) -> str:
    digest = hashlib.sha256(f"{message_immutable_id}|{index}".encode()).digest()[:20]
    return _exchange_id(b"\x00\x00\x00\x00\x1b\x24\x00\x12\x00\x10", digest + bytes([index % 256]))

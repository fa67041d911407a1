"""Content fetched from the provider on first use and kept: message bodies, attachment bytes.

A message stored without its body (``Message.body_fetched`` False) gets it from one of its
copies' mailboxes the first time someone opens it; an attachment's bytes are downloaded the
first time someone asks and kept in ``Attachment.content`` (the default storage). Every later
read is served locally.

Attachment ids are per mailbox (and Gmail's may change), and small Gmail parts come inside the
message rather than by id: when the stored id does not work, the message is fetched again and
the part found by its part id (Gmail) or its name, type and size; every part that came with the
message is kept at once, so a mail with ten small inline images costs one provider call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar

from django.core.files.base import ContentFile
from django.db.models import Case, IntegerField, Value, When

from integrations.connections.services import ConnectionUnusable, connection_mark_expired
from integrations.mail.models import Attachment, Message, MessageCopy
from integrations.mail.sync.drivers import mailbox_driver
from integrations.providers.base import InvalidGrant, ProviderError, ProviderUnavailable
from integrations.providers.mail import (
    FetchFailure,
    MailDriver,
    ProviderThrottled,
    RemoteAttachment,
    RemoteMessage,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")


_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


def media_type(attachment: Attachment) -> str:
    """The stored content type when it is a plain ``type/subtype``, else octet-stream."""
    value = (attachment.content_type or "").split(";", 1)[0].strip().lower()
    return value if _MEDIA_TYPE.match(value) else "application/octet-stream"


class ContentUnavailable(Exception):
    """The provider could not give the content now. ``code``: ProviderThrottled (retry after
    ``retry_after`` seconds), ProviderUnavailable, ConnectionExpired (reconnect a mailbox) or
    ContentGone (no mailbox holds it any more)."""

    def __init__(self, message: str, *, code: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retry_after = retry_after


class _Gone(Exception):
    """This copy (or this part of it) is not at the provider any more: try the next copy."""


def _copies(message: Message, first: int | None = None) -> list[MessageCopy]:
    """The message's copies to fetch from: ``first`` (the copy its data came from) first."""
    copies = MessageCopy.objects.filter(message=message).select_related("mailbox__connection")
    if first is not None:
        copies = copies.annotate(
            preferred=Case(
                When(pk=first, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        ).order_by("preferred", "pk")
    else:
        copies = copies.order_by("pk")
    return list(copies)


def _from_some_copy(
    copies: list[MessageCopy], what: str, call: Callable[[MailDriver, MessageCopy], T]
) -> T:
    """``call`` with the driver of each copy's mailbox in turn, until one works.

    Throttling and outages end the attempt at once (another mailbox of the same provider would
    be throttled too); a dead grant or a vanished copy moves on to the next copy.
    """
    expired = False
    for copy in copies:
        try:
            return call(mailbox_driver(copy.mailbox), copy)
        except ProviderThrottled as exc:
            raise ContentUnavailable(
                "The provider is throttling requests; try again shortly.",
                code="ProviderThrottled",
                retry_after=exc.retry_after,
            ) from exc
        except ProviderUnavailable as exc:
            raise ContentUnavailable(exc.user_message, code="ProviderUnavailable") from exc
        except InvalidGrant as exc:
            connection_mark_expired(connection=copy.mailbox.connection, message=exc.user_message)
            expired = True
        except ConnectionUnusable:
            expired = True
        except (_Gone, ProviderError) as exc:
            logger.info("mailbox %s could not give %s: %s", copy.mailbox_id, what, exc)
    if expired:
        raise ContentUnavailable(
            "The mailbox holding this e-mail must be reconnected before its content can be read.",
            code="ConnectionExpired",
        )
    raise ContentUnavailable(f"No mailbox holds this {what} any more.", code="ContentGone")


def _fetch_message(driver: MailDriver, copy: MessageCopy) -> RemoteMessage:
    results = driver.fetch([copy.provider_message_id])
    result = results[0] if results else None
    if isinstance(result, RemoteMessage):
        return result
    if isinstance(result, FetchFailure) and not result.permanent:
        raise ProviderUnavailable(f"The provider could not send the message ({result.reason}).")
    raise _Gone()


# -- bodies --------------------------------------------------------------------------------------


def message_body_ensure(*, message: Message) -> Message:
    """``message`` with its body: as stored, or fetched from the provider now and stored.

    Raises ContentUnavailable when no mailbox can give it now.
    """
    if message.body_fetched:
        return message
    remote = _from_some_copy(_copies(message), "message", _fetch_message)
    message.text_body = remote.text_body
    message.html_body = remote.html_body
    message.snippet = message.snippet or remote.snippet[:300]
    message.body_fetched = True
    message.save(update_fields=["text_body", "html_body", "snippet", "body_fetched", "updated_at"])
    _keep_parts(message, list(Attachment.objects.filter(message=message)), remote)
    return message


# -- attachments ---------------------------------------------------------------------------------


def _same_part(stored: Attachment, remote: RemoteAttachment) -> bool:
    if stored.part_id and remote.part_id:
        return stored.part_id == remote.part_id
    if (
        stored.provider_attachment_id
        and stored.provider_attachment_id == remote.provider_attachment_id
    ):
        return True
    return (stored.filename, stored.content_type, stored.content_id) == (
        remote.filename[:255],
        remote.content_type[:255] or "application/octet-stream",
        remote.content_id[:255],
    ) and (not stored.size or not remote.size or stored.size == remote.size)


def _keep(attachment: Attachment, data: bytes) -> None:
    """Store the bytes once: a concurrent request that stored them first wins."""
    field = attachment.content.field
    name = field.storage.save(field.generate_filename(attachment, ""), ContentFile(data))
    updated = Attachment.objects.filter(pk=attachment.pk, content="").update(
        content=name, size=attachment.size or len(data)
    )
    if updated:
        attachment.content.name = name
        return
    field.storage.delete(name)
    attachment.refresh_from_db(fields=["content", "size"])


def _keep_parts(message: Message, stored: list[Attachment], remote: RemoteMessage) -> None:
    """Keep the bytes of every part that came with the message; add parts never recorded."""
    if not stored and remote.attachments:
        Attachment.objects.bulk_create(
            Attachment(
                message=message,
                provider_attachment_id=a.provider_attachment_id[:1024],
                part_id=a.part_id[:64],
                filename=a.filename[:255],
                content_type=a.content_type[:255] or "application/octet-stream",
                size=a.size,
                content_id=a.content_id[:255],
                is_inline=a.is_inline,
                organization_id=message.organization_id,
            )
            for a in remote.attachments
        )
        stored = list(Attachment.objects.filter(message=message))
    for attachment in stored:
        if attachment.content:
            continue
        part = next((r for r in remote.attachments if _same_part(attachment, r)), None)
        if part is not None and part.data is not None:
            _keep(attachment, part.data)


def _download(attachment: Attachment) -> Callable[[MailDriver, MessageCopy], bytes]:
    def call(driver: MailDriver, copy: MessageCopy) -> bytes:
        if attachment.provider_attachment_id:
            stored = RemoteAttachment(
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=attachment.size,
                provider_attachment_id=attachment.provider_attachment_id,
                part_id=attachment.part_id,
                content_id=attachment.content_id,
                is_inline=attachment.is_inline,
            )
            try:
                return driver.fetch_attachment(
                    provider_message_id=copy.provider_message_id, attachment=stored
                )
            except (ProviderThrottled, ProviderUnavailable, InvalidGrant):
                raise
            except ProviderError:
                pass  # an id of another mailbox, or one Gmail renewed: find the part again
        remote = _fetch_message(driver, copy)
        _keep_parts(attachment.message, list(attachment.message.attachments.all()), remote)
        attachment.refresh_from_db(fields=["content"])
        if attachment.content:
            return b""  # kept by _keep_parts with the message's other parts
        part = next((r for r in remote.attachments if _same_part(attachment, r)), None)
        if part is None:
            raise _Gone()
        return driver.fetch_attachment(
            provider_message_id=copy.provider_message_id, attachment=part
        )

    return call


def attachment_content_ensure(*, attachment: Attachment) -> Attachment:
    """``attachment`` with its bytes in ``content``: kept, or downloaded now and kept.

    Raises ContentUnavailable when no mailbox can give them now.
    """
    if attachment.content:
        return attachment
    data = _from_some_copy(
        _copies(attachment.message, attachment.copy_id), "attachment", _download(attachment)
    )
    if not attachment.content:
        _keep(attachment, data)
    return attachment

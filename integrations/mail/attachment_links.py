"""Signed, short-lived links to one attachment, for images inside the sandboxed body frame.

The body of an e-mail is shown in an iframe sandboxed without ``allow-same-origin``: its
origin is opaque, so the browser treats its image requests as cross-site and leaves the
SameSite=Lax session cookie at home. Inline (``cid:``) images therefore point at the attachment
endpoint with ``?sig=``: a token signed with SECRET_KEY naming the organization, the person,
the message and the attachment. The endpoint still checks that this person may see the
message's content when the link is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core import signing

SALT = "liaison.mail.attachment-link"
LINK_MAX_AGE = timedelta(hours=8)


@dataclass(frozen=True)
class AttachmentGrant:
    """What a valid link lets its bearer read: one attachment, as one member."""

    organization_id: int
    user_id: int
    message_id: int
    attachment_id: int


def attachment_link_token(
    *, organization_id: int, user_id: int, message_id: int, attachment_id: int
) -> str:
    return signing.dumps(
        [organization_id, user_id, message_id, attachment_id], salt=SALT, compress=False
    )


def attachment_link_grant(token: str) -> AttachmentGrant | None:
    """The grant a token carries, or None when it is forged, altered or expired."""
    try:
        values = signing.loads(token, salt=SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    if (
        not isinstance(values, list)
        or len(values) != 4
        or not all(isinstance(v, int) for v in values)
    ):
        return None
    return AttachmentGrant(*values)

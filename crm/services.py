"""Writes: organizations, memberships, invitations, API tokens, and the CRM records."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import models, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from crm.models import (
    Account,
    AccountDomain,
    ApiToken,
    Contact,
    ContactEmail,
    Deal,
    DealContact,
    Invitation,
    Membership,
    Organization,
    Role,
    Task,
    TaskStatus,
    User,
)
from crm.models.records import normalize_domain, normalize_email
from crm.models.tenants import TokenScope, hash_secret
from crm.tenancy import all_tenants, tenant_context

logger = logging.getLogger(__name__)

# --- Organizations and people -----------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "organization"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def organization_create(
    *, name: str, owner: User, email_domains: Sequence[str] = ()
) -> Organization:
    organization = Organization.objects.create(
        name=name.strip(),
        slug=_unique_slug(name),
        email_domains=sorted({normalize_domain(d) for d in email_domains if d.strip()}),
    )
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    return organization


def membership_set_role(*, membership: Membership, role: str) -> Membership:
    if membership.role == Role.OWNER and role != Role.OWNER:
        owners = Membership.objects.filter(organization=membership.organization, role=Role.OWNER)
        if owners.count() <= 1:
            raise ValidationError("An organization keeps at least one owner.")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


def membership_remove(*, membership: Membership) -> None:
    if membership.role == Role.OWNER:
        owners = Membership.objects.filter(organization=membership.organization, role=Role.OWNER)
        if owners.count() <= 1:
            raise ValidationError("The last owner cannot leave the organization.")
    membership.delete()


def invitation_create(*, email: str, role: str, invited_by: User) -> Invitation:
    """An invitation in the current organization; a pending one for the address is renewed."""
    email = normalize_email(email)
    validate_email(email)
    pending = Invitation.objects.filter(email=email, accepted_at__isnull=True).first()
    if pending is not None:
        pending.role = role
        pending.expires_at = Invitation._meta.get_field("expires_at").get_default()
        pending.save(update_fields=["role", "expires_at"])
        return pending
    return Invitation.objects.create(email=email, role=role, invited_by=invited_by)


def invitation_by_key(key: str) -> Invitation | None:
    """An invitation from its link; the key is the only way in, whatever the organization."""
    with all_tenants():
        return (
            Invitation.objects.unscoped()
            .select_related("organization", "invited_by")
            .filter(key=key)
            .first()
        )


def invitation_send(*, invitation: Invitation, accept_url: str) -> bool:
    """E-mail the invitation link; False when the mail server refused (the link still works)."""
    context = {"invitation": invitation, "accept_url": accept_url}
    subject = render_to_string("crm/emails/invitation_subject.txt", context).strip()
    body = render_to_string("crm/emails/invitation_message.txt", context)
    try:
        send_mail(subject, body, None, [invitation.email])
    except (smtplib.SMTPException, OSError):
        logger.exception("Could not send the invitation e-mail to %s", invitation.email)
        return False
    return True


def invitation_revoke(*, invitation: Invitation) -> None:
    """Withdraw an invitation: its link stops working at once."""
    invitation.delete()


INVITATION_UNAVAILABLE = "invitation_unavailable"
INVITATION_OTHER_ADDRESS = "invitation_other_address"


def invitation_check(*, invitation: Invitation, user: User) -> None:
    """Raise ValidationError unless ``user`` may accept: pending, and sent to their address.

    The key alone is not enough: a forwarded link must not let someone else take the seat.
    The error's ``code`` is INVITATION_UNAVAILABLE or INVITATION_OTHER_ADDRESS.
    """
    if not invitation.is_pending:
        raise ValidationError(
            "This invitation has expired or was already used.", code=INVITATION_UNAVAILABLE
        )
    if normalize_email(user.email) != normalize_email(invitation.email):
        raise ValidationError(
            f"This invitation was sent to {invitation.email}, but you are signed in as "
            f"{user.email}. Sign in as {invitation.email} to accept it.",
            code=INVITATION_OTHER_ADDRESS,
        )


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    invitation_check(invitation=invitation, user=user)
    with tenant_context(invitation.organization):
        membership, _ = Membership.objects.get_or_create(
            user=user, organization=invitation.organization, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


# --- API tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def api_token_issue(*, user: User, description: str, scopes: Iterable[str]) -> IssuedToken:
    """A new token in the current organization; only the SHA-256 of the secret is kept."""
    scopes = sorted(set(scopes))
    valid = {choice.value for choice in TokenScope}
    unknown = [s for s in scopes if s not in valid]
    if not scopes or unknown:
        raise ValidationError(f"Scopes must be among {sorted(valid)}.")
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(
        user=user,
        description=description.strip(),
        scopes=scopes,
        key_hash=hash_secret(secret),
        prefix=secret[:12],
    )
    return IssuedToken(token=token, secret=secret)


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


# --- CRM records --------------------------------------------------------------------------------


def _clean_emails(emails: Sequence[Any]) -> list[tuple[str, bool]]:
    """``["a@x"]`` or ``[{"email", "is_primary"}]`` → normalized pairs with one primary."""
    pairs: list[tuple[str, bool]] = []
    seen: set[str] = set()
    for item in emails:
        address, primary = (
            (item, False)
            if isinstance(item, str)
            else (
                item.get("email", ""),
                bool(item.get("is_primary", False)),
            )
        )
        address = normalize_email(address)
        validate_email(address)
        if address not in seen:
            seen.add(address)
            pairs.append((address, primary))
    if pairs and not any(primary for _, primary in pairs):
        pairs[0] = (pairs[0][0], True)
    first_primary = next(i for i, (_, p) in enumerate(pairs) if p) if pairs else -1
    return [(address, i == first_primary) for i, (address, _) in enumerate(pairs)]


def _refuse_taken(others: models.QuerySet[Any], *, field: str, error_key: str, holder: str) -> None:
    """Refuse values (addresses, domains) that ``others`` (another record's rows) already hold."""
    taken = list(others.values_list(field, flat=True))
    if taken:
        raise ValidationError(
            {error_key: [f"{value} already belongs to another {holder}." for value in taken]}
        )


def contact_set_emails(*, contact: Contact, emails: Sequence[Any]) -> None:
    pairs = _clean_emails(emails)
    others = ContactEmail.objects.filter(email__in=[a for a, _ in pairs]).exclude(contact=contact)
    _refuse_taken(others, field="email", error_key="emails", holder="contact")
    ContactEmail.objects.filter(contact=contact).exclude(email__in=[a for a, _ in pairs]).delete()
    existing = {e.email: e for e in ContactEmail.objects.filter(contact=contact)}
    for address, primary in pairs:
        row = existing.get(address)
        if row is None:
            ContactEmail.objects.create(contact=contact, email=address, is_primary=primary)
        elif row.is_primary != primary:
            row.is_primary = primary
            row.save(update_fields=["is_primary"])


def account_set_domains(*, account: Account, domains: Sequence[str]) -> None:
    cleaned = sorted({normalize_domain(d) for d in domains if d and d.strip()})
    others = AccountDomain.objects.filter(domain__in=cleaned).exclude(account=account)
    _refuse_taken(others, field="domain", error_key="domains", holder="account")
    AccountDomain.objects.filter(account=account).exclude(domain__in=cleaned).delete()
    have = set(AccountDomain.objects.filter(account=account).values_list("domain", flat=True))
    AccountDomain.objects.bulk_create(
        [
            AccountDomain(account=account, domain=d, organization=account.organization)
            for d in cleaned
            if d not in have
        ]
    )


R = TypeVar("R", Account, Contact, Deal, Task)


def _record_save(record: R, fields: dict[str, Any]) -> R:
    """Assign, validate (incl. same-organization references) and save only what changed."""
    for name, value in fields.items():
        setattr(record, name, value)
    record.full_clean(exclude=["organization"])
    if record.pk and fields:
        record.save(update_fields=[*fields, "updated_at"])
    else:
        record.save()
    return record


@transaction.atomic
def account_save(
    *, account: Account | None = None, domains: Sequence[str] | None = None, **fields: Any
) -> Account:
    account = _record_save(account or Account(), fields)
    if domains is not None:
        account_set_domains(account=account, domains=domains)
    return account


@transaction.atomic
def contact_save(
    *, contact: Contact | None = None, emails: Sequence[Any] | None = None, **fields: Any
) -> Contact:
    contact = _record_save(contact or Contact(), fields)
    if emails is not None:
        contact_set_emails(contact=contact, emails=emails)
    return contact


@transaction.atomic
def deal_save(
    *, deal: Deal | None = None, contacts: Sequence[Contact] | None = None, **fields: Any
) -> Deal:
    deal = _record_save(deal or Deal(), fields)
    if contacts is not None:
        wanted = {c.pk for c in contacts}
        DealContact.objects.filter(deal=deal).exclude(contact_id__in=wanted).delete()
        have = set(DealContact.objects.filter(deal=deal).values_list("contact_id", flat=True))
        DealContact.objects.bulk_create(
            [
                DealContact(deal=deal, contact_id=pk, organization=deal.organization)
                for pk in wanted - have
            ]
        )
    return deal


@transaction.atomic
def task_save(*, task: Task | None = None, **fields: Any) -> Task:
    task = task or Task()
    if "status" in fields:
        done = fields["status"] == TaskStatus.DONE
        if done and task.completed_at is None:
            fields["completed_at"] = timezone.now()
        elif not done:
            fields["completed_at"] = None
    return _record_save(task, fields)


def record_delete(*, record: models.Model) -> None:
    """Delete a CRM record; links to it (tasks, contacts of an account) are cleared, not deleted."""
    record.delete()

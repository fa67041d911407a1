"""Mail's reactions to other apps' events."""

from typing import Any

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from crm.models import Organization
from crm.models.records import normalize_domain
from integrations.connections.signals import connection_connected
from integrations.mail import services
from integrations.mail.tasks_matching import relink_later

# The organization's own domains as stored before the save under way (set by pre_save).
_DOMAINS_BEFORE = "_mail_email_domains_before"


@receiver(connection_connected, dispatch_uid="mail-mailbox-for-connection")
def _mailbox_for_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    services.mailbox_for_connection(connection=connection)


def _own_domains(domains: Any) -> set[str]:
    return {normalize_domain(d) for d in domains or () if isinstance(d, str) and d.strip()}


@receiver(pre_save, sender=Organization, dispatch_uid="mail-organization-domains-before")
def _organization_domains_before(
    sender: Any,
    instance: Organization,
    raw: bool = False,
    update_fields: Any = None,
    **kw: Any,
) -> None:
    if raw or instance.pk is None:
        return
    if update_fields is not None and "email_domains" not in update_fields:
        return
    before = Organization.objects.filter(pk=instance.pk).values_list("email_domains", flat=True)
    setattr(instance, _DOMAINS_BEFORE, _own_domains(before.first()))


@receiver(post_save, sender=Organization, dispatch_uid="mail-organization-domains-changed")
def _organization_domains_changed(
    sender: Any, instance: Organization, created: bool = False, raw: bool = False, **kw: Any
) -> None:
    """A domain that became the organization's own is internal: its people lose the accounts
    their domain gave them, and mail with them is internal or outbound; one that stopped being
    its own matches accounts again, and its mail is inbound again."""
    before: set[str] | None = instance.__dict__.pop(_DOMAINS_BEFORE, None)
    if raw or created or before is None:
        return
    changed = before ^ _own_domains(instance.email_domains)
    if changed:
        relink_later(organization_id=instance.pk, own_domains=changed)

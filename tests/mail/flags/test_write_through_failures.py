"""When the provider cannot take a change: kept for later (outage, dead grant), dropped for good
(the message is gone), or left to the worker already writing the mailbox (the lease)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.tenancy import tenant_context
from integrations.connections.models import Connection, ConnectionStatus
from integrations.mail.flags import Flag
from integrations.mail.flags_write import (
    FlagWriteBusy,
    FlagWriteIncomplete,
    mailboxes_with_pending_flags,
)
from integrations.mail.models import Mailbox, MessageCopy
from tests.conftest import Tenant
from tests.connections.conftest import GOOGLE_USER, MICROSOFT_USER, Providers
from tests.mail.flags.support import (
    PROVIDERS,
    act,
    reloaded,
    remote,
    sync,
    synced_copy,
    write,
)

pytestmark = pytest.mark.django_db(transaction=True)

WRITE_ROUTES = {"google": "gmail.users.messages.*", "microsoft": "graph.messages.*"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_provider_outage_keeps_the_change_pending_for_the_retry(
    org_a: Tenant, providers: Providers, provider: str
) -> None:
    mailbox, copy = synced_copy(provider, org_a, providers)
    act(org_a, org_a.owner, copy.message_id, Flag.READ, True)
    providers.sandbox.add_fault(route=WRITE_ROUTES[provider], status=429, retry_after=0)

    with pytest.raises(FlagWriteIncomplete):
        write(org_a, mailbox)

    assert reloaded(org_a, copy).pending_flags == {"is_read": True}
    assert remote(provider, providers)[copy.provider_message_id].is_read is False
    providers.sandbox.clear_faults()
    outcome = write(org_a, mailbox)
    assert outcome is not None and outcome.written == 1
    assert remote(provider, providers)[copy.provider_message_id].is_read is True
    assert reloaded(org_a, copy).pending_flags == {}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_revoked_grant_expires_the_connection_and_keeps_the_change(
    org_a: Tenant, providers: Providers, provider: str
) -> None:
    mailbox, copy = synced_copy(provider, org_a, providers)
    act(org_a, org_a.owner, copy.message_id, Flag.STARRED, True)
    controls = providers.sandbox.google if provider == "google" else providers.sandbox.microsoft
    controls.revoke_grants(GOOGLE_USER if provider == "google" else MICROSOFT_USER)

    assert write(org_a, mailbox) is None

    with org_a.scope():
        connection = Connection.objects.get(pk=mailbox.connection_id)
        state = Mailbox.objects.values_list("sync_state", flat=True).get(pk=mailbox.pk)
        assert mailboxes_with_pending_flags() == []
    assert connection.status == ConnectionStatus.EXPIRED and state == "error"
    assert reloaded(org_a, copy).pending_flags == {"is_starred": True}
    assert remote(provider, providers)[copy.provider_message_id].is_starred is False


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_change_to_a_message_gone_at_the_provider_is_dropped(
    org_a: Tenant, providers: Providers, provider: str
) -> None:
    mailbox, copy = synced_copy(provider, org_a, providers)
    act(org_a, org_a.owner, copy.message_id, Flag.READ, True)
    who = GOOGLE_USER if provider == "google" else MICROSOFT_USER
    controls = providers.sandbox.google if provider == "google" else providers.sandbox.microsoft
    controls.delete_message(who, copy.provider_message_id)

    outcome = write(org_a, mailbox)

    assert outcome is not None and outcome.failed == 0
    assert reloaded(org_a, copy).pending_flags == {}
    sync(org_a, mailbox)
    with org_a.scope():
        assert not MessageCopy.objects.filter(pk=copy.pk).exists()


def test_only_one_worker_writes_a_mailbox_at_a_time(org_a: Tenant, providers: Providers) -> None:
    mailbox, copy = synced_copy("google", org_a, providers)
    act(org_a, org_a.owner, copy.message_id, Flag.READ, True)
    with org_a.scope():
        Mailbox.objects.filter(pk=mailbox.pk).update(
            flags_lease_token="another-worker",
            flags_lease_until=timezone.now() + timedelta(minutes=1),
        )
        assert mailboxes_with_pending_flags() == []

    with pytest.raises(FlagWriteBusy):
        write(org_a, mailbox)

    assert reloaded(org_a, copy).pending_flags == {"is_read": True}
    with org_a.scope():
        Mailbox.objects.filter(pk=mailbox.pk).update(
            flags_lease_until=timezone.now() - timedelta(seconds=1)
        )
        assert mailboxes_with_pending_flags() == [(org_a.organization.pk, mailbox.pk)]
    outcome = write(org_a, mailbox)
    assert outcome is not None and outcome.written == 1
    with org_a.scope():
        lease = Mailbox.objects.values_list("flags_lease_token", "flags_lease_until").get(
            pk=mailbox.pk
        )
        assert mailboxes_with_pending_flags() == []
    assert lease == ("", None)


def test_the_beat_sweep_queues_a_write_for_each_mailbox_left_with_changes(
    org_a: Tenant, providers: Providers, queued_writes: list[tuple[int, int]]
) -> None:
    from integrations.mail.tasks_flags import flags_pending_flush

    mailbox, copy = synced_copy("microsoft", org_a, providers)
    act(org_a, org_a.owner, copy.message_id, Flag.ARCHIVED, True)
    queued_writes.clear()

    assert flags_pending_flush() == 1

    assert queued_writes == [(org_a.organization.pk, mailbox.pk)]
    with tenant_context(org_a.organization):
        assert reloaded(org_a, copy).pending_flags == {"is_archived": True}

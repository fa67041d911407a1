"""Read, star and archive written through to the sandbox's Gmail and Graph: the provider shows
the change, a sync never undoes a change still pending, and afterwards sync and provider agree."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from crm.tenancy import tenant_atomic, tenant_context
from integrations.mail.flags import Flag
from integrations.mail.flags_write import flags_pending, flags_settle
from integrations.mail.models import MessageCopy
from integrations.mail.sync.drivers import mailbox_driver
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
from tests.sync.harness import differences, stored

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "/api/v1/integrations"
ROUTES = {Flag.READ: "read", Flag.STARRED: "star", Flag.ARCHIVED: "archive"}


def remote_flag(state: Any, flag: Flag) -> bool:
    if flag == Flag.READ:
        return bool(state.is_read)
    if flag == Flag.STARRED:
        return bool(state.is_starred)
    return not state.in_inbox


def local_flag(copy: MessageCopy, flag: Flag) -> bool:
    if flag == Flag.ARCHIVED:
        return copy.is_archived and not copy.in_inbox
    return bool(copy.is_read if flag == Flag.READ else copy.is_starred)


def touch_elsewhere(provider: str, providers: Providers, provider_id: str, flag: Flag) -> None:
    """Change another flag of the message at the provider, so the next sync reports the
    message with its (stale) value of ``flag``."""
    if provider == "google":
        label = "STARRED" if flag != Flag.STARRED else "IMPORTANT"
        providers.sandbox.google.modify_labels(GOOGLE_USER, provider_id, add=[label])
    elif flag == Flag.STARRED:
        providers.sandbox.microsoft.update_message(MICROSOFT_USER, provider_id, is_read=True)
    else:
        providers.sandbox.microsoft.update_message(MICROSOFT_USER, provider_id, flagged=True)


@pytest.mark.parametrize("flag", list(Flag))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_toggling_a_flag_twice_reaches_the_provider_both_ways(
    org_a: Tenant,
    providers: Providers,
    api_a: APIClient,
    queued_writes: list[tuple[Any, ...]],
    provider: str,
    flag: Flag,
) -> None:
    mailbox, copy = synced_copy(provider, org_a, providers)
    field = "read" if flag == Flag.READ else flag.value

    toggled = api_a.post(f"{BASE}/email/{copy.message_id}/{ROUTES[flag]}")

    assert toggled.status_code == 200, toggled.content
    assert toggled.json()[field] is True and toggled.json()["pendingSync"] is True
    assert queued_writes == [(org_a.organization.pk, mailbox.pk)]
    assert remote_flag(remote(provider, providers)[copy.provider_message_id], flag) is False
    outcome = write(org_a, mailbox)
    assert outcome is not None and (outcome.written, outcome.failed) == (1, 0)
    assert remote_flag(remote(provider, providers)[copy.provider_message_id], flag) is True
    assert reloaded(org_a, copy).pending_flags == {}

    back = api_a.post(f"{BASE}/email/{copy.message_id}/{ROUTES[flag]}", {}, format="json")

    assert back.json()[field] is False
    write(org_a, mailbox)
    assert remote_flag(remote(provider, providers)[copy.provider_message_id], flag) is False
    assert reloaded(org_a, copy).pending_flags == {}


@pytest.mark.parametrize("flag", list(Flag))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_sync_keeps_a_pending_change_and_agrees_with_the_provider_after_write_through(
    org_a: Tenant, providers: Providers, provider: str, flag: Flag
) -> None:
    mailbox, copy = synced_copy(provider, org_a, providers)
    act(org_a, org_a.owner, copy.message_id, flag, True)
    touch_elsewhere(provider, providers, copy.provider_message_id, flag)

    sync(org_a, mailbox)

    assert remote_flag(remote(provider, providers)[copy.provider_message_id], flag) is False
    held = reloaded(org_a, copy)
    assert local_flag(held, flag) is True
    assert held.pending_flags == {flag_key(flag): True}
    write(org_a, mailbox)
    sync(org_a, mailbox)
    assert differences(remote(provider, providers), stored(org_a, mailbox)) == {}
    with org_a.scope():
        now = MessageCopy.objects.get(mailbox=mailbox, provider_message_id=copy.provider_message_id)
    assert local_flag(now, flag) is True and now.pending_flags == {}


def flag_key(flag: Flag) -> str:
    return {Flag.READ: "is_read", Flag.STARRED: "is_starred", Flag.ARCHIVED: "is_archived"}[flag]


def test_unarchiving_a_graph_message_keeps_it_through_the_next_sync(
    org_a: Tenant, providers: Providers
) -> None:
    mailbox, copy = synced_copy("microsoft", org_a, providers)
    act(org_a, org_a.owner, copy.message_id, Flag.ARCHIVED, True)
    write(org_a, mailbox)
    sync(org_a, mailbox)
    with org_a.scope():
        archived = MessageCopy.objects.get(
            mailbox=mailbox, provider_message_id=copy.provider_message_id
        )
    act(org_a, org_a.owner, archived.message_id, Flag.ARCHIVED, False)
    write(org_a, mailbox)

    sync(org_a, mailbox)

    assert differences(remote("microsoft", providers), stored(org_a, mailbox)) == {}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_newer_local_change_made_during_the_write_stays_pending(
    org_a: Tenant, providers: Providers, provider: str
) -> None:
    mailbox, copy = synced_copy(provider, org_a, providers)
    act(org_a, org_a.owner, copy.message_id, Flag.READ, True)
    with tenant_context(org_a.organization):
        pending = flags_pending(mailbox_id=mailbox.pk)
        results = mailbox_driver(mailbox).write_flags([p.change() for p in pending])
    assert remote(provider, providers)[copy.provider_message_id].is_read is True

    act(org_a, org_a.owner, copy.message_id, Flag.READ, False)
    act(org_a, org_a.owner, copy.message_id, Flag.STARRED, True)
    with tenant_atomic(org_a.organization):
        flags_settle(pending, results)

    assert reloaded(org_a, copy).pending_flags == {"is_read": False, "is_starred": True}
    write(org_a, mailbox)
    state = remote(provider, providers)[copy.provider_message_id]
    assert (state.is_read, state.is_starred) == (False, True)
    assert reloaded(org_a, copy).pending_flags == {}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_throttled_and_failing_provider_calls_are_retried_until_written(
    org_a: Tenant, providers: Providers, provider: str
) -> None:
    mailbox, copy = synced_copy(provider, org_a, providers)
    route = "gmail.users.messages.batchModify" if provider == "google" else "graph.messages.*"
    providers.sandbox.add_fault(route=route, status=429, retry_after=0, times=2)
    providers.sandbox.add_fault(route=route, status=503, times=1)
    act(org_a, org_a.owner, copy.message_id, Flag.STARRED, True)

    outcome = write(org_a, mailbox)

    assert outcome is not None and (outcome.written, outcome.failed) == (1, 0)
    assert remote(provider, providers)[copy.provider_message_id].is_starred is True
    assert reloaded(org_a, copy).pending_flags == {}


def test_the_queued_task_writes_the_mailbox_for_its_organization(
    org_a: Tenant, providers: Providers
) -> None:
    from config.celery import app
    from integrations.mail.tasks_flags import mailbox_flags_write_task

    mailbox, copy = synced_copy("google", org_a, providers)
    act(org_a, org_a.owner, copy.message_id, Flag.STARRED, True)

    result = mailbox_flags_write_task.apply(args=(org_a.organization.pk, mailbox.pk))

    assert result.get() == 1
    assert remote("google", providers)[copy.provider_message_id].is_starred is True
    sweep = app.conf.beat_schedule["write-pending-mail-flags"]
    assert sweep["task"] == "integrations.mail.tasks_flags.flags_pending_flush"

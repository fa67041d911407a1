"""The Graph mail driver under throttling, failures, token trouble, shared mailboxes, and with
attachments (inline and not) and the generator's odd messages."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from integrations.providers.base import InvalidGrant
from integrations.providers.mail import RemoteMessage, SyncWindow
from integrations.providers.microsoft.graph_mail import (
    MailboxAccessDenied,
    mailbox_access_check,
)
from integrations.sandbox.client import SandboxClient
from tests.providers.graph_support import (
    DELEGATE,
    OUTSIDER,
    OWNER,
    SHARED,
    GraphWorld,
    initial_sync,
    make_graph_world,
    rfc822,
)

EVERYTHING = SyncWindow(since=None)


@pytest.fixture
def world(sandbox: SandboxClient, settings: Any) -> GraphWorld:
    return make_graph_world(sandbox, settings)


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n% a tiny document\n%%EOF\n"


def test_throttling_at_30_percent_converges_honouring_retry_after(world: GraphWorld) -> None:
    world.sandbox.microsoft.fill(OWNER, seed=21, count=250)
    expected, _ = initial_sync(world.driver(page_size=20))
    for route in ("graph.mailFolders.messages.delta", "graph.messages.*"):
        world.sandbox.add_fault(route=route, status=429, rate=0.3, retry_after=1, seed=4)

    driver = world.driver(page_size=20)
    found, _ = initial_sync(driver)
    fetched = driver.fetch(sorted(expected)[:60])

    assert found == expected
    assert all(isinstance(m, RemoteMessage) for m in fetched)
    throttled = world.sandbox.requests_log(provider="microsoft")
    assert sum(1 for e in throttled if e["status"] == 429) > 10
    assert world.sleeps and set(world.sleeps) == {1.0}  # Retry-After, not backoff


def test_unavailable_answers_and_connection_resets_converge(world: GraphWorld) -> None:
    world.sandbox.microsoft.fill(OWNER, seed=8, count=150)
    expected, _ = initial_sync(world.driver(page_size=15))
    sandbox = world.sandbox
    sandbox.add_fault(route="graph.mailFolders.messages.delta", status=503, rate=0.3, seed=1)
    sandbox.add_fault(route="graph.mailFolders.messages.delta", reset=True, rate=0.2, seed=2)
    sandbox.add_fault(route="graph.messages.attachments.list", reset=True, rate=0.3, seed=3)
    sandbox.add_fault(route="graph.batch", reset=True, rate=0.2, seed=5)

    found, _ = initial_sync(world.driver(page_size=15))

    assert found == expected
    faults = {f["route"]: f["applied"] for f in sandbox.faults()}
    assert all(count > 0 for count in faults.values()), faults


def test_a_401_renews_the_token_once_and_goes_on(world: GraphWorld) -> None:
    world.deliver(rfc822("Hello"))
    vault = world.vault()
    old_token = vault.token()
    world.sandbox.add_fault(route="graph.mailFolders.messages.delta", status=401, times=1)

    found, _ = initial_sync(world.driver(vault))

    assert [m.subject for m in found.values()] == ["Hello"]
    assert vault.renewals == 1 and vault.token() != old_token


def test_a_revoked_grant_raises_invalid_grant(world: GraphWorld) -> None:
    vault = world.vault()
    driver = world.driver(vault)
    world.sandbox.microsoft.revoke_grants(OWNER)

    with pytest.raises(InvalidGrant):
        list(driver.changes(stream="inbox", cursor=None, window=EVERYTHING))
    assert vault.renewals == 1


def test_a_delegate_syncs_the_shared_mailbox(world: GraphWorld) -> None:
    delivered = world.sandbox.microsoft.deliver(SHARED, rfc822("Quote request", to=SHARED))
    delegate = world.vault(DELEGATE)
    driver = world.driver(delegate, mailbox=SHARED)

    found, _ = initial_sync(driver)
    info = mailbox_access_check(world.context(delegate, mailbox=SHARED))

    assert list(found) == [delivered["immutableId"]]
    assert (info.address, info.display_name) == (SHARED, "Contoso Sales")
    assert world.sandbox.requests_log(route="graph.mailFolders.messages.delta")[0][
        "path"
    ].startswith(f"/graph/v1.0/users/{SHARED}/")


def test_an_outsider_is_denied_the_shared_mailbox(world: GraphWorld) -> None:
    outsider = world.vault(OUTSIDER)
    ctx = world.context(outsider, mailbox=SHARED)

    with pytest.raises(MailboxAccessDenied) as raised:
        mailbox_access_check(ctx)
    assert raised.value.code == "MailboxAccessDenied" and SHARED in raised.value.user_message
    with pytest.raises(MailboxAccessDenied):
        initial_sync(world.driver(outsider, mailbox=SHARED))
    with pytest.raises(MailboxAccessDenied):
        world.driver(outsider, mailbox=SHARED).fetch(["AAkALgAAAAAAAAAA"])


def test_own_mailbox_access_check(world: GraphWorld) -> None:
    info = mailbox_access_check(world.context(world.vault()))
    assert (info.address, info.display_name) == (OWNER, "Megan Bowen")


def _related(subject: str, *, with_pdf: bool) -> str:
    png = base64.b64encode(PNG).decode()
    pdf = base64.b64encode(PDF).decode()
    related = (
        "--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        '<p>Our logo: <img src="cid:logo-1@fabrikam.test"></p>\r\n'
        "--rel\r\nContent-Type: image/png; name=logo.png\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-ID: <logo-1@fabrikam.test>\r\nContent-Disposition: inline; filename=logo.png\r\n"
        f"\r\n{png}\r\n--rel--\r\n"
    )
    head = (
        f"From: Ana <ana@fabrikam.test>\r\nTo: {OWNER}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@fabrikam.test>\r\nMIME-Version: 1.0\r\n"
    )
    if not with_pdf:
        return head + 'Content-Type: multipart/related; boundary="rel"\r\n\r\n' + related
    return (
        head + 'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n'
        '--mix\r\nContent-Type: multipart/related; boundary="rel"\r\n\r\n'
        f"{related}--mix\r\nContent-Type: application/pdf; name=terms.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=terms.pdf"
        f"\r\n\r\n{pdf}\r\n--mix--\r\n"
    )


def test_attachments_inline_images_and_downloads(world: GraphWorld) -> None:
    inline_only = world.deliver(_related("Logo only", with_pdf=False))
    mixed = world.deliver(_related("Logo and terms", with_pdf=True))
    driver = world.driver()

    found, _ = initial_sync(driver)

    [logo] = found[inline_only].attachments  # Graph says hasAttachments=false for this one
    assert (logo.filename, logo.content_type, logo.is_inline) == ("logo.png", "image/png", True)
    assert logo.content_id == "logo-1@fabrikam.test" and logo.data == PNG
    by_name = {a.filename: a for a in found[mixed].attachments}
    assert by_name["logo.png"].content_id == "logo-1@fabrikam.test"
    assert by_name["logo.png"].data == PNG
    terms = by_name["terms.pdf"]
    assert (terms.is_inline, terms.data, terms.size) == (False, None, len(PDF))
    assert terms.content_type == "application/pdf" and terms.provider_attachment_id
    assert driver.fetch_attachment(provider_message_id=mixed, attachment=terms) == PDF
    assert driver.fetch_attachment(provider_message_id=mixed, attachment=logo) == PNG
    [fetched] = driver.fetch([mixed])
    assert isinstance(fetched, RemoteMessage) and fetched.attachments == found[mixed].attachments


def test_the_generators_oddities_normalize(world: GraphWorld) -> None:
    world.sandbox.microsoft.fill(OWNER, seed=13, count=40)

    found, _ = initial_sync(world.driver())

    by_subject = {m.subject: m for m in found.values()}
    assert by_subject["Sent from an old mail server"].rfc_message_id == ""
    resent = by_subject["Weekly status (resent)"]
    assert resent.rfc_message_id == by_subject["Weekly status"].rfc_message_id != ""
    crowd = next(m for m in found.values() if m.subject.endswith("office move: all hands"))
    assert (len(crowd.to), len(crowd.cc)) == (150, 50)
    assert max(len(s) for s in by_subject) >= 900
    bad_date = by_subject["Invoice reminder"]
    assert bad_date.sent_at == bad_date.received_at  # a malformed Date falls back
    with_files = [m for m in found.values() if m.attachments]
    assert with_files and all(a.provider_attachment_id for m in with_files for a in m.attachments)

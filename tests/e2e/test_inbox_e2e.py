"""In Chromium: mail delivered to a Gmail mailbox of the sandbox and synced is read in the Inbox
with the keyboard — j/k to move, Enter to open, s to star, e to archive (both checked in the
database), / to search, ? for the help — and then found on the contact's Emails tab.
Screenshots go to tests/e2e/artifacts/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integrations.mail.models import MessageCopy
from tests.conftest import Tenant
from tests.connections.conftest import Providers, providers  # noqa: F401 - fixture
from tests.e2e.test_contacts_e2e import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.factories import (
    PASSWORD,
    AccountDomainFactory,
    AccountFactory,
    ContactEmailFactory,
    ContactFactory,
)
from tests.mail.reading.support import Conversation, deliver, mime, sync, synced_conversation

# Playwright's sync API runs an event loop in this thread; the ORM calls of the fixtures and of
# live_server's setup must still be allowed here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium"
    ),
]

DIGEST = "Weekly rocket digest"


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.set_default_timeout(15_000)
        yield context.new_page()
        browser.close()


def _mail(org: Tenant, providers: Providers) -> tuple[Conversation, Any]:  # noqa: F811
    """Ada Lovelace of Acme Rockets is a contact; her quote (with a PDF) and the answer, and a
    newsletter, are synced from Alice's Gmail."""
    with org.scope():
        acme = AccountFactory(name="Acme Rockets")
        AccountDomainFactory(account=acme, domain="acme.test")
        ada = ContactFactory(first_name="Ada", last_name="Lovelace", account=acme)
        ContactEmailFactory(contact=ada, email="ada@acme.test")
    conversation = synced_conversation("google", org, providers)
    raw, _ = mime(
        subject=DIGEST,
        sender=("Rocket News", "news@rockets.test"),
        to=("Alice", conversation.mailbox.address),
        html="<p>This week in rockets.</p>",
        when=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3),
        inline_images=False,
    )
    deliver("google", providers, raw)
    sync(org, conversation.mailbox)
    return conversation, ada


def _copies(org: Tenant, conversation: Conversation) -> list[MessageCopy]:
    with org.scope():
        return list(MessageCopy.objects.filter(message__thread=conversation.first.thread))


def test_read_star_archive_and_search_with_the_keyboard_then_the_contacts_emails_tab(
    live_server: Any,
    org_a: Tenant,
    providers: Providers,  # noqa: F811
    page: Any,
) -> None:
    from playwright.sync_api import expect

    conversation, ada = _mail(org_a, providers)
    thread_id = conversation.first.thread_id
    base = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(f"{base}/auth/login/")
    page.fill("input[name=login]", org_a.owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".org-switcher__name")).to_have_text("Alpha Sales")

    page.click("nav >> text=Inbox")
    rows = page.locator("#inbox-list [data-inbox-row]")
    expect(rows).to_have_count(2)
    quote, digest = rows.nth(0), rows.nth(1)
    expect(quote).to_contain_text("Quote for 2027")
    expect(quote).to_have_class(re.compile(r"\bis-unread\b"))
    expect(quote.locator(".crm-chip--contact")).to_have_text("Ada Lovelace")
    expect(quote.locator(".crm-chip--account").first).to_have_text("Acme Rockets")
    expect(page.locator("#nav-inbox .nav__count")).to_contain_text("2")
    expect(quote).to_have_class(re.compile(r"\bis-selected\b"))
    page.keyboard.press("j")
    expect(digest).to_have_class(re.compile(r"\bis-selected\b"))
    page.keyboard.press("k")
    expect(quote).to_have_class(re.compile(r"\bis-selected\b"))
    page.screenshot(path=str(ARTIFACTS / "inbox-list.png"), full_page=True)

    # Enter opens the conversation in the reading pane and marks it read.
    page.keyboard.press("Enter")
    reader = page.locator("#inbox-reader")
    expect(reader.locator("h1")).to_contain_text("Quote for 2027")
    expect(page).to_have_url(f"{base}/inbox/thread/{thread_id}/")
    expect(page.locator("#inbox-main")).to_be_hidden()
    expect(reader.locator("details.message")).to_have_count(2)
    expect(reader.locator("details.message[open]")).to_have_count(1)
    body = page.frame_locator(f"#message-body-{conversation.first.pk} iframe")
    expect(body.locator("text=Our quote is attached")).to_be_visible()
    expect(reader.locator(".attachment--pdf a", has_text="Preview")).to_have_attribute(
        "target", "_blank"
    )
    # The test PDF has no page to draw: its thumbnail goes instead of showing a broken image.
    expect(reader.locator(".attachment--pdf .attachment__preview")).to_be_hidden()
    expect(page.locator("#nav-inbox .nav__count")).to_contain_text("1")
    page.screenshot(path=str(ARTIFACTS / "inbox-thread.png"), full_page=True)
    assert all(copy.is_read for copy in _copies(org_a, conversation))

    # s stars it, e archives it and goes back to the list.
    page.keyboard.press("s")
    expect(reader.locator("[data-inbox-star]")).to_have_attribute("aria-pressed", "true")
    assert any(copy.is_starred for copy in _copies(org_a, conversation))
    page.keyboard.press("e")
    expect(page.locator("#inbox-main")).to_be_visible()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(DIGEST)
    expect(page).to_have_url(f"{base}/inbox/")
    inbox_copy = next(
        c for c in _copies(org_a, conversation) if c.message_id == conversation.first.pk
    )
    assert not inbox_copy.in_inbox and inbox_copy.is_archived

    # ? shows the shortcuts, Esc hides them; / searches.
    page.keyboard.press("?")
    expect(page.locator("#inbox-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#inbox-help")).to_be_hidden()
    page.click("#inbox-folders >> text=All mail")
    expect(rows).to_have_count(2)
    page.keyboard.press("/")
    search = page.locator("[data-inbox-search]")
    expect(search).to_be_focused()
    search.type("from:ada@acme.test")
    search.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Quote for 2027")
    expect(rows.first.locator(".star.is-on")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/inbox/\?.*q=from%3Aada%40acme\.test"))
    page.screenshot(path=str(ARTIFACTS / "inbox-search.png"), full_page=True)

    # The contact's Emails tab lists the same conversation, in the same row.
    page.goto(f"{base}/contacts/{ada.pk}/")
    tab = page.locator("#emails-list .inbox-row")
    expect(tab).to_have_count(1)
    expect(tab.first).to_contain_text("Quote for 2027")
    page.screenshot(path=str(ARTIFACTS / "contact-emails-tab.png"), full_page=True)
    tab.first.locator("a.inbox-row__main").click()
    expect(page.locator("#inbox-reader h1")).to_contain_text("Quote for 2027")

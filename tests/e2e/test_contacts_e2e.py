"""In a real browser: sign in, create a contact through the form, find it with the search box."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.factories import PASSWORD, AccountFactory, ContactFactory

# Playwright's sync API runs an event loop in this thread; the ORM calls of the fixtures and of
# live_server's setup must still be allowed here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium"
    ),
]


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1366, "height": 860})
        context.set_default_timeout(15_000)
        yield context.new_page()
        browser.close()


def test_create_a_contact_and_find_it_with_the_search_box(
    live_server: Any, org_a: Tenant, page: Any
) -> None:
    from playwright.sync_api import expect

    with org_a.scope():
        AccountFactory(name="Analytical Engines")
        for first, last in [("Charles", "Babbage"), ("Mary", "Somerville"), ("Alan", "Turing")]:
            ContactFactory(first_name=first, last_name=last)
    base = live_server.url

    page.goto(f"{base}/auth/login/")
    page.fill("input[name=login]", org_a.owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".org-switcher__name")).to_have_text("Alpha Sales")

    page.click("nav >> text=Contacts")
    page.click("text=New contact")
    page.fill("input[name=first_name]", "Ada")
    page.fill("input[name=last_name]", "Lovelace")
    page.fill("input[name=title]", "Head of Analytics")
    page.fill("textarea[name=emails]", "ada@engines.test\nada.lovelace@engines.test")
    page.select_option("select[name=account]", label="Analytical Engines")
    page.click("button:has-text('Create contact')")
    expect(page.locator("h1")).to_have_text("Ada Lovelace")
    expect(page.locator(".flash--success")).to_contain_text("created")

    page.click("nav >> text=Contacts")
    results = page.locator("#results tbody tr")
    expect(results).to_have_count(4)
    page.fill("input[name=q]", "lovelace")
    page.wait_for_url("**/contacts/?q=lovelace*")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Ada Lovelace")
    expect(results.first).to_contain_text("ada@engines.test")
    expect(results.first).to_contain_text("Analytical Engines")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "contacts-search.png"), full_page=True)

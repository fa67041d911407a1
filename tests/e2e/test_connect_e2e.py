"""In a real browser: connect Google and Microsoft 365 through the sandbox's own consent pages.

The live server is Liaison as the demo runs it: provider clients pointed at the sandbox, the
sandbox's apps registered for this server's callbacks, and consent left to the person (auto
approve off), so the browser goes Connections → consent page → Allow/Accept → Connections.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from integrations.providers.sandbox_settings import (
    SANDBOX_GOOGLE_CLIENT,
    SANDBOX_MICROSOFT_APP,
    callback_urls,
    sandbox_provider_settings,
)
from integrations.sandbox.client import SandboxClient
from tests.conftest import Tenant
from tests.e2e.test_contacts_e2e import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; the ORM calls of the fixtures and of
# live_server's setup must still be allowed here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

GOOGLE_ACCOUNTS = [("alice@alpha.test", "Alice Archer"), ("bob@alpha.test", "Bob Baker")]
MICROSOFT_DOMAIN = "alpha-emea.test"
MICROSOFT_ACCOUNTS = [
    ("bob@alpha-emea.test", "Bob Baker"),
    ("alice@alpha-emea.test", "Alice Archer"),
]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium"
    ),
]


@pytest.fixture
def providers(sandbox: SandboxClient, settings: Any, live_server: Any) -> SandboxClient:
    """The sandbox as the demo sets it up: apps for these callbacks, people, no auto-approve."""
    settings.SITE_URL = live_server.url
    for name, value in sandbox_provider_settings(
        google_base_url=sandbox.google_base_url,
        microsoft_login_url=sandbox.microsoft_login_url,
        microsoft_graph_url=sandbox.microsoft_graph_url,
        ca_bundle=sandbox.ca_bundle,
    ).items():
        setattr(settings, name, value)
    callbacks = callback_urls(live_server.url)
    sandbox.google.create_client(*SANDBOX_GOOGLE_CLIENT, redirect_uris=[callbacks["google"]])
    sandbox.microsoft.create_app(*SANDBOX_MICROSOFT_APP, redirect_uris=[callbacks["microsoft"]])
    for email, name in GOOGLE_ACCOUNTS:
        sandbox.google.create_user(email, name)
    tenant = sandbox.microsoft.create_tenant(MICROSOFT_DOMAIN, "Alpha Sales EMEA")
    for email, name in MICROSOFT_ACCOUNTS:
        sandbox.microsoft.create_user(tenant["tenant_id"], email, name)
    sandbox.set_config(auto_approve=False)  # the sandbox fixture restores it for the next test
    return sandbox


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        # The sandbox serves TLS from its own private CA.
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, ignore_https_errors=True
        )
        context.set_default_timeout(15_000)
        yield context.new_page()
        browser.close()


def open_connections(page: Any, base: str, tenant: Tenant) -> None:
    """Log in through the login page, then Settings → Connections."""
    from playwright.sync_api import expect

    page.goto(f"{base}/auth/login/")
    page.fill("input[name=login]", tenant.owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".org-switcher__name")).to_have_text(tenant.organization.name)
    page.click("nav >> text=Settings")
    page.click(".link-card:has-text('Connections')")
    expect(page.locator("h1")).to_have_text("Connections")


def expect_connected(page: Any, base: str, email: str, provider_label: str) -> None:
    from playwright.sync_api import expect

    page.wait_for_url(re.compile(re.escape(f"{base}/settings/connections/")))
    expect(page.locator(".flash--success")).to_contain_text(f"Connected {email}.")
    row = page.locator("[data-testid=connections] tbody tr", has_text=email)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(provider_label)
    expect(row.locator(".badge")).to_have_text("Connected")


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_connect_google_through_the_consent_page(
    live_server: Any, org_a: Tenant, providers: SandboxClient, page: Any
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    open_connections(page, base, org_a)

    page.click("button:has-text('Connect Google')")
    page.wait_for_url(re.compile(rf"^{re.escape(providers.google_base_url)}/o/oauth2/v2/auth"))
    expect(page.locator("h1")).to_contain_text("wants access to your Google Account")
    page.select_option("select[name=user]", "alice@alpha.test")
    screenshot(page, "connect-google-consent")
    page.click("button:has-text('Allow')")

    expect_connected(page, base, "alice@alpha.test", "Google")
    screenshot(page, "connect-google-connected")


def test_connect_microsoft_365_through_the_consent_page(
    live_server: Any, org_a: Tenant, providers: SandboxClient, page: Any
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    open_connections(page, base, org_a)

    page.click("button:has-text('Connect Microsoft 365')")
    page.wait_for_url(re.compile(rf"^{re.escape(providers.base_url)}/\w+/oauth2/v2\.0/authorize"))
    expect(page.locator("h1")).to_have_text("Permissions requested")
    page.check("label:has-text('alice@alpha-emea.test') >> input[name=user]")
    screenshot(page, "connect-microsoft-consent")
    # Accept answers with a form that posts itself to the callback (response_mode=form_post).
    page.click("button:has-text('Accept')")

    expect_connected(page, base, "alice@alpha-emea.test", "Microsoft 365")
    screenshot(page, "connect-microsoft-connected")

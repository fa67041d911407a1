"""In Chromium: e-mails whose HTML carries the classic XSS and tracking vectors, delivered to
Gmail and Microsoft 365 (the sandbox) and synced, are opened in the body iframe. No script runs
(no dialog, no flag set on the page), no request leaves for anywhere but Liaison (every other
request is intercepted and recorded), and the inline CID image still shows. "Show images" then
lets the remote <img> through, and only it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from integrations.mail.models import Message
from tests.conftest import Tenant
from tests.connections.conftest import Providers, providers  # noqa: F401 - fixture
from tests.e2e.test_contacts_e2e import CHROMIUM, CHROMIUM_ARGS
from tests.factories import PASSWORD
from tests.mail.reading.support import LOGO_CID, deliver, mailbox_of, mime, sync

# Playwright's sync API runs an event loop in this thread; the ORM calls of the fixtures and of
# live_server's setup must still be allowed here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium"
    ),
]

REMOTE = "http://remote.invalid"
PWN = "window.top.__pwned = '{0}'; window.parent.__pwned = '{0}'; alert('{0}')"
# Each vector tries to run code (setting __pwned on the reading page, or opening a dialog), to
# navigate, submit or fetch. The MathML mutation swallows what follows it, so it comes last.
HOSTILE_HTML = f"""
<p id="greeting">Dear customer, <img src="cid:{LOGO_CID}" alt="Acme logo" id="logo"></p>
<script>{PWN.format("script")}</script>
<img src="x" onerror="{PWN.format("onerror")}">
<body onload="{PWN.format("onload")}">
<p onmouseover="{PWN.format("mouseover")}">Hover me</p>
<a href="javascript:{PWN.format("javascript-link")}">Click for your invoice</a>
<a href="  JaVa&#x09;ScRiPt:{PWN.format("obfuscated-link")}">Or here</a>
<svg onload="{PWN.format("svg-onload")}"><script>{PWN.format("svg-script")}</script></svg>
<svg><a><animate attributeName="href" values="javascript:{PWN.format("svg-animate")}"/>
<text y="20">svg link</text></a></svg>
<details open ontoggle="{PWN.format("ontoggle")}"><summary>Details</summary>x</details>
<iframe src="javascript:{PWN.format("iframe")}"></iframe>
<iframe src="{REMOTE}/frame.html"></iframe>
<object data="{REMOTE}/object.swf"></object><embed src="{REMOTE}/embed.swf">
<meta http-equiv="refresh" content="0;url={REMOTE}/refresh">
<base href="{REMOTE}/base/">
<link rel="stylesheet" href="{REMOTE}/link.css">
<style>@import url({REMOTE}/import.css); .promo {{ background: url({REMOTE}/bg.png) }}
@font-face {{ font-family: Spy; src: url({REMOTE}/font.woff) }} p {{ font-family: Spy }}</style>
<div class="promo" style="background-image: url({REMOTE}/inline-bg.png);
width: expression(alert('expression'))">Promotion</div>
<form action="{REMOTE}/form" method="post"><input name="password" value="hunter2">
<button type="submit">Confirm your password</button></form>
<img src="{REMOTE}/pixel.gif" width="1" height="1" alt="">
<video poster="{REMOTE}/poster.png" src="{REMOTE}/video.mp4"></video>
<math><mtext><table><mglyph><style><img src="x" onerror="{PWN.format("mathml")}">
"""


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> None:
    """Attachments kept by the live server land in the test's own directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        yield context.new_page()
        browser.close()


def _hostile_mail(provider: str, org: Tenant, providers: Providers) -> Message:  # noqa: F811
    mailbox = mailbox_of(provider, org, providers)
    raw, message_id = mime(
        subject=f"Invoice overdue ({provider})",
        sender=("Mallory", "mallory@evil.test"),
        to=("Owner", mailbox.address),
        html=HOSTILE_HTML,
        when=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1),
    )
    deliver(provider, providers, raw)
    sync(org, mailbox)
    with org.scope():
        return Message.objects.get(rfc_message_id=message_id)


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_hostile_html_runs_no_script_and_loads_nothing_remote_in_the_browser(
    live_server: Any,
    org_a: Tenant,
    providers: Providers,  # noqa: F811
    page: Any,
    provider: str,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    message = _hostile_mail(provider, org_a, providers)
    base = live_server.url
    dialogs: list[str] = []
    remote: list[str] = []
    local_responses: list[tuple[str, int, str]] = []

    def route(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            remote.append(route.request.url)
            route.abort()

    page.context.route("**/*", route)

    def dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.context.on("dialog", dialog)
    page.on("dialog", dialog)
    page.on(
        "response",
        lambda r: local_responses.append((r.url, r.status, r.headers.get("content-type", ""))),
    )

    page.goto(f"{base}/auth/login/")
    page.fill("input[name=login]", org_a.owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".org-switcher__name")).to_have_text("Alpha Sales")

    page.goto(f"{base}/inbox/messages/{message.pk}/")
    frame_element = page.locator("iframe.message-body__frame")
    expect(frame_element).to_have_attribute(
        "sandbox", "allow-popups allow-popups-to-escape-sandbox"
    )
    frame = frame_element.element_handle().content_frame()
    frame.wait_for_load_state("load")
    body = page.frame_locator("iframe.message-body__frame")
    expect(body.locator("text=Dear customer")).to_be_visible()
    # Whatever is left of the vectors is poked at: hovered, clicked, toggled.
    body.locator("text=Hover me").hover()
    body.locator("text=Click for your invoice").click()
    body.locator("text=Or here").click()
    body.locator("summary").click()
    frame.wait_for_load_state("load")
    page.screenshot(path=str(tmp_path / f"{provider}-blocked.png"), full_page=True)

    assert dialogs == []
    assert page.evaluate("() => window.__pwned") is None
    assert remote == [], remote
    logo = [r for r in local_responses if "/attachments/" in r[0]]
    assert logo and all(status == 200 and ctype == "image/png" for _, status, ctype in logo)
    expect(body.locator("#logo, img[alt='Acme logo']")).to_have_js_property("naturalWidth", 4)

    page.click("button:has-text('Show images')")
    expect(page.locator("iframe.message-body__frame")).to_have_attribute(
        "src", f"/inbox/messages/{message.pk}/body/?images=1"
    )
    shown = page.frame_locator("iframe.message-body__frame")
    expect(shown.locator("text=Dear customer")).to_be_visible()
    page.locator("iframe.message-body__frame").element_handle().content_frame().wait_for_load_state(
        "load"
    )
    page.screenshot(path=str(tmp_path / f"{provider}-images-shown.png"), full_page=True)

    # Only the remote <img> was asked for; no CSS, font, frame, form, refresh or media.
    assert sorted(set(remote)) == [f"{REMOTE}/pixel.gif"]
    assert dialogs == [] and page.evaluate("() => window.__pwned") is None
    assert page.url == f"{base}/inbox/messages/{message.pk}/"
    assert (tmp_path / f"{provider}-blocked.png").stat().st_size > 0

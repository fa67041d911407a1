"""The demo user's own mailboxes, connected at start-up through the real OAuth code path.

A newcomer should see synced mail on the demo contacts within minutes of the first command, so
the demo does what a person would: start the sign-in (state + PKCE), approve it on the
sandbox's consent page as the demo user, and hand the provider's answer to the same callback
service the web view uses. The connection then creates the mailbox and queues its first sync.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests
from django.conf import settings
from django.db import transaction

from crm.demo_data import DEMO_MAILBOXES, DEMO_ORGANIZATION_SLUG, DEMO_OWNER_EMAIL, DemoMailbox
from crm.models import Organization, User
from crm.tenancy import tenant_context
from integrations.connections import services
from integrations.connections.models import Connection
from integrations.providers.base import CAPABILITIES

_INPUT = re.compile(r"""<input type=["']hidden["'] name=["']([^"']+)["'] value=["']([^"']*)["']""")
_ACTION = re.compile(r"""<form method=["'](?:post|POST)["'][^>]* action=["']([^"']+)["']""")
_MS_USER = re.compile(r"value='([^']+)'[^>]*> [^<]*<span class='muted'>([^<]+)</span>")


def demo_owner_mailboxes() -> list[DemoMailbox]:
    """The demo user's own (not shared) mailboxes, one per provider."""
    owner = DEMO_MAILBOXES[0].name
    return [m for m in DEMO_MAILBOXES if m.name == owner and not m.shared]


def _hidden(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _INPUT.findall(page)}


def _approve(session: requests.Session, url: str, mailbox: DemoMailbox) -> dict[str, str]:
    """Allow on the consent page as ``mailbox``; the callback parameters the provider sends."""
    page = session.get(url, allow_redirects=False)
    page.raise_for_status()
    action = _ACTION.search(page.text)
    if action is None:
        raise RuntimeError(f"no consent form at {url}")
    form = _hidden(page.text)
    if mailbox.provider == "google":
        form |= {"user": mailbox.email, "decision": "allow"}
    else:
        oids = {upn: oid for oid, upn in _MS_USER.findall(page.text)}
        form |= {"user": oids[mailbox.email], "action": "accept"}
    answer = session.post(
        urljoin(url, html.unescape(action.group(1))), data=form, allow_redirects=False
    )
    if answer.is_redirect:
        return dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
    return _hidden(answer.text)  # form_post: the fields the page would submit


def demo_mailboxes_connect(*, environment: dict[str, str]) -> list[str]:
    """Connect the demo user's mailboxes that aren't connected yet; one line for each."""
    for name, value in environment.items():
        setattr(settings, name, value)
    organization = Organization.objects.get(slug=DEMO_ORGANIZATION_SLUG)
    user = User.objects.get(email=DEMO_OWNER_EMAIL)
    session = requests.Session()
    session.trust_env = False  # the sandbox's CA, not REQUESTS_CA_BUNDLE
    session.verify = settings.PROVIDER_CA_BUNDLE
    done = []
    try:
        for mailbox in demo_owner_mailboxes():
            with transaction.atomic(), tenant_context(organization):
                if Connection.objects.filter(user=user, email=mailbox.email).exists():
                    continue
                url = services.oauth_authorize_start(
                    user=user,
                    organization=organization,
                    provider_name=mailbox.provider,
                    capabilities=CAPABILITIES,
                    login_hint=mailbox.email,
                )
            params: dict[str, Any] = _approve(session, url, mailbox)
            with transaction.atomic():
                services.oauth_callback(
                    provider_name=mailbox.provider, params=params, session_user=user
                )
            done.append(f"connected {mailbox.email} for {user.email}; its first sync is queued")
    finally:
        session.close()
    return done

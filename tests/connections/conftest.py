"""Liaison pointed at the in-process sandbox, with a Google user and a Microsoft 365 tenant."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.test import Client

from integrations.providers.sandbox_settings import (
    SANDBOX_GOOGLE_CLIENT,
    SANDBOX_MICROSOFT_APP,
    callback_urls,
    sandbox_provider_settings,
)
from integrations.sandbox.client import SandboxClient

SITE_URL = "http://testserver"
GOOGLE_USER = "alice.gmail@example.test"
MICROSOFT_USER = "megan@contoso.test"


@dataclass
class Providers:
    sandbox: SandboxClient
    microsoft_tenant_id: str


@pytest.fixture
def providers(sandbox: SandboxClient, settings: Any) -> Providers:
    settings.SITE_URL = SITE_URL
    for name, value in sandbox_provider_settings(
        google_base_url=sandbox.google_base_url,
        microsoft_login_url=sandbox.microsoft_login_url,
        microsoft_graph_url=sandbox.microsoft_graph_url,
        ca_bundle=sandbox.ca_bundle,
    ).items():
        setattr(settings, name, value)
    callbacks = callback_urls(SITE_URL)
    sandbox.google.create_client(*SANDBOX_GOOGLE_CLIENT, redirect_uris=[callbacks["google"]])
    sandbox.google.create_user(GOOGLE_USER, "Alice Gmail")
    sandbox.microsoft.create_app(*SANDBOX_MICROSOFT_APP, redirect_uris=[callbacks["microsoft"]])
    tenant = sandbox.microsoft.create_tenant("contoso.test", "Contoso")
    sandbox.microsoft.create_user(tenant["tenant_id"], MICROSOFT_USER, "Megan Bowen")
    return Providers(sandbox=sandbox, microsoft_tenant_id=tenant["tenant_id"])


@dataclass(frozen=True)
class Callback:
    """Where the provider sends the browser: a redirect (GET) or an auto-submitted form (POST)."""

    method: str
    url: str
    fields: dict[str, str]

    def with_state(self, state: str) -> Callback:
        return Callback(self.method, self.url, {**self.fields, "state": state})


def consent(providers: Providers, url: str) -> Callback:
    """Visit the provider's consent URL (auto-approved) and return where it sends the browser."""
    response = requests.get(
        url, verify=providers.sandbox.ca_bundle, allow_redirects=False, timeout=30
    )
    if response.status_code in (302, 303):
        parts = urlsplit(response.headers["Location"])
        return Callback("GET", parts.path, dict(parse_qsl(parts.query)))
    assert response.status_code == 200, response.text[:500]
    action = re.search(r"action='([^']+)'", response.text)
    assert action, response.text[:500]
    fields = dict(re.findall(r"name='([^']+)' value='([^']*)'", response.text))
    return Callback(
        "POST",
        urlsplit(html.unescape(action.group(1))).path,
        {k: html.unescape(v) for k, v in fields.items()},
    )


def follow_callback(client: Client, callback: Callback) -> Any:
    if callback.method == "POST":
        return client.post(callback.url, callback.fields)
    return client.get(callback.url, callback.fields)


def start(client: Client, provider: str, login_hint: str, **params: Any) -> str:
    response = client.get(
        f"/api/v1/integrations/oauth/{provider}/authorize",
        {"login_hint": login_hint, **params},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()["url"]


def connect(client: Client, providers: Providers, provider: str, login_hint: str) -> Any:
    return follow_callback(client, consent(providers, start(client, provider, login_hint)))

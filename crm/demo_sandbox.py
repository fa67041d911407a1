"""The demo's provider sandbox: Liaison's OAuth apps, the team's mailboxes, and their mail.

``manage.py demo`` starts the sandbox, then :func:`demo_sandbox_provision` registers the
sandbox OAuth apps for the demo's callback URLs, creates the Google Workspace users and the
Microsoft 365 tenant with its users and shared mailbox (``crm.demo_data.DEMO_MAILBOXES``), and
fills every empty mailbox with mail and meetings with the demo's customers. What is already
there is left alone: the sandbox keeps its state across restarts, so a second start changes
nothing. :func:`demo_sandbox_environment` is what web, worker and beat need to use it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crm.demo_data import (
    DEMO_COMPANIES,
    DEMO_MAILBOXES,
    DEMO_MICROSOFT_DOMAIN,
    DEMO_MICROSOFT_TENANT_ID,
    DEMO_MICROSOFT_TENANT_NAME,
    DEMO_RANDOM_SEED,
    DemoMailbox,
)
from integrations.providers.sandbox_settings import (
    SANDBOX_GOOGLE_CLIENT,
    SANDBOX_MICROSOFT_APP,
    SANDBOX_PUBSUB_TOPIC,
    callback_urls,
    sandbox_provider_settings,
)
from integrations.sandbox.client import SandboxClient
from integrations.sandbox.generator import Company, Person

APP_NAME = "Liaison"  # what the consent pages call the app


@dataclass(frozen=True)
class SandboxInfo:
    """The JSON line ``manage.py sandbox`` prints first: where it listens, which CA it uses."""

    base_url: str
    google_base_url: str
    microsoft_login_url: str
    microsoft_graph_url: str
    control_url: str
    ca_bundle: str

    @classmethod
    def from_announcement(cls, data: Mapping[str, Any]) -> SandboxInfo | None:
        """The info in ``data``, or None when ``data`` is some other JSON object."""
        names = [f.name for f in dataclasses.fields(cls)]
        if not all(isinstance(data.get(name), str) for name in names):
            return None
        return cls(**{name: data[name] for name in names})

    def client(self) -> SandboxClient:
        return SandboxClient(self.base_url, self.ca_bundle)


def demo_sandbox_environment(*, info: SandboxInfo, site_url: str) -> dict[str, str]:
    """The environment that points the app's provider clients (and callbacks) at the sandbox."""
    providers = sandbox_provider_settings(
        google_base_url=info.google_base_url,
        microsoft_login_url=info.microsoft_login_url,
        microsoft_graph_url=info.microsoft_graph_url,
        ca_bundle=info.ca_bundle,
    )
    return {**providers, "SITE_URL": site_url}


def demo_companies() -> list[Company]:
    """The demo's customers as generator companies, so the mail is with the CRM's contacts."""
    return [
        Company(c.name, c.domain, tuple(Person(p.full_name, p.email) for p in c.people))
        for c in DEMO_COMPANIES
    ]


def demo_sandbox_provision(*, client: SandboxClient, site_url: str) -> list[str]:
    """Bring the sandbox up to the demo's world; one line for each thing that had to change."""
    callbacks = callback_urls(site_url)
    changes = _apps_register(client, callbacks["google"], callbacks["microsoft"])
    changes += _push_topic_register(client, site_url)
    changes += _google_mailboxes_ensure(client)
    changes += _microsoft_mailboxes_ensure(client)
    return changes


def _push_topic_register(client: SandboxClient, site_url: str) -> list[str]:
    """Gmail push: the sandbox's Pub/Sub topic delivers to this site's webhook."""
    endpoint = f"{site_url.rstrip('/')}/api/v1/integrations/webhooks/google"
    rows = client.call("GET", "/google/push-endpoints")["pushEndpoints"]
    wanted = (SANDBOX_PUBSUB_TOPIC, endpoint)
    if any((r.get("topic_name"), r.get("push_endpoint")) == wanted for r in rows):
        return []
    client.call(
        "POST",
        "/google/push-endpoints",
        json={"topicName": SANDBOX_PUBSUB_TOPIC, "pushEndpoint": endpoint},
    )
    return [f"registered the Gmail push topic for {endpoint}"]


def _apps_register(
    client: SandboxClient, google_callback: str, microsoft_callback: str
) -> list[str]:
    """Liaison's OAuth client and app, registered for this site's callbacks (its port may vary)."""
    changes = []
    apps = [  # (what, control path, key of its listing, client id and secret, callback)
        (
            "Google OAuth client",
            "/google/clients",
            "clients",
            SANDBOX_GOOGLE_CLIENT,
            google_callback,
        ),
        ("Microsoft app", "/microsoft/apps", "apps", SANDBOX_MICROSOFT_APP, microsoft_callback),
    ]
    for label, path, key, (client_id, secret), callback in apps:
        registered = {row["client_id"]: row for row in client.call("GET", path)[key]}
        current = registered.get(client_id)
        if current is not None and current["redirect_uris"] == [callback]:
            continue
        body = {
            "client_id": client_id,
            "client_secret": secret,
            "redirect_uris": [callback],
            "name": APP_NAME,  # the wrappers leave the name out; the consent pages show it
        }
        client.call("POST", path, json=body)
        changes.append(f"registered the {label} {client_id} for {callback}")
    return changes


def _mailboxes(provider: str) -> list[DemoMailbox]:
    return [m for m in DEMO_MAILBOXES if m.provider == provider]


def _fill(client: SandboxClient, mailbox: DemoMailbox) -> str:
    control = client.google if mailbox.provider == "google" else client.microsoft
    filled = control.fill(
        mailbox.email,
        seed=DEMO_RANDOM_SEED,
        count=mailbox.messages,
        events=mailbox.events,
        companies=demo_companies(),
    )
    return (
        f"filled {mailbox.email} with {filled['messages']} messages and {filled['events']} events"
    )


def _google_mailboxes_ensure(client: SandboxClient) -> list[str]:
    changes = []
    users = {row["email"].lower(): row for row in client.google.users()["users"]}
    for mailbox in _mailboxes("google"):
        user = users.get(mailbox.email)
        if user is None:
            user = client.google.create_user(mailbox.email, mailbox.name)
            changes.append(f"created the Google Workspace user {mailbox.email}")
        if not user["messages"]:
            changes.append(_fill(client, mailbox))
    return changes


def _microsoft_mailboxes_ensure(client: SandboxClient) -> list[str]:
    changes = []
    tenants = client.microsoft.tenants()["tenants"]
    tenant = next((t for t in tenants if t["domain"] == DEMO_MICROSOFT_DOMAIN), None)
    if tenant is None:
        tenant = client.microsoft.create_tenant(
            DEMO_MICROSOFT_DOMAIN, DEMO_MICROSOFT_TENANT_NAME, tenant_id=DEMO_MICROSOFT_TENANT_ID
        )
        changes.append(f"created the Microsoft 365 tenant {DEMO_MICROSOFT_DOMAIN}")
    tenant_id = tenant["tenant_id"]
    listing = client.call("GET", "/microsoft/users")  # no wrapper for the directory listing
    users = {row["userPrincipalName"]: row for row in listing["users"]}
    # Delegates before the shared mailbox: it can only be delegated to users that exist.
    for mailbox in sorted(_mailboxes("microsoft"), key=lambda m: m.shared):
        user = users.get(mailbox.email)
        if user is None and mailbox.shared:
            delegates = list(mailbox.delegates)
            user = client.microsoft.create_shared_mailbox(
                tenant_id, mailbox.email, mailbox.name, delegates
            )
            changes.append(f"created the shared mailbox {mailbox.email} for {', '.join(delegates)}")
        elif user is None:
            user = client.microsoft.create_user(tenant_id, mailbox.email, mailbox.name)
            changes.append(f"created the Microsoft 365 user {mailbox.email}")
        if not user.get("messages"):  # a new user's answer has no count: it is empty too
            changes.append(_fill(client, mailbox))
    return changes

"""A small Python client for the sandbox's control API, for tests and the demo seeding.

    client = SandboxClient("https://127.0.0.1:8443", "/path/to/ca.pem")
    client.google.create_user("ana@acme.test", "Ana Ruiz")
    client.google.fill("ana@acme.test", seed=7, count=500)
    client.add_fault(route="gmail.messages.get", status=429, retry_after=2, times=1)

Every method raises :class:`SandboxError` (with the response body) on a non-2xx answer.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from integrations.sandbox.generator.companies_json import companies_to_json
from integrations.sandbox.generator.models import Company


class SandboxError(Exception):
    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{method} {url} answered {status}: {body}")
        self.status = status
        self.body = body


def _segment(value: str) -> str:
    return quote(value, safe="@")


def _raw_field(raw: bytes | str) -> str:
    # The control API takes RFC 5322 text or base64url; bytes go as base64url so 8-bit survives.
    if isinstance(raw, bytes):
        return base64.urlsafe_b64encode(raw).decode("ascii")
    return raw


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _iso(value: datetime | str | int | None) -> str | int | None:
    return value.isoformat() if isinstance(value, datetime) else value


class SandboxClient:
    def __init__(self, base_url: str, ca_bundle: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.ca_bundle = ca_bundle
        self.google_base_url = f"{self.base_url}/google"
        self.microsoft_login_url = self.base_url
        self.microsoft_graph_url = f"{self.base_url}/graph/v1.0"
        self.control_url = f"{self.base_url}/_sandbox"
        self.timeout = timeout
        self.session = requests.Session()
        # Without this, REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the environment override
        # session.verify (requests merges environment settings per request).
        self.session.trust_env = False
        self.session.verify = ca_bundle
        self.google = GoogleControl(self)
        self.microsoft = MicrosoftControl(self)

    def call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """One control request; the decoded JSON answer (None for an empty one)."""
        url = f"{self.control_url}{path}"
        response = self.session.request(method, url, json=json, params=params, timeout=self.timeout)
        if not 200 <= response.status_code < 300:
            raise SandboxError(method, url, response.status_code, response.text)
        return response.json() if response.content else None

    # -- generic -------------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return self.call("GET", "/info")

    def reset(self) -> None:
        self.call("POST", "/reset")

    def save(self) -> str:
        return self.call("POST", "/save")["saved"]

    def freeze_heap(self) -> dict[str, int]:
        """Collect the sandbox's garbage and exempt what it holds from later collections."""
        return self.call("POST", "/heap/freeze")

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """One fault rule: route/path, status, body, reason, rate, retry_after, latency_ms,
        reset, times, method, seed. Answers the stored rule with its ``id``."""
        return self.call("POST", "/faults", json=rule)

    def add_faults(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.call("POST", "/faults", json={"faults": rules})["faults"]

    def faults(self) -> list[dict[str, Any]]:
        return self.call("GET", "/faults")["faults"]

    def remove_fault(self, fault_id: str) -> None:
        self.call("DELETE", f"/faults/{_segment(fault_id)}")

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")

    def requests_log(
        self,
        *,
        since: int = 0,
        route: str | None = None,
        provider: str | None = None,
        user: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        params = _without_none(
            {"since": since, "route": route, "provider": provider, "user": user, "limit": limit}
        )
        return self.call("GET", "/requests", params=params)["requests"]

    def last_request_seq(self) -> int:
        return self.call("GET", "/requests", params={"limit": 1})["last_seq"]

    def clear_requests(self) -> None:
        self.call("DELETE", "/requests")

    def quotas(self) -> dict[str, Any]:
        return self.call("GET", "/quotas")

    def config(self) -> dict[str, Any]:
        return self.call("GET", "/config")

    def set_config(self, **changes: Any) -> dict[str, Any]:
        return self.call("POST", "/config", json=changes)

    def now(self) -> str:
        return self.call("GET", "/clock")["now"]

    def advance_clock(self, seconds: float) -> str:
        return self.call("POST", "/clock", json={"advance_seconds": seconds})["now"]

    def notifications(self) -> list[dict[str, Any]]:
        return self.call("GET", "/notifications")["notifications"]


class _ProviderControl:
    """What both providers' control APIs share: a mailbox owner under ``/users/{who}``."""

    prefix = ""

    def __init__(self, client: SandboxClient) -> None:
        self.client = client

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.call(method, f"{self.prefix}{path}", **kwargs)

    def _register(
        self, path: str, client_id: str, client_secret: str, redirect_uris: list[str]
    ) -> dict[str, Any]:
        body = {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uris": redirect_uris,
        }
        return self._call("POST", path, json=body)

    def fill(
        self,
        who: str,
        *,
        seed: int,
        count: int,
        span_days: int | None = None,
        events: int | None = None,
        companies: Sequence[Company] | None = None,
    ) -> dict[str, Any]:
        """Generated mail (and events) for ``who``: see ``integrations.sandbox.generator``.
        ``companies`` are who the mail and meetings are with (default: the generator's own)."""
        body = _without_none(
            {
                "seed": seed,
                "count": count,
                "span_days": span_days,
                "events": events,
                "companies": companies_to_json(companies) if companies is not None else None,
            }
        )
        return self._call("POST", f"/users/{_segment(who)}/fill", json=body)

    def messages(self, who: str) -> Any:
        return self._call("GET", f"/users/{_segment(who)}/messages")

    def delete_message(self, who: str, message_id: str) -> Any:
        return self._call("DELETE", f"/users/{_segment(who)}/messages/{_segment(message_id)}")

    def create_event(self, who: str, event: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"/users/{_segment(who)}/events", json=event)

    def update_event(self, who: str, event_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        path = f"/users/{_segment(who)}/events/{_segment(event_id)}"
        return self._call("PATCH", path, json=changes)

    def cancel_event(self, who: str, event_id: str) -> Any:
        return self._call("POST", f"/users/{_segment(who)}/events/{_segment(event_id)}/cancel")


class GoogleControl(_ProviderControl):
    """Wrappers for ``/_sandbox/google/...``; ``who`` is the Gmail address."""

    prefix = "/google"

    def create_client(
        self, client_id: str, client_secret: str, redirect_uris: list[str]
    ) -> dict[str, Any]:
        return self._register("/clients", client_id, client_secret, redirect_uris)

    def create_user(self, email: str, name: str) -> dict[str, Any]:
        return self._call("POST", "/users", json={"email": email, "name": name})

    def users(self) -> Any:
        return self._call("GET", "/users")

    def deliver(
        self,
        email: str,
        raw: bytes | str,
        *,
        label_ids: list[str] | None = None,
        internal_date: datetime | str | int | None = None,
    ) -> dict[str, Any]:
        body = _without_none(
            {"raw": _raw_field(raw), "labelIds": label_ids, "internalDate": _iso(internal_date)}
        )
        return self._call("POST", f"/users/{_segment(email)}/messages", json=body)

    def modify_labels(
        self,
        email: str,
        message_id: str,
        *,
        add: list[str] | None = None,
        remove: list[str] | None = None,
    ) -> Any:
        path = f"/users/{_segment(email)}/messages/{_segment(message_id)}/labels"
        return self._call("POST", path, json={"add": add or [], "remove": remove or []})

    def expire_history(self, email: str) -> Any:
        return self._call("POST", f"/users/{_segment(email)}/expire-history")

    def expire_sync_tokens(self, email: str) -> Any:
        return self._call("POST", f"/users/{_segment(email)}/expire-sync-tokens")

    def revoke_grants(self, email: str) -> Any:
        return self._call("POST", "/grants/revoke", json={"email": email})


class MicrosoftControl(_ProviderControl):
    """Wrappers for ``/_sandbox/microsoft/...``; ``who`` is the user principal name."""

    prefix = "/microsoft"

    def create_app(
        self, client_id: str, client_secret: str, redirect_uris: list[str]
    ) -> dict[str, Any]:
        return self._register("/apps", client_id, client_secret, redirect_uris)

    def create_tenant(
        self, domain: str, name: str, *, tenant_id: str | None = None
    ) -> dict[str, Any]:
        body = _without_none({"domain": domain, "name": name, "tenant_id": tenant_id})
        return self._call("POST", "/tenants", json=body)

    def tenants(self) -> Any:
        return self._call("GET", "/tenants")

    def create_user(self, tenant_id: str, email: str, name: str) -> dict[str, Any]:
        path = f"/tenants/{_segment(tenant_id)}/users"
        return self._call("POST", path, json={"email": email, "name": name})

    def create_shared_mailbox(
        self, tenant_id: str, email: str, name: str, delegates: list[str]
    ) -> dict[str, Any]:
        path = f"/tenants/{_segment(tenant_id)}/shared-mailboxes"
        return self._call("POST", path, json={"email": email, "name": name, "delegates": delegates})

    def deliver(
        self,
        upn: str,
        raw: bytes | str,
        *,
        folder: str | None = None,
        is_read: bool | None = None,
        received_date_time: datetime | str | None = None,
    ) -> dict[str, Any]:
        body = _without_none(
            {
                "raw": _raw_field(raw),
                "folder": folder,
                "isRead": is_read,
                "receivedDateTime": _iso(received_date_time),
            }
        )
        return self._call("POST", f"/users/{_segment(upn)}/messages", json=body)

    def update_message(
        self,
        upn: str,
        message_id: str,
        *,
        is_read: bool | None = None,
        flagged: bool | None = None,
        folder: str | None = None,
    ) -> Any:
        body = _without_none({"isRead": is_read, "flagged": flagged, "folder": folder})
        path = f"/users/{_segment(upn)}/messages/{_segment(message_id)}"
        return self._call("PATCH", path, json=body)

    def expire_delta(self, upn: str) -> Any:
        return self._call("POST", f"/users/{_segment(upn)}/expire-delta")

    def revoke_grants(self, upn: str) -> Any:
        return self._call("POST", "/grants/revoke", json={"upn": upn})

"""How fast the sandbox serves Gmail batches to the real google-api-python-client.

    .venv/bin/python benchmarks/sandbox_serve.py [--messages 2000] [--rounds 3]

Starts the sandbox in-process with quotas off, fills one Gmail user, signs in through the
sandbox's OAuth endpoints, then runs 50-call ``BatchHttpRequest``s of
``users.messages.get(format="full")`` over HTTPS. Prints one JSON object; targets are a median
of 50 ms per batch or less and 1,000 full messages per second or more.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import google_auth_httplib2
import httplib2
import requests
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.http import BatchHttpRequest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from integrations.sandbox.client import SandboxClient
from integrations.sandbox.server import SandboxServer
from integrations.sandbox.state import SandboxConfig

CLIENT_ID = "bench-client.apps.googleusercontent.com"
CLIENT_SECRET = "bench-secret"
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"
EMAIL = "bench.user@liaison-bench.com"
SCOPES = ["openid", "email", "https://www.googleapis.com/auth/gmail.readonly"]
BATCH_SIZE = 50


def sign_in(server: SandboxServer) -> Credentials:
    """Authorization-code flow against the sandbox (auto-approve), like google-auth-oauthlib."""
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides session.verify
    session.verify = server.ca_bundle
    authorize = session.get(
        f"{server.google_base_url}/o/oauth2/v2/auth",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": " ".join(SCOPES),
            "access_type": "offline",
            "prompt": "consent",
            "state": "bench",
            "login_hint": EMAIL,
        },
        allow_redirects=False,
        timeout=30,
    )
    location = authorize.headers.get("Location", "")
    code = parse_qs(urlsplit(location).query).get("code", [None])[0]
    if authorize.status_code not in (302, 303) or not code:
        raise SystemExit(f"authorize failed: {authorize.status_code} {authorize.text[:300]}")
    token = session.post(
        f"{server.google_base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        timeout=30,
    )
    token.raise_for_status()
    payload = token.json()
    return Credentials(
        token=payload["access_token"],
        refresh_token=payload.get("refresh_token"),
        token_uri=f"{server.google_base_url}/token",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=SCOPES,
    )


def message_ids(service: Any) -> list[str]:
    ids: list[str] = []
    request = service.users().messages().list(userId="me", maxResults=500, includeSpamTrash=True)
    while request is not None:
        page = request.execute()
        ids += [m["id"] for m in page.get("messages", [])]
        request = service.users().messages().list_next(request, page)
    return ids


def run_batches(
    service: Any, http: Any, batch_uri: str, ids: list[str], rounds: int
) -> tuple[list[float], int, int]:
    """Time every 50-call batch; answers (durations in seconds, messages fetched, errors)."""
    durations: list[float] = []
    fetched = errors = 0
    # Build the resource once: each service.users().messages() re-creates every method.
    messages = service.users().messages()

    def collect(request_id: str, response: Any, exception: Exception | None) -> None:
        nonlocal fetched, errors
        if exception is not None or not response.get("payload"):
            errors += 1
        else:
            fetched += 1

    for _ in range(rounds):
        for offset in range(0, len(ids), BATCH_SIZE):
            batch = BatchHttpRequest(callback=collect, batch_uri=batch_uri)
            for message_id in ids[offset : offset + BATCH_SIZE]:
                batch.add(messages.get(userId="me", id=message_id, format="full"))
            started = time.perf_counter()
            batch.execute(http=http)
            durations.append(time.perf_counter() - started)
    return durations, fetched, errors


def _ms(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return round(ordered[int(fraction * (len(ordered) - 1))] * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    config = SandboxConfig(
        auto_approve=True, gmail_quota_units_per_second=None, graph_throttle=False
    )
    server = SandboxServer(config=config).start()
    try:
        control = SandboxClient(server.base_url, server.ca_bundle)
        control.google.create_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        control.google.create_user(EMAIL, "Bench User")
        started = time.perf_counter()
        control.google.fill(EMAIL, seed=42, count=args.messages, events=0)
        fill_seconds = time.perf_counter() - started

        http = google_auth_httplib2.AuthorizedHttp(
            sign_in(server), http=httplib2.Http(ca_certs=server.ca_bundle, timeout=60)
        )
        service = build(
            "gmail",
            "v1",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": f"{server.google_base_url}/"},
        )
        ids = message_ids(service)
        batch_uri = f"{server.google_base_url}/batch/gmail/v1"
        run_batches(service, http, batch_uri, ids[:BATCH_SIZE], 1)  # warm up caches and TLS

        mark = control.last_request_seq()
        wall = time.perf_counter()
        durations, fetched, errors = run_batches(service, http, batch_uri, ids, args.rounds)
        wall = time.perf_counter() - wall
        # The server's own time per batch, from its request log (no client-side work).
        served = [
            entry["duration_ms"] / 1000
            for entry in control.requests_log(since=mark, route="google.batch.gmail")
        ]
        print(
            json.dumps(
                {
                    "batch50_median_ms": round(statistics.median(durations) * 1000, 2),
                    "batch50_p95_ms": _ms(durations, 0.95),
                    "batch50_max_ms": _ms(durations, 1.0),
                    "server_batch50_median_ms": round(statistics.median(served) * 1000, 2),
                    "server_batch50_p95_ms": _ms(served, 0.95),
                    "full_messages_per_s": round(fetched / wall, 1),
                    "server_full_messages_per_s": round(fetched / sum(served), 1),
                    "batches": len(durations),
                    "messages_fetched": fetched,
                    "errors": errors,
                    "mailbox_messages": len(ids),
                    "fill_seconds": round(fill_seconds, 2),
                }
            )
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()

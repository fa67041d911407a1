"""How fast the Graph mail driver syncs a large mailbox, against a plain download of the same.

    .venv/bin/python benchmarks/graph_driver.py [--messages 20000] [--page-size 100] [--rounds 3]

Runs the sandbox in a child process (``manage.py sandbox --no-quotas``: Graph throttling off)
so its CPU does not share this process's interpreter, fills one Microsoft 365 mailbox, and
times, per round:

* driver: ``changes()`` over Inbox, Sent Items and Archive from no cursor, plus ``fetch()`` of
  whatever pages ask for (translation to RemoteMessage, attachment listings, retries included);
* plain: the same HTTP requests with the same session, headers and page size (delta pages,
  then the same attachment ``$batch`` calls), JSON decoded and nothing else.

Rounds alternate (plain, driver, plain, driver, ...) after a warm-up that fills the sandbox's
render caches. Prints one JSON object: medians of the rounds, and the pure translation cost
(message_from_json over every delta item of one download).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from integrations.providers.http import provider_session  # noqa: E402
from integrations.providers.mail import DriverContext, SyncWindow  # noqa: E402
from integrations.providers.microsoft.graph import (  # noqa: E402
    IMMUTABLE_IDS,
    GraphClient,
    GraphRequest,
)
from integrations.providers.microsoft.graph_mail import GraphMailDriver  # noqa: E402
from integrations.providers.microsoft.graph_mail_parse import (  # noqa: E402
    ATTACHMENT_META_SELECT,
    has_only_inline,
    message_from_json,
    wants_attachments,
)
from integrations.providers.sandbox_settings import SANDBOX_MICROSOFT_APP  # noqa: E402
from integrations.sandbox.client import SandboxClient  # noqa: E402

UPN = "bench@contoso.test"
SCOPES = ["User.Read", "Mail.ReadWrite", "offline_access"]


def start_sandbox() -> tuple[subprocess.Popen[str], dict[str, Any]]:
    child = subprocess.Popen(
        [sys.executable, "manage.py", "sandbox", "--port", "0", "--auto-approve", "--no-quotas"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.kill()
        raise SystemExit("the sandbox did not start")
    return child, json.loads(line)


def driver_round(driver: GraphMailDriver) -> tuple[int, int]:
    """(messages, pages) of a full initial sync through the driver, as the pipeline calls it."""
    messages = pages = 0
    for stream in driver.streams:
        for page in driver.changes(stream=stream, cursor=None, window=SyncWindow(since=None)):
            fetched = driver.fetch(page.fetch) if page.fetch else []
            messages += len(page.messages) + len(fetched)
            pages += 1
    return messages, pages


def plain_round(driver: GraphMailDriver, keep: list[dict[str, Any]] | None = None) -> int:
    """The same requests with the bare session: delta pages, then the attachment batches."""
    client = driver.client
    session = client.session
    auth = {"Authorization": f"Bearer {driver.ctx.token()}"}
    messages = 0
    for stream in driver.streams:
        url = client.absolute(driver.start_url(stream, None, SyncWindow(since=None)))
        while url:
            body = session.get(
                url, headers={**driver.delta_headers, **auth}, verify=client.verify
            ).json()
            items = body["value"]
            messages += len(items)
            if keep is not None:
                keep.extend(items)
            wanting = [i for i in items if wants_attachments(i)]
            _plain_attachments(driver, wanting, auth)
            url = body.get("@odata.nextLink")
    return messages


def _plain_attachments(
    driver: GraphMailDriver, items: list[dict[str, Any]], auth: dict[str, str]
) -> None:
    client = driver.client
    requests = []
    for n, item in enumerate(items):
        url = f"{driver.mailbox}/messages/{item['id']}/attachments"
        if not has_only_inline(item):
            url += f"?$select={ATTACHMENT_META_SELECT}"
        requests.append(GraphRequest(str(n), url, headers=IMMUTABLE_IDS))
    details: list[GraphRequest] = []
    for batch in _batches(client, requests, auth):
        for entry in batch["responses"]:
            item = items[int(entry["id"])]
            for value in entry["body"]["value"]:
                if value.get("isInline") and "contentBytes" not in value:
                    path = f"{driver.mailbox}/messages/{item['id']}/attachments/{value['id']}"
                    details.append(GraphRequest(str(len(details)), path, headers=IMMUTABLE_IDS))
    list(_batches(client, details, auth))


def _batches(client: GraphClient, requests: list[GraphRequest], auth: dict[str, str]) -> Any:
    for start in range(0, len(requests), 20):
        chunk = requests[start : start + 20]
        payload = {
            "requests": [
                {"id": r.id, "method": "GET", "url": r.url, "headers": dict(r.headers)}
                for r in chunk
            ]
        }
        yield client.session.post(
            f"{client.base_url}/$batch", json=payload, headers=auth, verify=client.verify
        ).json()


def http_calls(control: SandboxClient, since: int) -> int:
    """Requests that went over the wire (a $batch counts once, not per inner request)."""
    log = control.requests_log(since=since, provider="microsoft")
    return sum(1 for entry in log if not entry.get("batch"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    child, info = start_sandbox()
    try:
        settings.MICROSOFT_GRAPH_URL = info["microsoft_graph_url"]
        settings.PROVIDER_CA_BUNDLE = info["ca_bundle"]
        control = SandboxClient(info["base_url"], info["ca_bundle"], timeout=600)
        control.set_config(graph_throttle=False)
        control.microsoft.create_app(*SANDBOX_MICROSOFT_APP, redirect_uris=["https://b.test/cb"])
        tenant = control.microsoft.create_tenant("contoso.test", "Contoso")
        control.microsoft.create_user(tenant["tenant_id"], UPN, "Bench User")
        started = time.perf_counter()
        control.microsoft.fill(UPN, seed=42, count=args.messages)
        fill_seconds = time.perf_counter() - started
        token = control.call(
            "POST",
            "/microsoft/tokens",
            json={"upn": UPN, "client_id": SANDBOX_MICROSOFT_APP[0], "scopes": SCOPES},
        )["access_token"]
        ctx = DriverContext(mailbox_address=UPN, token=lambda: token, renew=lambda: token)
        client = GraphClient(token=ctx.token, renew=ctx.renew, session=provider_session())
        driver = GraphMailDriver(ctx, client=client, page_size=args.page_size)

        items: list[dict[str, Any]] = []
        plain_round(driver, keep=items)  # warm-up: the sandbox renders and caches every message
        driver_round(driver)
        plain_times: list[float] = []
        driver_times: list[float] = []
        calls: dict[str, int] = {}
        synced = pages = 0
        for _ in range(args.rounds):
            mark = control.last_request_seq()
            started = time.perf_counter()
            downloaded = plain_round(driver)
            plain_times.append(time.perf_counter() - started)
            calls["plain"] = http_calls(control, mark)
            mark = control.last_request_seq()
            started = time.perf_counter()
            synced, pages = driver_round(driver)
            driver_times.append(time.perf_counter() - started)
            calls["driver"] = http_calls(control, mark)

        started = time.perf_counter()
        for item in items:
            message_from_json(item)
        translate = time.perf_counter() - started
        plain, synced_time = statistics.median(plain_times), statistics.median(driver_times)
        print(
            json.dumps(
                {
                    "mailbox_messages": args.messages,
                    "synced_messages": synced,
                    "downloaded_items": downloaded,
                    "page_size": args.page_size,
                    "delta_pages": pages,
                    "driver_seconds": round(synced_time, 3),
                    "driver_messages_per_s": round(synced / synced_time, 1),
                    "plain_seconds": round(plain, 3),
                    "plain_messages_per_s": round(downloaded / plain, 1),
                    "overhead_ratio": round(synced_time / plain, 3),
                    "http_calls_per_round": calls,
                    "translate_seconds": round(translate, 3),
                    "translate_us_per_message": round(translate / max(len(items), 1) * 1e6, 1),
                    "rounds": args.rounds,
                    "fill_seconds": round(fill_seconds, 2),
                }
            )
        )
    finally:
        child.terminate()
        child.wait(timeout=30)


if __name__ == "__main__":
    main()

"""The Gmail driver's share of the sync benchmark: changes + fetch versus a plain download.

    .venv/bin/python benchmarks/gmail_driver.py [--messages 20000] [--rounds 3]
                                                [--server process|thread] [--profile FILE]

Fills one sandbox Gmail mailbox (quotas off) and times, alternately, ``rounds`` times each:

- plain: the same google-api-python-client service and HTTP objects the driver uses, the same
  ``messages.list`` query and page size, the same 50-call ``BatchHttpRequest``s of
  ``messages.get(format="full")`` over the same connections at once, keeping the JSON dicts
  as they come (no normalization);
- driver: ``GmailDriver.changes(cursor=None)`` then ``GmailDriver.fetch(page.fetch)`` per page,
  producing RemoteMessages.

With ``--server process`` (default) the sandbox runs in its own process, as a provider would be
on another machine; ``thread`` runs it in this process (sharing the GIL, like the sandbox tests).
Prints one JSON object: messages/s of each; ``overhead`` (driver time / plain time of paired
rounds, median; target ≤ 1.15 so the pipeline keeps ≤ 1.5x); ``client_cpu_overhead`` (the
same for this process's CPU time, steadier on a shared machine); and the normalization cost
per message on its own. Neither run keeps the messages
of earlier pages, so garbage collection costs both the same.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from integrations.providers.google.gmail import GmailDriver  # noqa: E402
from integrations.providers.google.gmail_batch import (  # noqa: E402
    BATCH_SIZE,
    full_message_requests,
    over_connections,
)
from integrations.providers.google.gmail_changes import PAGE_SIZE, listing_query  # noqa: E402
from integrations.providers.google.gmail_payload import message_from_resource  # noqa: E402
from integrations.providers.google.services import gmail_batch  # noqa: E402
from integrations.providers.mail import DriverContext, RemoteMessage, SyncWindow  # noqa: E402
from integrations.providers.sandbox_settings import (  # noqa: E402
    SANDBOX_GOOGLE_CLIENT,
    sandbox_provider_settings,
)
from integrations.sandbox.client import SandboxClient  # noqa: E402

EMAIL = "bench.owner@liaison-bench.com"
SCOPES = ["https://www.googleapis.com/auth/gmail.readonly"]
WINDOW = SyncWindow(since=None)


def start_server(mode: str) -> tuple[SandboxClient, Callable[[], None]]:
    if mode == "thread":
        from integrations.sandbox.server import SandboxServer
        from integrations.sandbox.state import SandboxConfig

        server = SandboxServer(config=SandboxConfig(auto_approve=True)).start()
        return SandboxClient(server.base_url, server.ca_bundle), server.stop
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "sandbox", "--port", "0", "--auto-approve"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    info = json.loads(process.stdout.readline())

    def stop() -> None:
        process.terminate()
        process.wait(timeout=30)

    return SandboxClient(info["base_url"], info["ca_bundle"]), stop


def configure(control: SandboxClient, messages: int) -> DriverContext:
    for name, value in sandbox_provider_settings(
        google_base_url=control.google_base_url,
        microsoft_login_url=control.microsoft_login_url,
        microsoft_graph_url=control.microsoft_graph_url,
        ca_bundle=control.ca_bundle,
    ).items():
        setattr(settings, name, value)
    control.set_config(gmail_quota_units_per_second=None)
    control.google.create_client(*SANDBOX_GOOGLE_CLIENT, ["http://127.0.0.1:9/callback"])
    control.google.create_user(EMAIL, "Bench Owner")
    control.google.fill(EMAIL, seed=42, count=messages)
    body = control.call(
        "POST",
        "/google/tokens",
        json={"email": EMAIL, "client_id": SANDBOX_GOOGLE_CLIENT[0], "scopes": SCOPES},
    )
    token = body["access_token"]
    return DriverContext(mailbox_address=EMAIL, token=lambda: token, renew=lambda: token)


def plain_download(driver: GmailDriver, keep_all: bool = False) -> list[dict[str, Any]]:
    """The same client, query, pages, batches and connections as the driver; the raw JSON of
    each page's messages is dropped once the next page comes (like the driver's), unless
    ``keep_all``."""
    resources: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    messages, query, token = driver.messages, listing_query(WINDOW), None

    def keep(request_id: str, response: Any, error: Exception | None) -> None:
        if error is not None:
            raise error
        resources.append(response)

    def send(chunk: list[str], http: Any) -> list[str]:
        batch = gmail_batch(keep)
        for request in full_message_requests(messages, chunk):
            batch.add(request)
        batch.execute(http=http)
        return []

    while True:
        params: dict[str, Any] = {"userId": "me", "q": query, "maxResults": PAGE_SIZE}
        if token:
            params["pageToken"] = token
        page = messages.list(**params).execute()
        ids = [m["id"] for m in page.get("messages", ())]
        chunks = [ids[offset : offset + BATCH_SIZE] for offset in range(0, len(ids), BATCH_SIZE)]
        over_connections(send, chunks, driver.https)
        if keep_all:
            kept += resources
        else:
            kept += [{}] * len(resources)  # counted, not kept
        resources.clear()
        token = page.get("nextPageToken")
        if not token:
            return kept


def driver_sync(driver: GmailDriver) -> int:
    synced = 0
    for page in driver.changes(stream="", cursor=None, window=WINDOW):
        for result in driver.fetch(page.fetch):
            if not isinstance(result, RemoteMessage):
                raise SystemExit(f"fetch failed: {result}")
            synced += 1
    return synced


def timed(operation: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = operation()
    return time.perf_counter() - started, result


def cpu_timed(operation: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, this process's CPU seconds, result): CPU time is what the client itself
    spends, so it compares the two runs fairly even when other work shares the machine."""
    cpu = time.process_time()
    wall, result = timed(operation)
    return wall, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=("process", "thread"), default="process")
    parser.add_argument("--profile", help="write a cProfile of one driver run to this file")
    args = parser.parse_args()

    control, stop = start_server(args.server)
    try:
        fill_seconds, ctx = timed(lambda: configure(control, args.messages))
        driver = GmailDriver(ctx)
        # Warm up TLS, discovery and the server's parse cache; keep a sample to normalize.
        sample = plain_download(driver, keep_all=True)
        plain_times, driver_times, plain_cpu, driver_cpu, count = [], [], [], [], 0
        resources: list[Any] = []
        for _ in range(args.rounds):
            seconds, cpu, resources = cpu_timed(lambda: plain_download(driver))
            plain_times.append(seconds)
            plain_cpu.append(cpu)
            seconds, cpu, count = cpu_timed(lambda: driver_sync(driver))
            driver_times.append(seconds)
            driver_cpu.append(cpu)
        if count != len(resources):
            raise SystemExit(f"driver synced {count}, plain download {len(resources)}")
        normalize_seconds, _ = timed(lambda: [message_from_resource(r) for r in sample])
        if args.profile:
            cProfile.runctx("driver_sync(driver)", globals(), {"driver": driver}, args.profile)
        plain, synced = statistics.median(plain_times), statistics.median(driver_times)
        ratios = [d / p for d, p in zip(driver_times, plain_times, strict=True)]
        cpu_ratios = [d / p for d, p in zip(driver_cpu, plain_cpu, strict=True)]
        print(
            json.dumps(
                {
                    "server": args.server,
                    "mailbox_messages": args.messages,
                    "messages_synced": count,
                    "rounds": args.rounds,
                    "plain_msgs_per_s": round(count / plain, 1),
                    "driver_msgs_per_s": round(count / synced, 1),
                    # Median of the paired rounds (each driver run next to a plain run).
                    "overhead": round(statistics.median(ratios), 3),
                    "client_cpu_overhead": round(statistics.median(cpu_ratios), 3),
                    "plain_seconds": [round(s, 2) for s in plain_times],
                    "driver_seconds": [round(s, 2) for s in driver_times],
                    "plain_client_cpu_seconds": [round(s, 2) for s in plain_cpu],
                    "driver_client_cpu_seconds": [round(s, 2) for s in driver_cpu],
                    "load_average_1min": round(os.getloadavg()[0], 2),
                    "normalize_us_per_msg": round(normalize_seconds / len(sample) * 1e6, 1),
                    "fill_seconds": round(fill_seconds, 2),
                }
            )
        )
    finally:
        stop()


if __name__ == "__main__":
    main()

"""``python manage.py sandbox --port P [--state FILE] [--auto-approve]``.

Serves the provider sandbox until SIGINT/SIGTERM. The first line on stdout is one JSON object
with the URLs and CA bundle the app needs; with ``--state`` the mailboxes and the CA survive
restarts, so a configured app keeps working.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from integrations.sandbox.server import SandboxServer
from integrations.sandbox.state import SandboxConfig


class Command(BaseCommand):
    help = "Run the Google/Microsoft sandbox over HTTPS on 127.0.0.1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--state",
            default=None,
            help="JSON file to load state from and save it to (CA kept beside it)",
        )
        parser.add_argument(
            "--auto-approve", action="store_true", help="consent screens approve without a browser"
        )
        parser.add_argument(
            "--no-quotas", action="store_true", help="turn off Gmail quotas and Graph throttling"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verbosity"] > 1:
            logging.basicConfig(level=logging.DEBUG)
        config = SandboxConfig(auto_approve=options["auto_approve"])
        if options["no_quotas"]:
            config.gmail_quota_units_per_second = None
            config.graph_throttle = False
        server = SandboxServer(
            host=options["host"], port=options["port"], config=config, state_path=options["state"]
        )
        # A loaded state brings its own config; the command line still wins for these flags.
        if options["auto_approve"]:
            server.sandbox.config.auto_approve = True
        if options["no_quotas"]:
            server.sandbox.config.gmail_quota_units_per_second = None
            server.sandbox.config.graph_throttle = False

        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        server.start()
        info = server.info()
        line = {
            key: info[key]
            for key in (
                "base_url",
                "google_base_url",
                "microsoft_login_url",
                "microsoft_graph_url",
                "control_url",
                "ca_bundle",
            )
        }
        self.stdout.write(json.dumps(line))
        self.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()

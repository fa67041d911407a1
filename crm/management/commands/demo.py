"""``python manage.py demo [--port 8000] [--sandbox-port 8001]``: the whole app in one command.

Migrates and seeds the demo organization, then starts the provider sandbox, waits for the JSON
line it prints first (its URLs and CA bundle), and through its control API registers Liaison's
OAuth apps for this site and creates and fills the demo team's mailboxes (``crm.demo_sandbox``;
idempotent, the sandbox keeps its state in ``var/sandbox/state.json``). Only then does it start
the web server, a Celery worker and Celery beat, with the environment that points them at the
sandbox, so "Connect Google" works out of the box. Each line of the children's output is
prefixed with the child's name. Ctrl-C (or SIGTERM) stops them all and exits 0; a child that
dies on its own stops the others and the command exits non-zero, naming it.

Each child leads its own process group, so the terminal's Ctrl-C reaches only this supervisor,
and stopping a child also stops what it forked (Celery's prefork pool).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from crm import demo_data
from crm.demo_connect import demo_mailboxes_connect
from crm.demo_sandbox import SandboxInfo, demo_sandbox_environment, demo_sandbox_provision
from integrations.connections import services as services_errors
from integrations.sandbox.client import SandboxError

STOP_GRACE_SECONDS = 10.0  # a filesystem-broker worker needs ~6 s for a warm shutdown
POLL_SECONDS = 0.2
READY_TIMEOUT_SECONDS = 90.0
SANDBOX_TIMEOUT_SECONDS = 30.0  # until the sandbox prints its URLs
HOST = "127.0.0.1"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via $HTTP_PROXY


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # on top of this process's environment
    stop_last: bool = False  # the others depend on it: stopped once they have all stopped
    process: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = field(default=None, repr=False)
    # The first JSON object the child prints (the sandbox's URLs), once it has printed one.
    announcement: dict[str, Any] | None = None
    announced: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None


class Supervisor:
    """Starts children, relays their output, notices deaths, and stops them all."""

    def __init__(self, children: list[Child], write: Callable[[str], None]) -> None:
        self.children = children
        self.write = write
        self.width = max(len(child.name) for child in children)
        self.stopping = threading.Event()
        self.force = threading.Event()

    def label(self, name: str) -> str:
        return f"{name.ljust(self.width)} |"

    def start(self, child: Child) -> None:
        if self.stopping.is_set():
            return
        child.process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            child.argv,
            cwd=settings.BASE_DIR,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **child.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        child.reader = threading.Thread(
            target=self._relay, args=(child,), name=f"relay-{child.name}", daemon=True
        )
        child.reader.start()
        self.write(f"{self.label('demo')} started {child.name} (pid {child.pid})")

    def _relay(self, child: Child) -> None:
        assert child.process is not None and child.process.stdout is not None
        prefix = self.label(child.name)
        for raw in iter(child.process.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if not child.announced.is_set() and line.startswith("{"):
                with contextlib.suppress(ValueError):
                    child.announcement = json.loads(line)
                    child.announced.set()
            self.write(f"{prefix} {line}")
        child.process.stdout.close()

    def wait_for_announcement(self, child: Child, timeout: float) -> dict[str, Any] | None:
        """The child's first JSON line; None if it died first or a stop was requested."""
        deadline = time.monotonic() + timeout
        while not child.announced.wait(POLL_SECONDS):
            if child.exited() or self.stopping.is_set():
                return None
            if time.monotonic() > deadline:
                raise CommandError(f"{child.name} printed no JSON line within {timeout:.0f} s.")
        return child.announcement

    def request_stop(self) -> None:
        """Called from signal handlers: the first request stops gently, a second one kills."""
        if self.stopping.is_set():
            self.force.set()
        self.stopping.set()

    def wait_for_death_or_stop(self) -> Child | None:
        """The first child to die on its own, or None once a stop was requested."""
        while not self.stopping.wait(POLL_SECONDS):
            for child in self.children:
                if child.exited():
                    return child
        return None

    def stop_all(self) -> None:
        started = [child for child in self.children if child.process is not None]
        self._stop([child for child in started if not child.stop_last])
        self._stop([child for child in started if child.stop_last])

    def _stop(self, children: list[Child]) -> None:
        for child in children:
            if not child.exited():
                # The leader only: Celery's main process winds its pool down itself.
                assert child.process is not None
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and not self.force.is_set():
            if all(child.exited() for child in children):
                break
            time.sleep(0.05)
        for child in children:
            # Also reaps what a child forked and left behind (a pool worker of a killed Celery).
            _signal_group(child.pid, signal.SIGKILL)
            assert child.process is not None
            code = child.process.wait()
            if child.reader is not None:
                child.reader.join(timeout=2)
            self.write(f"{self.label('demo')} {child.name} stopped ({_describe_exit(code)})")


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _describe_exit(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers do, so a port held only by TIME_WAIT connections counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def login_box(lines: list[str]) -> str:
    width = max(len(line) for line in lines)
    border = "+" + "-" * (width + 2) + "+"
    return "\n".join([border, *(f"| {line.ljust(width)} |" for line in lines), border])


def mailbox_lines() -> list[str]:
    """The sandbox accounts to connect, one line each, for the banner."""
    names = {mailbox.email: mailbox.name for mailbox in demo_data.DEMO_MAILBOXES}
    lines = []
    for mailbox in demo_data.DEMO_MAILBOXES:
        label = "Google" if mailbox.provider == "google" else "Microsoft"
        if mailbox.shared:
            delegates = " and ".join(names[d].split()[0] for d in mailbox.delegates)
            lines.append(f"{label:<10} {mailbox.email} (shared, delegated to {delegates})")
        else:
            lines.append(f"{label:<10} {mailbox.email} ({mailbox.name})")
    return lines


class Command(BaseCommand):
    help = (
        "Migrate, seed the demo data, set up the provider sandbox, and run it with web, worker "
        "and beat until Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="web server port")
        parser.add_argument("--sandbox-port", type=int, default=8001, help="provider sandbox port")
        parser.add_argument(
            "--worker-pool",
            choices=["prefork", "threads", "solo"],
            default="prefork",
            help="Celery worker pool (prefork works with the filesystem broker)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port: int = options["port"]
        sandbox_port: int = options["sandbox_port"]
        if port == sandbox_port:
            raise CommandError("--port and --sandbox-port must differ.")
        for number in (port, sandbox_port):
            if not _port_free(number):
                raise CommandError(f"Port {number} on {HOST} is in use; choose another one.")

        self._console_lock = threading.Lock()
        self.say(f"Applying migrations to {settings.DATABASES['default']['NAME']} …")
        call_command("migrate", interactive=False, verbosity=max(0, options["verbosity"] - 1))
        call_command("seed_demo", stdout=self.stdout, stderr=self.stderr)
        connections.close_all()  # the children open their own

        site_url = f"http://{HOST}:{port}"
        sandbox = self.sandbox_child(sandbox_port)
        apps = self.app_children(port, options["worker_pool"])
        supervisor = Supervisor([sandbox, *apps], self.say)
        dead = self.supervise(supervisor, sandbox, apps, site_url)
        if dead is not None:
            assert dead.process is not None
            raise CommandError(
                f"{dead.name} exited unexpectedly ({_describe_exit(dead.process.returncode)}); "
                "stopped the others."
            )
        self.say(f"{supervisor.label('demo')} all stopped. Bye.")

    def say(self, text: str) -> None:
        with self._console_lock:
            self.stdout.write(text)
            self.stdout.flush()

    def box(self, site_url: str, sandbox: SandboxInfo) -> str:
        owner = demo_data.DEMO_TEAM[0]
        lines = [
            "Liaison demo",
            "",
            f"Web        {site_url}/",
            f"E-mail     {owner.email} ({owner.first_name} {owner.last_name}, {owner.role})",
            f"Password   {demo_data.demo_password()}",
            *(f"Teammate   {t.email} ({t.role})" for t in demo_data.DEMO_TEAM[1:]),
            f"API docs   {site_url}/api/docs/",
            "",
            "Mailboxes to connect: Settings > Connections > Connect, pick one, Allow",
            *mailbox_lines(),
            f"Sandbox    {sandbox.base_url}/ (control API under /_sandbox/)",
            "",
            "Ctrl-C stops everything.",
        ]
        return login_box(lines)

    def sandbox_child(self, sandbox_port: int) -> Child:
        state = settings.VAR_DIR / "sandbox" / "state.json"
        argv = [sys.executable, str(settings.BASE_DIR / "manage.py"), "sandbox",
                "--port", str(sandbox_port), "--state", str(state)]  # fmt: skip
        return Child("sandbox", argv, stop_last=True)

    def app_children(self, port: int, pool: str) -> list[Child]:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        return [
            Child("web", [*manage, "runserver", f"{HOST}:{port}", "--noreload"]),
            Child("worker", [*celery, "worker", "--loglevel=INFO", "--concurrency=2", "-P", pool]),
            Child("beat", [*celery, "beat", "--loglevel=INFO", "--scheduler",
                           "django_celery_beat.schedulers:DatabaseScheduler"]),
        ]  # fmt: skip

    def supervise(
        self, supervisor: Supervisor, sandbox: Child, apps: list[Child], site_url: str
    ) -> Child | None:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            supervisor.request_stop()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        dead = None
        try:
            supervisor.start(sandbox)
            announcement = supervisor.wait_for_announcement(sandbox, SANDBOX_TIMEOUT_SECONDS)
            if announcement is not None:
                info = SandboxInfo.from_announcement(announcement)
                if info is None:
                    raise CommandError(f"The sandbox printed an unexpected line: {announcement}")
                environment = self.sandbox_prepare(supervisor, info, site_url)
                self.say(self.box(site_url, info))
                for child in apps:
                    child.env = environment
                    supervisor.start(child)
                threading.Thread(
                    target=self._announce_ready, args=(supervisor, f"{site_url}/"), daemon=True
                ).start()
            dead = supervisor.wait_for_death_or_stop()
            if dead is not None:
                self.say(f"{supervisor.label('demo')} {dead.name} died; stopping the others.")
        finally:
            supervisor.stopping.set()
            supervisor.stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return dead

    def sandbox_prepare(
        self, supervisor: Supervisor, info: SandboxInfo, site_url: str
    ) -> dict[str, str]:
        """Set the sandbox up for this site (apps, mailboxes, mail); the children's environment."""
        label = supervisor.label("demo")
        client = info.client()
        try:
            changes = demo_sandbox_provision(client=client, site_url=site_url)
            # On disk now rather than at the next autosave.
            saved = client.save() if changes else None
        except (SandboxError, requests.RequestException) as exc:
            raise CommandError(f"Could not set up the sandbox: {exc}") from exc
        finally:
            client.session.close()
        for change in changes:
            self.say(f"{label} sandbox: {change}")
        if saved is None:
            self.say(f"{label} sandbox: apps, mailboxes and mail already in place")
        else:
            self.say(f"{label} sandbox: saved to {saved}")
        environment = demo_sandbox_environment(info=info, site_url=site_url)
        try:
            for change in demo_mailboxes_connect(environment=environment):
                self.say(f"{label} {change}")
        except (
            services_errors.ConnectionFlowError,
            requests.RequestException,
            RuntimeError,
        ) as exc:
            self.say(f"{label} could not connect the demo mailboxes ({exc}); use Connections")
        return environment

    def _announce_ready(self, supervisor: Supervisor, url: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline and not supervisor.stopping.wait(0.5):
            try:
                with _DIRECT.open(f"{url}healthz", timeout=1) as response:
                    if response.status == 200:
                        who = f"{demo_data.DEMO_OWNER_EMAIL} / {demo_data.demo_password()}"
                        self.say(f"{supervisor.label('demo')} ready: {url} (log in as {who})")
                        return
            except OSError:
                continue

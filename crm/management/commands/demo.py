"""``python manage.py demo [--port 8000] [--sandbox-port 8001]``: the whole app in one command.

Migrates, seeds the demo organization, then runs and supervises the web server, a Celery worker,
Celery beat and the provider sandbox as child processes, each line of their output prefixed with
the child's name. Ctrl-C (or SIGTERM) stops them all and exits 0; a child that dies on its own
stops the others and the command exits non-zero, naming it.

Each child leads its own process group, so the terminal's Ctrl-C reaches only this supervisor,
and stopping a child also stops what it forked (Celery's prefork pool).
"""

from __future__ import annotations

import contextlib
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

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from crm import demo_data

STOP_GRACE_SECONDS = 10.0  # a filesystem-broker worker needs ~6 s for a warm shutdown
POLL_SECONDS = 0.2
READY_TIMEOUT_SECONDS = 90.0
HOST = "127.0.0.1"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via $HTTP_PROXY


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = field(default=None, repr=False)

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

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for child in self.children:
            if self.stopping.is_set():
                return
            child.process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
                child.argv,
                cwd=settings.BASE_DIR,
                env=env,
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
            self.write(f"{prefix} {raw.decode('utf-8', 'replace')}".rstrip())
        child.process.stdout.close()

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
        for child in started:
            if not child.exited():
                # The leader only: Celery's main process winds its pool down itself.
                assert child.process is not None
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and not self.force.is_set():
            if all(child.exited() for child in started):
                break
            time.sleep(0.05)
        for child in started:
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


class Command(BaseCommand):
    help = "Migrate, seed the demo data, and run web, worker, beat and the sandbox until Ctrl-C."

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
        with_sandbox = "sandbox" in get_commands()
        ports = [port, sandbox_port] if with_sandbox else [port]
        if len(set(ports)) != len(ports):
            raise CommandError("--port and --sandbox-port must differ.")
        for number in ports:
            if not _port_free(number):
                raise CommandError(f"Port {number} on {HOST} is in use; choose another one.")

        self._console_lock = threading.Lock()
        self.say(f"Applying migrations to {settings.DATABASES['default']['NAME']} …")
        call_command("migrate", interactive=False, verbosity=max(0, options["verbosity"] - 1))
        call_command("seed_demo", stdout=self.stdout, stderr=self.stderr)
        connections.close_all()  # the children open their own

        url = f"http://{HOST}:{port}/"
        self.say(self.box(url, sandbox_port if with_sandbox else None))
        children = self.children(port, sandbox_port, options["worker_pool"], with_sandbox)
        supervisor = Supervisor(children, self.say)
        dead = self.supervise(supervisor, url)
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

    def box(self, url: str, sandbox_port: int | None) -> str:
        lines = [
            "Liaison demo",
            "",
            f"Web        {url}",
            f"E-mail     {demo_data.DEMO_OWNER_EMAIL}",
            f"Password   {demo_data.demo_password()}",
            *(f"Teammate   {t.email} ({t.role})" for t in demo_data.DEMO_TEAM[1:]),
            f"API docs   {url}api/docs/",
        ]
        if sandbox_port is not None:
            lines.append(f"Sandbox    https://{HOST}:{sandbox_port}/")
        lines += ["", "Ctrl-C stops everything."]
        return login_box(lines)

    def children(self, port: int, sandbox_port: int, pool: str, with_sandbox: bool) -> list[Child]:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        children = [
            Child("web", [*manage, "runserver", f"{HOST}:{port}", "--noreload"]),
            Child("worker", [*celery, "worker", "--loglevel=INFO", "--concurrency=2", "-P", pool]),
            Child("beat", [*celery, "beat", "--loglevel=INFO", "--scheduler",
                           "django_celery_beat.schedulers:DatabaseScheduler"]),
        ]  # fmt: skip
        if with_sandbox:
            state = settings.VAR_DIR / "sandbox" / "state.json"
            children.append(
                Child("sandbox", [*manage, "sandbox", "--port", str(sandbox_port),
                                  "--state", str(state)])
            )  # fmt: skip
        return children

    def supervise(self, supervisor: Supervisor, url: str) -> Child | None:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            supervisor.request_stop()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        dead = None
        try:
            supervisor.start()
            threading.Thread(
                target=self._announce_ready, args=(supervisor, url), daemon=True
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

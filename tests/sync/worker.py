"""A real Celery worker process on Redis, pointed at the test database and the sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from kombu import Connection as BrokerConnection

from integrations.providers.sandbox_settings import sandbox_provider_settings
from integrations.sandbox.client import SandboxClient

REDIS_URL = os.environ.get("LIAISON_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
ROOT = Path(__file__).resolve().parents[2]


def redis_available() -> bool:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.flushdb()
        return True
    except Exception:
        return False


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = f"{db['USER']}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{db['USER']}@"
    return f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """Start, kill (SIGKILL, like a crash) and restart a worker; tasks go through Redis."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-P",
                "threads",
                "-c",
                "4",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"test-{time.monotonic_ns()}@localhost",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.kill()
        self.start()


@pytest.fixture
def worker(
    transactional_db: None,
    sandbox: SandboxClient,
    providers: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Worker]:
    if not redis_available():
        pytest.skip(f"no Redis at {REDIS_URL}: the worker tests need a broker")
    env = {
        **os.environ,
        **sandbox_provider_settings(
            google_base_url=sandbox.google_base_url,
            microsoft_login_url=sandbox.microsoft_login_url,
            microsoft_graph_url=sandbox.microsoft_graph_url,
            ca_bundle=sandbox.ca_bundle,
        ),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "SYNC_LEASE_SECONDS": str(settings.SYNC_LEASE_SECONDS),
        "LIAISON_VAR_DIR": str(tmp_path / "var"),
        "SITE_URL": settings.SITE_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    if settings.ENCRYPTION_KEYS:
        env["ENCRYPTION_KEYS"] = ",".join(settings.ENCRYPTION_KEYS)
    broker = BrokerConnection(REDIS_URL)
    from integrations.mail import tasks

    def publish(task: Any) -> Any:
        return lambda *args: task.apply_async(args=args, connection=broker)

    for name in ("mailbox_sync_task",):
        task = getattr(tasks, name)
        monkeypatch.setattr(task, "delay", publish(task))
    process = Worker(env, tmp_path / "worker.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()
        broker.release()

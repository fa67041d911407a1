"""The running sandbox: configuration, provider state, clock, push notifications, persistence.

One :class:`Sandbox` lives per server. Handlers reach it as ``request.sandbox`` and hold
``sandbox.lock`` while they read or mutate provider state. The whole state can be saved to and
loaded from one JSON file (``--state``) so the demo keeps its mailboxes across restarts.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import json
import logging
import os
import tempfile
import threading
import typing
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from integrations.sandbox.faults import FaultInjector, RequestLog

logger = logging.getLogger(__name__)

STATE_FORMAT_VERSION = 1
NOTIFY_TIMEOUT_SECONDS = 5.0


@dataclass
class SandboxConfig:
    """Knobs the tests and the demo turn at runtime (``POST /_sandbox/config``)."""

    auto_approve: bool = False  # consent screens answer "Allow" without a browser
    gmail_quota_units_per_second: int | None = 250  # per user; None turns Gmail quotas off
    history_retention_seconds: int = 7 * 24 * 3600  # older Gmail historyIds answer 404
    graph_throttle: bool = True
    graph_requests_per_10min: int = 10000  # per app per mailbox, as Outlook's limit
    graph_concurrent_per_mailbox: int = 4  # Outlook's MailboxConcurrency limit

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` after checking every key and type, so a bad request changes nothing."""
        hints = typing.get_type_hints(type(self))
        for key, value in changes.items():
            if key not in hints:
                raise ValueError(f"unknown config key {key!r}")
            _check_value(key, hints[key], value)
        for key, value in changes.items():
            setattr(self, key, value)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxConfig:
        config = cls()
        known = {f.name for f in dataclasses.fields(cls)}
        config.update({k: v for k, v in data.items() if k in known})
        return config


def _check_value(key: str, annotation: Any, value: Any) -> None:
    """JSON values for ``bool`` / ``int`` / ``int | None`` fields; ints are never negative."""
    options = typing.get_args(annotation) or (annotation,)
    if value is None:
        if type(None) not in options:
            raise ValueError(f"{key} cannot be null")
        return
    if bool in options:
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be a boolean")
    elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a non-negative integer")


class _PlaceholderState:
    """Stands in for a provider package that is not importable (yet): holds nothing."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def to_dict(self) -> dict[str, Any]:
        return {}

    def reset(self) -> None:
        return None

    def quota_snapshot(self) -> dict[str, Any]:
        return {}


def _provider_state_class(provider: str) -> Any:
    """``GoogleState`` / ``MicrosoftState`` if their package exists, else None."""
    module_name = f"integrations.sandbox.{provider}.state"
    class_name = {"google": "GoogleState", "microsoft": "MicrosoftState"}[provider]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only a missing provider package is tolerated; a broken import inside it must surface.
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    return getattr(module, class_name, None)


def _new_provider_state(provider: str, data: dict[str, Any] | None = None) -> Any:
    cls = _provider_state_class(provider)
    if cls is None:
        return _PlaceholderState(provider)
    if data:
        return cls.from_dict(data)
    return cls()


class Sandbox:
    """Everything a handler may touch, plus persistence of it."""

    def __init__(self, config: SandboxConfig | None = None, state_path: str | Path | None = None):
        self.lock = threading.RLock()
        self.initial_config = dataclasses.replace(config or SandboxConfig())
        self.config = dataclasses.replace(self.initial_config)
        self.state_path = Path(state_path) if state_path else None
        self.clock_offset = timedelta(0)
        self.faults = FaultInjector()
        self.request_log = RequestLog()
        self.notifications: deque[dict[str, Any]] = deque(maxlen=1000)
        self.info: dict[str, Any] = {}  # base URLs and CA path, filled in by the server
        self.google: Any = _new_provider_state("google")
        self.microsoft: Any = _new_provider_state("microsoft")
        self._dirty = False
        self._notify_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sandbox-notify")
        self._autosave_stop = threading.Event()
        self._autosave_thread: threading.Thread | None = None
        if self.state_path and self.state_path.exists():
            self.load()

    # -- clock ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox's idea of now (aware UTC): real time plus whatever the tests advanced."""
        return datetime.now(UTC) + self.clock_offset

    def advance_clock(self, seconds: float) -> datetime:
        with self.lock:
            self.clock_offset += timedelta(seconds=seconds)
            self.mark_dirty()
            return self.now()

    # -- push notifications --------------------------------------------------------------------

    def notify(self, url: str, *, headers: dict[str, str], body: bytes | str | dict | None) -> None:
        """POST a push notification from a background thread, as Google/Microsoft do."""
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **headers}
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body or b""
        self._notify_pool.submit(self._deliver_notification, url, dict(headers), data)

    def _deliver_notification(self, url: str, headers: dict[str, str], data: bytes) -> None:
        record: dict[str, Any] = {"url": url, "headers": headers, "at": self.now().isoformat()}
        try:
            # A connection per notification, closed after it: a receiver is never left holding
            # an idle keep-alive connection (and whatever it opened to serve it) between pushes.
            response = requests.post(
                url, headers=headers, data=data, timeout=NOTIFY_TIMEOUT_SECONDS
            )
            record["status"] = response.status_code
        except requests.RequestException as exc:
            record["error"] = str(exc)
            logger.warning("sandbox push notification to %s failed: %s", url, exc)
        self.notifications.append(record)

    # -- reset and persistence -----------------------------------------------------------------

    def reset(self) -> None:
        """Back to a fresh server: no users, no faults, no log, start-up config, real clock; a
        frozen heap (``/_sandbox/heap/freeze``) thawed, so the old state can be collected."""
        gc.unfreeze()
        with self.lock:
            self.google.reset()
            self.microsoft.reset()
            self.config = dataclasses.replace(self.initial_config)
            self.clock_offset = timedelta(0)
            self.faults.clear()
            self.request_log.clear()
            self.notifications.clear()
            self.mark_dirty()

    def mark_dirty(self) -> None:
        self._dirty = True

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "version": STATE_FORMAT_VERSION,
                "saved_at": self.now().isoformat(),
                "config": self.config.to_dict(),
                "clock_offset_seconds": self.clock_offset.total_seconds(),
                "google": self.google.to_dict(),
                "microsoft": self.microsoft.to_dict(),
            }

    def load_dict(self, data: dict[str, Any]) -> None:
        if data.get("version") != STATE_FORMAT_VERSION:
            raise ValueError(f"unsupported sandbox state version {data.get('version')!r}")
        with self.lock:
            self.config = SandboxConfig.from_dict(data.get("config", {}))
            self.clock_offset = timedelta(seconds=float(data.get("clock_offset_seconds", 0)))
            self.google = _new_provider_state("google", data.get("google"))
            self.microsoft = _new_provider_state("microsoft", data.get("microsoft"))
            self._dirty = False

    def load(self, path: str | Path | None = None) -> None:
        source = Path(path) if path else self.state_path
        if source is None:
            raise ValueError("no state file configured")
        self.load_dict(json.loads(source.read_text(encoding="utf-8")))
        logger.info("sandbox state loaded from %s", source)

    def save(self, path: str | Path | None = None) -> Path:
        """Write the whole state atomically (temp file + rename) so a crash never leaves half."""
        target = Path(path) if path else self.state_path
        if target is None:
            raise ValueError("no state file configured")
        with self.lock:
            # Serialize under the lock: provider to_dict() may hand out live containers.
            text = json.dumps(self.to_dict(), separators=(",", ":"))
            self._dirty = False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return target

    def save_if_dirty(self) -> bool:
        """Save when something changed, or when the state file does not exist yet."""
        if self.state_path is None or (not self._dirty and self.state_path.exists()):
            return False
        self.save()
        return True

    def start_autosave(self, interval_seconds: float = 5.0) -> None:
        if self.state_path is None or self._autosave_thread is not None:
            return
        self._autosave_stop.clear()
        self._autosave_thread = threading.Thread(
            target=self._autosave_loop,
            args=(interval_seconds,),
            name="sandbox-autosave",
            daemon=True,
        )
        self._autosave_thread.start()

    def _autosave_loop(self, interval_seconds: float) -> None:
        while not self._autosave_stop.wait(interval_seconds):
            try:
                self.save_if_dirty()
            except Exception:
                logger.exception("sandbox autosave failed")

    def close(self) -> None:
        """Stop autosaving, save a last time if anything changed, stop the notifier."""
        self._autosave_stop.set()
        if self._autosave_thread is not None:
            self._autosave_thread.join(timeout=10)
            self._autosave_thread = None
        self.save_if_dirty()
        self._notify_pool.shutdown(wait=False, cancel_futures=True)

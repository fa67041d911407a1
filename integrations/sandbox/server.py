"""The sandbox's HTTPS server: TLS from a local CA, HTTP/1.1 keep-alive, one thread per connection.

MSAL only accepts ``https`` authorities, so the sandbox always serves TLS. Its certificate is
issued by a CA generated with ``trustme``; clients trust the CA bundle at ``server.ca_bundle``.
"""

from __future__ import annotations

import importlib
import logging
import re
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import trustme

from integrations.sandbox import control  # noqa: F401 - registers the generic control routes
from integrations.sandbox.dispatch import USER_HEADER, record_request, serve, unmatched_response
from integrations.sandbox.faults import error_response
from integrations.sandbox.http import (
    CaseInsensitiveHeaders,
    Request,
    Response,
    router,
    status_phrase,
)
from integrations.sandbox.state import Sandbox, SandboxConfig

logger = logging.getLogger(__name__)

PROVIDER_PACKAGES = ("integrations.sandbox.google", "integrations.sandbox.microsoft")
_HOST_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-]+)(:\d{1,5})?$")
_NO_BODY_STATUSES = {204, 304}


def import_provider_packages() -> list[str]:
    """Import the provider packages so their routes register; tolerate one not written yet."""
    loaded = []
    for name in PROVIDER_PACKAGES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                logger.warning("sandbox provider package %s is missing; its routes are off", name)
                continue
            raise
        loaded.append(name.rsplit(".", 1)[1])
    return loaded


class _BadRequest(Exception):
    pass


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: httplib2 and requests reuse connections
    disable_nagle_algorithm = True  # one write per response; don't wait for the peer's ACK
    timeout = 120  # idle keep-alive connections give their thread back eventually
    server: _HTTPSServer

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        started = time.perf_counter()
        sandbox = self.server.sandbox
        target, _, query_string = self.path.partition("?")
        path = unquote(target)
        method = self.command.upper()
        try:
            body = self._read_body()
        except _BadRequest as exc:
            self.close_connection = True
            self._send(error_response(400, path, message=str(exc)))
            return
        request = Request(
            method=method,
            path=path,
            query=parse_qs(query_string, keep_blank_values=True),
            headers=CaseInsensitiveHeaders(dict(self.headers.items())),
            body=body,
            base_url=self._base_url(),
            sandbox=sandbox,
        )
        matched = router.match(method, path)
        route, params = matched if matched else (None, {})
        request.params = params
        is_control = path.startswith("/_sandbox/")
        response, fault_ids = serve(
            request, route, faults=not is_control, unmatched=unmatched_response
        )
        if response is None:
            record_request(request, route, None, started, fault_ids)
            self._reset_connection()
            return
        if method not in ("GET", "HEAD"):
            # Reads change nothing worth keeping (quota windows, short-lived auth codes).
            sandbox.mark_dirty()
        if not is_control:
            # Logged before the answer leaves, so a client that reads the log next sees it.
            record_request(request, route, response, started, fault_ids)
        self._send(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError as exc:
            raise _BadRequest("invalid Content-Length") from exc
        if length < 0:
            raise _BadRequest("invalid Content-Length")
        body = self.rfile.read(length)
        if len(body) != length:
            raise _BadRequest("request body shorter than Content-Length")
        return body

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _BadRequest("invalid chunk size") from exc
            if size == 0:
                while self.rfile.readline(8192).strip():  # trailers, up to the blank line
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(8)  # the CRLF after each chunk

    def _base_url(self) -> str:
        # Absolute URLs (redirects, nextLink, batch) use the host the client actually dialled.
        host = self.headers.get("Host", "")
        if host and _HOST_RE.match(host):
            return f"https://{host}"
        return self.server.base_url

    def _send(self, response: Response) -> None:
        status = response.status
        phrase = status_phrase(status)
        lines = [f"HTTP/1.1 {status} {phrase}", f"Date: {formatdate(usegmt=True)}"]
        for key, value in response.headers:
            if key.lower() in ("content-length", "transfer-encoding", "connection", "date"):
                continue
            if key.lower() == USER_HEADER.lower():
                continue
            lines.append(f"{key}: {value}")
        body = b"" if status in _NO_BODY_STATUSES or self.command == "HEAD" else response.body
        if status not in _NO_BODY_STATUSES:
            lines.append(f"Content-Length: {len(response.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + body)

    def _reset_connection(self) -> None:
        """Drop the connection with a TCP RST and no response, like a proxy that gave up."""
        self.close_connection = True
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _HTTPSServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], ssl_context: ssl.SSLContext, sandbox: Sandbox):
        self.ssl_context = ssl_context
        self.sandbox = sandbox
        super().__init__(address, SandboxRequestHandler)
        host, port = self.server_address[:2]
        self.base_url = f"https://{host!s}:{port}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs in the connection's own thread, never in the accept loop.
        request.settimeout(SandboxRequestHandler.timeout)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            logger.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            SandboxRequestHandler(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


def load_or_create_ca(cert_path: Path, key_path: Path) -> trustme.CA:
    """The CA stored at these paths, or a new one written there (so clients keep trusting it)."""
    if cert_path.exists() and key_path.exists():
        return trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
    ca = trustme.CA(organization_name="Liaison sandbox")
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    ca.cert_pem.write_to_path(str(cert_path))
    key_path.touch(mode=0o600)
    ca.private_key_pem.write_to_path(str(key_path))
    return ca


class SandboxServer:
    """The sandbox on one port: ``start()`` in a background thread or ``serve_forever()``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        config: SandboxConfig | None = None,
        state_path: str | Path | None = None,
        ca_cert_path: str | Path | None = None,
        ca_key_path: str | Path | None = None,
        autosave_seconds: float = 5.0,
    ) -> None:
        self.providers = import_provider_packages()
        self.sandbox = Sandbox(config, state_path)
        self._tmpdir: str | None = None
        if ca_cert_path is None and state_path is not None:
            # Next to the state file, so a restarted demo presents a certificate it still trusts.
            stem = Path(state_path).with_suffix("")
            ca_cert_path, ca_key_path = f"{stem}.ca.pem", f"{stem}.ca-key.pem"
        if ca_cert_path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="liaison-sandbox-")
            ca_cert_path = Path(self._tmpdir, "ca.pem")
        cert_path = Path(ca_cert_path)
        key_path = Path(ca_key_path) if ca_key_path else cert_path.with_suffix(".key.pem")
        ca = load_or_create_ca(cert_path, key_path)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost", "::1").configure_cert(context)
        self.ca_bundle = str(cert_path)
        self.httpd = _HTTPSServer((host, port), context, self.sandbox)
        self.base_url = self.httpd.base_url
        self.autosave_seconds = autosave_seconds
        self._thread: threading.Thread | None = None
        self.sandbox.info = self.info()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def google_base_url(self) -> str:
        return f"{self.base_url}/google"

    @property
    def microsoft_login_url(self) -> str:
        return self.base_url  # MSAL authority is f"{microsoft_login_url}/{tenant}"

    @property
    def microsoft_graph_url(self) -> str:
        return f"{self.base_url}/graph/v1.0"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}/_sandbox"

    def info(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "google_base_url": self.google_base_url,
            "microsoft_login_url": self.microsoft_login_url,
            "microsoft_graph_url": self.microsoft_graph_url,
            "control_url": self.control_url,
            "ca_bundle": self.ca_bundle,
            "providers": self.providers,
            "state_path": str(self.sandbox.state_path) if self.sandbox.state_path else None,
        }

    def start(self) -> SandboxServer:
        self.sandbox.start_autosave(self.autosave_seconds)
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"sandbox-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.sandbox.start_autosave(self.autosave_seconds)
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop accepting, close the socket, save the state if it changed."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.httpd.server_close()
        self.sandbox.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

"""The sandbox's HTTPS server: TLS, routing errors, keep-alive, concurrency, robustness."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading

import pytest
import requests

from integrations.sandbox.http import Request, Response, router


@router.route(
    "GET", r"/probe/server/echo/(?P<word>[^/]+)", name="probe.server.echo", provider="probe"
)
def _echo(request: Request) -> Response:
    return Response.json(
        {
            "path": request.path,
            "word": request.params["word"],
            "query": request.query,
            "base_url": request.base_url,
            "host": request.headers.get("host"),
        }
    )


@router.route(
    "POST", r"/probe/server/echo/(?P<word>[^/]+)", name="probe.server.echo.post", provider="probe"
)
def _echo_body(request: Request) -> Response:
    return Response.json({"length": len(request.body), "body": request.body.decode()})


@router.route("GET", r"/probe/server/boom", name="probe.server.boom", provider="probe")
def _boom(request: Request) -> Response:
    raise RuntimeError("handler bug")


@router.route("GET", r"/probe/server/nothing", name="probe.server.nothing", provider="probe")
def _nothing(request: Request) -> Response:
    return Response.empty()


def test_tls_is_verified_with_the_ca_bundle(sandbox):
    response = requests.get(
        f"{sandbox.base_url}/_sandbox/info", verify=sandbox.ca_bundle, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["ca_bundle"] == sandbox.ca_bundle


def test_tls_is_rejected_without_the_ca_bundle(sandbox):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{sandbox.base_url}/_sandbox/info", verify=True, timeout=10)


def test_certificate_is_valid_for_localhost(sandbox_server, sandbox):
    response = requests.get(
        f"https://localhost:{sandbox_server.port}/probe/server/echo/x",
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert response.json()["base_url"] == f"https://localhost:{sandbox_server.port}"


def test_server_exposes_provider_base_urls(sandbox_server):
    base = sandbox_server.base_url
    assert base.startswith("https://127.0.0.1:")
    assert sandbox_server.google_base_url == f"{base}/google"
    assert sandbox_server.microsoft_login_url == base
    assert sandbox_server.microsoft_graph_url == f"{base}/graph/v1.0"
    assert sandbox_server.info()["control_url"] == f"{base}/_sandbox"


def test_unknown_path_answers_404_json(sandbox):
    response = sandbox.session.get(f"{sandbox.base_url}/_sandbox/nope", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == 404


def test_unknown_google_path_answers_google_error_shape(sandbox):
    response = sandbox.session.get(f"{sandbox.google_base_url}/gmail/v1/nope", timeout=10)
    error = response.json()["error"]
    assert response.status_code == 404
    assert error["status"] == "NOT_FOUND"
    assert error["errors"][0]["reason"] == "notFound"


def test_unknown_graph_path_answers_graph_error_shape(sandbox):
    response = sandbox.session.get(f"{sandbox.microsoft_graph_url}/nope/nope", timeout=10)
    error = response.json()["error"]
    assert response.status_code == 404
    assert isinstance(error["code"], str)
    assert "request-id" in error["innerError"]


def test_known_path_with_another_method_answers_405_with_allow(sandbox):
    response = sandbox.session.delete(f"{sandbox.base_url}/probe/server/echo/x", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert response.json()["error"]["code"] == 405


def test_path_is_percent_decoded_and_query_parsed(sandbox):
    response = sandbox.session.get(
        f"{sandbox.base_url}/probe/server/echo/ana%40acme.test?q=from%3Aana+is%3Aunread&x=1&x=2",
        timeout=10,
    )
    body = response.json()
    assert body["word"] == "ana@acme.test"
    assert body["query"] == {"q": ["from:ana is:unread"], "x": ["1", "2"]}


def test_handler_exception_answers_500_and_server_keeps_serving(sandbox):
    response = sandbox.session.get(f"{sandbox.base_url}/probe/server/boom", timeout=10)
    assert response.status_code == 500
    assert "error" in response.json()
    assert sandbox.session.get(f"{sandbox.base_url}/probe/server/echo/ok", timeout=10).ok


def test_chunked_request_body_is_read(sandbox):
    chunks = (part.encode() for part in ["alpha-", "beta-", "gamma"])
    response = sandbox.session.post(
        f"{sandbox.base_url}/probe/server/echo/x", data=chunks, timeout=10
    )
    assert response.json() == {"length": 16, "body": "alpha-beta-gamma"}


def _connection(sandbox_server) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=sandbox_server.ca_bundle)
    return http.client.HTTPSConnection(
        "127.0.0.1", sandbox_server.port, context=context, timeout=10
    )


def test_keep_alive_serves_many_requests_on_one_connection(sandbox_server, sandbox):
    connection = _connection(sandbox_server)
    for word in ("one", "two", "three"):
        connection.request("GET", f"/probe/server/echo/{word}")
        response = connection.getresponse()
        assert response.getheader("Content-Length") == str(len(response.read()))
        assert response.getheader("Connection") is None
    sock = connection.sock
    connection.request("GET", "/probe/server/echo/four")
    connection.getresponse().read()
    assert connection.sock is sock
    connection.close()


def test_no_content_response_has_no_body(sandbox_server, sandbox):
    connection = _connection(sandbox_server)
    connection.request("GET", "/probe/server/nothing")
    response = connection.getresponse()
    assert response.status == 204
    assert response.read() == b""
    connection.request("GET", "/probe/server/echo/after")
    assert connection.getresponse().status == 200
    connection.close()


CONCURRENT = 32


class _InFlight:
    """Requests inside the gate handler right now, and the most there ever were at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.now = self.peak = 0
        self.gate = threading.Barrier(CONCURRENT)

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


_in_flight = _InFlight()


@router.route("GET", r"/probe/server/gate/\d+", name="probe.server.gate", provider="probe")
def _gate(request: Request) -> Response:
    """Answers only once CONCURRENT requests are inside at the same time.

    A server that serves connections one after another never fills the barrier: its first
    request breaks it (the timeout only ends a test that has already failed) and answers 503.
    """
    _in_flight.enter()
    try:
        _in_flight.gate.wait(timeout=60)
    except threading.BrokenBarrierError:
        return Response.json({"error": "requests were not served concurrently"}, status=503)
    finally:
        _in_flight.leave()
    return Response.json({"ok": True})


def test_serves_32_concurrent_connections(sandbox):
    _in_flight.reset()
    sandbox.add_fault(route="probe.server.gate", latency_ms=200)
    since = sandbox.last_request_seq()
    statuses: list[int] = []

    def worker(index: int) -> None:
        with requests.Session() as session:
            session.trust_env = False
            session.verify = sandbox.ca_bundle
            url = f"{sandbox.base_url}/probe/server/gate/{index}"
            statuses.append(session.get(url, timeout=120).status_code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * CONCURRENT
    assert _in_flight.peak == CONCURRENT
    logged = sandbox.requests_log(since=since, route="probe.server.gate")
    assert len(logged) == CONCURRENT
    assert all(entry["duration_ms"] >= 200 for entry in logged)  # the latency did happen


def test_idle_tcp_connection_does_not_block_others(sandbox_server, sandbox):
    idle = socket.create_connection(("127.0.0.1", sandbox_server.port))  # never handshakes
    try:
        response = sandbox.session.get(f"{sandbox.base_url}/probe/server/echo/x", timeout=5)
        assert response.ok
    finally:
        idle.close()

"""The generic control API: faults, request log, clock, config, reset, quotas, persistence."""

from __future__ import annotations

import gc
import inspect
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from integrations.sandbox.client import SandboxClient, SandboxError
from integrations.sandbox.http import Request, Response, router
from integrations.sandbox.server import SandboxServer
from integrations.sandbox.state import SandboxConfig

ROOT = Path(__file__).resolve().parents[2]
GMAIL_PROFILE = "/gmail/v1/users/me/profile"
GRAPH_ME = "/me/messages"


@router.route("GET", r"/probe/control/(?P<word>[a-z]+)", name="probe.control.get", provider="probe")
def _probe(request: Request) -> Response:
    if request.arg("user"):
        request.log_user = request.arg("user")
    return Response.json({"word": request.params["word"]})


@router.route(
    "POST", r"/probe/control/(?P<word>[a-z]+)", name="probe.control.post", provider="probe"
)
def _probe_post(request: Request) -> Response:
    return Response.json({"posted": True}, status=201)


@router.route("GET", r"/probe/other", name="probe.other", provider="probe")
def _other(request: Request) -> Response:
    return Response.json({"other": True})


def _get(sandbox: SandboxClient, path: str) -> requests.Response:
    return sandbox.session.get(f"{sandbox.base_url}{path}", timeout=10)


def test_fault_answers_google_error_shape_for_gmail_paths(sandbox):
    sandbox.add_fault(path=f"^/google{GMAIL_PROFILE}$", status=403)
    response = sandbox.session.get(f"{sandbox.google_base_url}{GMAIL_PROFILE}", timeout=10)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == 403
    assert error["status"] == "PERMISSION_DENIED"
    assert error["errors"] == [
        {"domain": "usageLimits", "reason": "rateLimitExceeded", "message": "Rate Limit Exceeded"}
    ]


@pytest.mark.parametrize(
    "path",
    ["/upload/gmail/v1/users/me/messages/send", "/google/upload/gmail/v1/users/me/messages/send"],
)
def test_fault_answers_google_error_shape_for_gmail_upload_paths(sandbox, path):
    sandbox.add_fault(path="upload/gmail/", status=429)
    response = sandbox.session.post(
        f"{sandbox.base_url}{path}?uploadType=media", data=b"Subject: hi\r\n\r\nhi", timeout=10
    )
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["errors"][0]["reason"] == "rateLimitExceeded"


def test_fault_answers_graph_error_shape_for_graph_paths(sandbox):
    sandbox.add_fault(path="^/graph/", status=429, retry_after=7)
    response = sandbox.session.get(f"{sandbox.microsoft_graph_url}{GRAPH_ME}", timeout=10)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    error = response.json()["error"]
    assert error["code"] == "ApplicationThrottled"
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}


def test_fault_answers_oauth_error_shape_for_token_endpoints(sandbox):
    sandbox.add_fault(path="^/google/token$", status=503)
    response = sandbox.session.post(f"{sandbox.google_base_url}/token", timeout=10)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_fault_answers_microsoft_identity_error_shape_for_tenant_paths(sandbox):
    sandbox.add_fault(path="^/[^/]+/oauth2/v2.0/token$", status=429, retry_after=30)
    response = sandbox.session.post(f"{sandbox.base_url}/common/oauth2/v2.0/token", timeout=10)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    body = response.json()
    assert body["error"] == "temporarily_unavailable"
    assert body["error_codes"] == [50196]
    assert body["error_description"].startswith("AADSTS50196: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_fault_reason_overrides_the_default_error(sandbox):
    sandbox.add_fault(
        path=f"^/google{GMAIL_PROFILE}$",
        status=403,
        reason="userRateLimitExceeded",
        message="User Rate Limit Exceeded",
    )
    error = sandbox.session.get(f"{sandbox.google_base_url}{GMAIL_PROFILE}", timeout=10).json()[
        "error"
    ]
    assert error["errors"][0]["reason"] == "userRateLimitExceeded"
    assert error["message"] == "User Rate Limit Exceeded"


def test_fault_custom_body_is_sent_as_is(sandbox):
    sandbox.add_fault(route="probe.control.*", status=502, body={"oops": [1, 2]})
    response = _get(sandbox, "/probe/control/abc")
    assert response.status_code == 502
    assert response.json() == {"oops": [1, 2]}


def test_fault_route_glob_matches_only_matching_route_names(sandbox):
    sandbox.add_fault(route="probe.control.*", status=500)
    assert _get(sandbox, "/probe/control/abc").status_code == 500
    assert _get(sandbox, "/probe/other").status_code == 200


def test_fault_exact_route_name_leaves_siblings_alone(sandbox):
    sandbox.add_fault(route="probe.control.post", status=500)
    assert _get(sandbox, "/probe/control/abc").status_code == 200
    posted = sandbox.session.post(f"{sandbox.base_url}/probe/control/abc", timeout=10)
    assert posted.status_code == 500


def test_fault_method_filter_limits_the_rule(sandbox):
    sandbox.add_fault(path="^/probe/control/", method="post", status=409)
    assert _get(sandbox, "/probe/control/abc").status_code == 200
    assert (
        sandbox.session.post(f"{sandbox.base_url}/probe/control/a", timeout=10).status_code == 409
    )


def test_fault_times_limits_how_often_it_applies(sandbox):
    rule = sandbox.add_fault(route="probe.control.get", status=503, times=2)
    statuses = [_get(sandbox, "/probe/control/abc").status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    stored = next(f for f in sandbox.faults() if f["id"] == rule["id"])
    assert stored["applied"] == 2
    assert stored["exhausted"] is True


def test_fault_rate_is_reproducible_from_its_seed(sandbox):
    def outcomes() -> list[int]:
        sandbox.clear_faults()
        sandbox.add_fault(route="probe.control.get", status=503, rate=0.5, seed=11)
        return [_get(sandbox, "/probe/control/abc").status_code for _ in range(30)]

    first, second = outcomes(), outcomes()
    assert first == second
    assert 0 < first.count(503) < 30


def test_fault_latency_delays_the_response(sandbox):
    sandbox.add_fault(route="probe.control.get", latency_ms=300)
    started = time.perf_counter()
    response = _get(sandbox, "/probe/control/abc")
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_fault_latency_adds_to_a_later_status_rule(sandbox):
    sandbox.add_faults(
        [{"route": "probe.*", "latency_ms": 200}, {"route": "probe.control.get", "status": 500}]
    )
    started = time.perf_counter()
    assert _get(sandbox, "/probe/control/abc").status_code == 500
    assert time.perf_counter() - started >= 0.2


def test_fault_reset_drops_the_connection_without_a_response(sandbox):
    sandbox.add_fault(route="probe.control.get", reset=True, times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        _get(sandbox, "/probe/control/abc")
    assert _get(sandbox, "/probe/control/abc").status_code == 200
    logged = sandbox.requests_log(route="probe.control.get")
    assert [entry["reset"] for entry in logged] == [True, False]


def test_fault_can_be_deleted_by_id(sandbox):
    rule = sandbox.add_fault(route="probe.control.get", status=500)
    sandbox.remove_fault(rule["id"])
    assert _get(sandbox, "/probe/control/abc").status_code == 200
    with pytest.raises(SandboxError) as error:
        sandbox.remove_fault(rule["id"])
    assert error.value.status == 404


def test_clear_faults_removes_every_rule(sandbox):
    sandbox.add_faults([{"route": "probe.*", "status": 500}, {"path": "x", "reset": True}])
    sandbox.clear_faults()
    assert sandbox.faults() == []


@pytest.mark.parametrize(
    "rule",
    [
        {"status": 500},
        {"route": "probe.*"},
        {"route": "probe.*", "status": 500, "rate": 2},
        {"route": "probe.*", "status": 500, "times": 0},
        {"route": "probe.*", "status": 429, "retry_after": "soon"},
        {"path": "(", "status": 500},
        {"route": "probe.*", "status": 500, "color": "red"},
    ],
)
def test_invalid_fault_answers_400(sandbox, rule):
    with pytest.raises(SandboxError) as error:
        sandbox.add_fault(**rule)
    assert error.value.status == 400
    assert sandbox.faults() == []


def test_control_routes_are_never_faulted(sandbox):
    sandbox.add_faults([{"route": "*", "status": 500}, {"path": ".*", "status": 500}])
    assert sandbox.info()["faults"] == 2
    assert _get(sandbox, "/probe/other").status_code == 500


def test_request_log_records_route_provider_status_and_user(sandbox):
    _get(sandbox, "/probe/control/abc?user=ana@acme.test")
    (entry,) = sandbox.requests_log()
    assert entry["method"] == "GET"
    assert entry["path"] == "/probe/control/abc"
    assert entry["route"] == "probe.control.get"
    assert entry["provider"] == "probe"
    assert entry["status"] == 200
    assert entry["user"] == "ana@acme.test"
    assert entry["seq"] >= 1
    assert entry["ts"].endswith("+00:00")


def test_request_log_filters_by_since_and_route_glob(sandbox):
    _get(sandbox, "/probe/control/one")
    mark = sandbox.last_request_seq()
    _get(sandbox, "/probe/control/two")
    _get(sandbox, "/probe/other")
    assert [e["path"] for e in sandbox.requests_log(since=mark)] == [
        "/probe/control/two",
        "/probe/other",
    ]
    assert [e["path"] for e in sandbox.requests_log(route="probe.control.*")] == [
        "/probe/control/one",
        "/probe/control/two",
    ]


def test_request_log_notes_injected_faults(sandbox):
    rule = sandbox.add_fault(route="probe.other", status=429)
    _get(sandbox, "/probe/other")
    (entry,) = sandbox.requests_log()
    assert entry["status"] == 429
    assert entry["faults"] == [rule["id"]]


def test_request_log_skips_control_requests(sandbox):
    sandbox.info()
    sandbox.quotas()
    assert sandbox.requests_log() == []


def test_clearing_the_request_log_keeps_sequence_numbers_growing(sandbox):
    _get(sandbox, "/probe/other")
    before = sandbox.last_request_seq()
    sandbox.clear_requests()
    assert sandbox.requests_log() == []
    _get(sandbox, "/probe/other")
    assert sandbox.requests_log()[0]["seq"] == before + 1


def test_clock_advance_moves_sandbox_time(sandbox):
    from datetime import datetime

    before = datetime.fromisoformat(sandbox.now())
    after = datetime.fromisoformat(sandbox.advance_clock(3 * 3600))
    assert 3 * 3600 <= (after - before).total_seconds() < 3 * 3600 + 60


def test_clock_advance_rejects_non_numbers(sandbox):
    with pytest.raises(SandboxError) as error:
        sandbox.call("POST", "/clock", json={"advance_seconds": "soon"})
    assert error.value.status == 400


def test_config_updates_known_keys(sandbox):
    config = sandbox.set_config(gmail_quota_units_per_second=None, graph_requests_per_10min=50)
    assert config["gmail_quota_units_per_second"] is None
    assert sandbox.config()["graph_requests_per_10min"] == 50


@pytest.mark.parametrize(
    "change",
    [
        {"nope": 1},
        {"auto_approve": "yes"},
        {"graph_requests_per_10min": -1},
        {"history_retention_seconds": None},
    ],
)
def test_config_rejects_bad_changes_without_applying_any(sandbox, change):
    before = sandbox.config()
    with pytest.raises(SandboxError) as error:
        sandbox.set_config(graph_throttle=False, **change)
    assert error.value.status == 400
    assert sandbox.config() == before


def test_reset_restores_startup_config_clock_and_clears_faults(sandbox):
    startup = sandbox.config()
    sandbox.set_config(auto_approve=False, graph_throttle=False)
    sandbox.advance_clock(86400)
    sandbox.add_fault(route="probe.*", status=500)
    _get(sandbox, "/probe/other")
    sandbox.reset()
    assert sandbox.config() == startup
    assert startup["auto_approve"] is True
    assert sandbox.info()["clock_offset_seconds"] == 0
    assert sandbox.faults() == []
    assert sandbox.requests_log() == []


def test_heap_freeze_exempts_what_the_sandbox_holds_until_reset(sandbox):
    # The test sandbox serves from this process: its heap is this interpreter's.
    try:
        answer = sandbox.freeze_heap()
        assert answer["collected"] >= 0
        assert answer["frozen"] > 0
        assert gc.get_freeze_count() > 0
    finally:
        sandbox.reset()
    assert gc.get_freeze_count() == 0


def test_quotas_answer_a_snapshot_per_provider(sandbox):
    quotas = sandbox.quotas()
    assert set(quotas) == {"google", "microsoft"}
    assert all(isinstance(value, dict) for value in quotas.values())


def test_info_lists_urls_config_and_routes(sandbox):
    info = sandbox.info()
    assert info["google_base_url"] == sandbox.google_base_url
    assert info["microsoft_graph_url"] == sandbox.microsoft_graph_url
    assert info["config"] == sandbox.config()
    assert {
        "method": "GET",
        "pattern": r"/probe/other",
        "name": "probe.other",
        "provider": "probe",
    } in info["routes"]


def test_client_provider_wrappers_target_registered_routes(sandbox, monkeypatch):
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(sandbox, "call", lambda method, path, **kw: calls.append((method, path)))
    args = {
        "email": "a@b.test",
        "who": "a@b.test",
        "upn": "a@b.test",
        "name": "A",
        "raw": b"x",
        "seed": 1,
        "count": 1,
        "message_id": "m1",
        "event_id": "e1",
        "event": {},
        "changes": {},
        "client_id": "c",
        "client_secret": "s",
        "redirect_uris": [],
        "domain": "b.test",
        "tenant_id": "t1",
        "delegates": [],
    }
    for control in (sandbox.google, sandbox.microsoft):
        for name, method in inspect.getmembers(control, inspect.ismethod):
            if name.startswith("_"):
                continue
            required = [
                (p, v.kind)
                for p, v in inspect.signature(method).parameters.items()
                if v.default is inspect.Parameter.empty
            ]
            method(
                *[args[p] for p, kind in required if kind == kind.POSITIONAL_OR_KEYWORD],
                **{p: args[p] for p, kind in required if kind == kind.KEYWORD_ONLY},
            )
    assert len(calls) == 29  # 14 Google + 15 Microsoft control routes in the contract
    unrouted = [(m, p) for m, p in calls if router.match(m, f"/_sandbox{p}") is None]
    assert unrouted == []


def test_state_survives_a_restart_through_the_state_file(tmp_path):
    state = tmp_path / "state.json"
    first = SandboxServer(config=SandboxConfig(auto_approve=True), state_path=state).start()
    client = SandboxClient(first.base_url, first.ca_bundle)
    client.set_config(graph_requests_per_10min=77)
    client.advance_clock(7200)
    ca_pem = Path(first.ca_bundle).read_bytes()
    first.stop()
    assert json.loads(state.read_text())["config"]["graph_requests_per_10min"] == 77
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    second = SandboxServer(state_path=state).start()
    try:
        client = SandboxClient(second.base_url, second.ca_bundle)
        assert client.config()["graph_requests_per_10min"] == 77
        assert client.info()["clock_offset_seconds"] == 7200
        assert Path(second.ca_bundle).read_bytes() == ca_pem
    finally:
        second.stop()


def test_provider_mailboxes_survive_a_restart(tmp_path):
    state = tmp_path / "state.json"
    raw = b"From: Bo <bo@acme.test>\r\nTo: ana@liaison.test\r\nSubject: Hi\r\n\r\nHello\r\n"
    first = SandboxServer(state_path=state).start()
    client = SandboxClient(first.base_url, first.ca_bundle)
    client.google.create_user("ana@liaison.test", "Ana Ruiz")
    delivered = client.google.deliver("ana@liaison.test", raw, label_ids=["INBOX"])
    tenant = client.microsoft.create_tenant("contoso.test", "Contoso")["tenant_id"]
    client.microsoft.create_user(tenant, "bo@contoso.test", "Bo Li")
    client.microsoft.deliver("bo@contoso.test", raw, folder="inbox")
    first.stop()

    second = SandboxServer(state_path=state).start()
    try:
        client = SandboxClient(second.base_url, second.ca_bundle)
        gmail = client.google.messages("ana@liaison.test")["messages"]
        assert [m["id"] for m in gmail] == [delivered["id"]]
        assert [t["tenant_id"] for t in client.microsoft.tenants()["tenants"]] == [tenant]
        assert len(client.microsoft.messages("bo@contoso.test")["messages"]) == 1
    finally:
        second.stop()


def test_save_route_writes_the_state_file(tmp_path):
    state = tmp_path / "nested" / "state.json"
    server = SandboxServer(state_path=state, autosave_seconds=3600).start()
    try:
        client = SandboxClient(server.base_url, server.ca_bundle)
        client.set_config(auto_approve=True)
        assert client.save() == str(state)
        assert json.loads(state.read_text())["config"]["auto_approve"] is True
    finally:
        server.stop()


def test_save_route_without_state_file_answers_409(sandbox):
    with pytest.raises(SandboxError) as error:
        sandbox.save()
    assert error.value.status == 409


def test_management_command_prints_urls_and_saves_on_sigterm(tmp_path):
    state = tmp_path / "state.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "sandbox",
            "--port",
            "0",
            "--state",
            str(state),
            "--auto-approve",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = json.loads(process.stdout.readline())
        assert set(line) >= {
            "google_base_url",
            "microsoft_login_url",
            "microsoft_graph_url",
            "control_url",
            "ca_bundle",
        }
        client = SandboxClient(line["microsoft_login_url"], line["ca_bundle"])
        assert client.config()["auto_approve"] is True
        client.set_config(graph_requests_per_10min=12)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert process.returncode == 0
    assert json.loads(state.read_text())["config"]["graph_requests_per_10min"] == 12
    assert Path(line["ca_bundle"]).parent == tmp_path

"""Graph JSON batching and Outlook throttling (429 with Retry-After, then recovery)."""

from __future__ import annotations

from tests.sandbox.graph_harness import CLIENT_ID, graph_for, rfc822, seed_directory


def _deliver(sandbox, subject: str) -> dict:
    return sandbox.microsoft.deliver(
        "alice@contoso.test",
        rfc822(sender="carol@partner.test", to="alice@contoso.test", subject=subject),
    )


def test_batch_answers_each_request_with_status_headers_and_body(sandbox):
    seed_directory(sandbox)
    first, second = _deliver(sandbox, "one"), _deliver(sandbox, "two")
    graph = graph_for(sandbox, "alice@contoso.test")
    response = graph.post(
        "$batch",
        json={
            "requests": [
                {"id": "1", "method": "GET", "url": f"/me/messages/{first['id']}?$select=subject"},
                {"id": "2", "method": "GET", "url": f"me/messages/{second['id']}"},
                {"id": "3", "method": "GET", "url": "/me/messages/AAMkAGdoesnotexist="},
            ]
        },
    )
    assert response.status_code == 200
    by_id = {r["id"]: r for r in response.json()["responses"]}
    assert by_id["1"]["status"] == 200 and by_id["1"]["body"]["subject"] == "one"
    assert by_id["1"]["headers"]["Content-Type"].startswith("application/json")
    assert by_id["2"]["body"]["subject"] == "two"
    assert by_id["3"]["status"] == 404
    assert by_id["3"]["body"]["error"]["code"] == "ErrorItemNotFound"


def test_batch_depends_on_runs_in_order_and_fails_dependents_with_424(sandbox):
    seed_directory(sandbox)
    message = _deliver(sandbox, "flag me")
    graph = graph_for(sandbox, "alice@contoso.test")
    response = graph.post(
        "$batch",
        json={
            "requests": [
                {
                    "id": "read",
                    "method": "GET",
                    "url": f"/me/messages/{message['id']}?$select=isRead",
                    "dependsOn": ["mark"],
                },
                {
                    "id": "mark",
                    "method": "PATCH",
                    "url": f"/me/messages/{message['id']}",
                    "headers": {"Content-Type": "application/json"},
                    "body": {"isRead": True},
                },
                {"id": "bad", "method": "GET", "url": "/me/mailFolders/nosuchfolderAA="},
                {"id": "after-bad", "method": "GET", "url": "/me", "dependsOn": ["bad"]},
            ]
        },
    )
    by_id = {r["id"]: r for r in response.json()["responses"]}
    assert by_id["mark"]["status"] == 200
    assert by_id["read"]["body"]["isRead"] is True
    assert by_id["bad"]["status"] == 404 and by_id["after-bad"]["status"] == 424


def test_batch_of_more_than_twenty_requests_answers_400(sandbox):
    seed_directory(sandbox)
    requests_ = [{"id": str(n), "method": "GET", "url": "/me"} for n in range(21)]
    response = graph_for(sandbox, "alice@contoso.test").post("$batch", json={"requests": requests_})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


def test_batch_write_without_content_type_answers_400(sandbox):
    seed_directory(sandbox)
    response = graph_for(sandbox, "alice@contoso.test").post(
        "$batch",
        json={
            "requests": [
                {"id": "1", "method": "POST", "url": "/me/sendMail", "body": {"message": {}}}
            ]
        },
    )
    assert response.status_code == 400
    assert "does not contain Content-Type header" in response.json()["error"]["message"]


def test_rate_limit_answers_429_with_retry_after_and_recovers(sandbox):
    seed_directory(sandbox)
    sandbox.set_config(graph_requests_per_10min=3)
    graph = graph_for(sandbox, "alice@contoso.test")
    assert [graph.get("me/messages").status_code for _ in range(3)] == [200, 200, 200]
    throttled = graph.get("me/messages")
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] in ("TooManyRequests", "ApplicationThrottled")
    wait = int(throttled.headers["Retry-After"])
    assert 0 < wait <= 600
    quotas = sandbox.quotas()["microsoft"]["graph"]
    assert quotas[0]["mailbox"] == "alice@contoso.test" and quotas[0]["throttled"] == 1
    sandbox.advance_clock(wait)
    assert graph.get("me/messages").status_code == 200


def test_other_mailboxes_are_not_throttled_by_alices_traffic(sandbox):
    seed_directory(sandbox)
    sandbox.set_config(graph_requests_per_10min=1)
    alice = graph_for(sandbox, "alice@contoso.test")
    assert alice.get("me/messages").status_code == 200
    assert alice.get("me/messages").status_code == 429
    assert graph_for(sandbox, "bob@contoso.test").get("me/messages").status_code == 200


def test_concurrent_requests_over_the_mailbox_limit_answer_mailbox_concurrency(
    sandbox, sandbox_server
):
    directory = seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    state = sandbox_server.sandbox.microsoft
    now = sandbox_server.sandbox.now()
    holders = [
        state.throttle.acquire(
            CLIENT_ID, directory.alice["id"], now, concurrent_limit=4, window_limit=10000
        )
        for _ in range(4)
    ]
    try:
        assert all(v.allowed for v in holders)
        response = graph.get("me/messages")
        assert response.status_code == 429
        error = response.json()["error"]
        assert error["code"] == "ApplicationThrottled"
        assert error["message"] == "Application is over its MailboxConcurrency limit."
        assert "Retry-After" in response.headers
    finally:
        for _ in holders:
            state.throttle.release(CLIENT_ID, directory.alice["id"])
    assert graph.get("me/messages").status_code == 200


def test_throttled_batch_items_carry_their_own_429(sandbox):
    seed_directory(sandbox)
    sandbox.set_config(graph_requests_per_10min=2)
    response = graph_for(sandbox, "alice@contoso.test").post(
        "$batch",
        json={
            "requests": [
                {"id": str(n), "method": "GET", "url": "/me/messages?$top=1"} for n in range(3)
            ]
        },
    )
    statuses = [r["status"] for r in response.json()["responses"]]
    assert statuses == [200, 200, 429]
    assert "Retry-After" in response.json()["responses"][2]["headers"]


def test_throttling_can_be_turned_off(sandbox):
    seed_directory(sandbox)
    sandbox.set_config(graph_requests_per_10min=1, graph_throttle=False)
    graph = graph_for(sandbox, "alice@contoso.test")
    assert [graph.get("me/messages").status_code for _ in range(3)] == [200, 200, 200]


def test_faults_on_an_inner_route_answer_their_part_alone_and_are_logged(sandbox):
    seed_directory(sandbox)
    message = _deliver(sandbox, "faulty")
    unavailable, reset = sandbox.add_faults(
        [
            {"route": "graph.messages.get", "status": 503, "times": 1},
            {"route": "graph.messages.get", "reset": True, "times": 1},
        ]
    )
    since = sandbox.last_request_seq()
    url = f"/me/messages/{message['id']}"
    response = graph_for(sandbox, "alice@contoso.test").post(
        "$batch",
        json={"requests": [{"id": str(n), "method": "GET", "url": url} for n in range(3)]},
    )

    parts = response.json()["responses"]
    assert [p["status"] for p in parts] == [503, 504, 200]
    assert parts[1]["body"]["error"]["code"] == "GatewayTimeout"
    logged = sandbox.requests_log(since=since, route="graph.messages.get")
    assert [entry["faults"] for entry in logged] == [[unavailable["id"]], [reset["id"]], []]
    assert all(entry["batch"] for entry in logged)

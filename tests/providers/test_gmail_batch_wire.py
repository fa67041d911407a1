"""Gmail batches built and read without the per-call overhead: the same requests, the same
bytes and the same answers as google-api-python-client's own path."""

from __future__ import annotations

import re
from typing import Any

import pytest
from googleapiclient.http import BatchHttpRequest, HttpRequest
from googleapiclient.model import JsonModel

from integrations.providers.google.batch_wire import WireBatchHttpRequest
from integrations.providers.google.gmail_batch import full_message_requests
from integrations.providers.google.services import gmail_service
from integrations.providers.mail import DriverContext

BATCH_URI = "https://gmail.example/batch/gmail/v1"
HEADERS = {
    "accept": "application/json",
    "accept-encoding": "gzip, deflate",
    "user-agent": "(gzip)",
    "x-goog-api-client": "gdcl/2.1 gl-python/3.11",
    "content-type": "application/json",
}


def _request(number: int, body: str | None = None) -> HttpRequest:
    return HttpRequest(
        None,
        JsonModel().response,
        f"https://gmail.example/gmail/v1/users/me/messages/m{number}?format=full&alt=json",
        method="POST" if body else "GET",
        body=body,
        headers=dict(HEADERS),
    )


class _Recorder:
    """An Http that keeps what it was sent and answers with a prepared multipart body."""

    def __init__(self, answer: Any = None) -> None:
        self.answer = answer
        self.sent: list[tuple[str, dict[str, str]]] = []

    def request(self, uri: str, method: str, body: str, headers: dict[str, str]) -> Any:
        self.sent.append((body, headers))
        if self.answer is None:
            raise ConnectionAbortedError("recorded")
        return self.answer(body, headers)


def _sent_text(batch_class: type[BatchHttpRequest]) -> str:
    batch = batch_class(batch_uri=BATCH_URI)
    batch.add(_request(1))
    batch.add(_request(2, body='{"removeLabelIds": ["UNREAD"]}'))
    http = _Recorder()
    with pytest.raises(ConnectionAbortedError):
        batch.execute(http=http)
    body, headers = http.sent[0]
    found = re.search(r'boundary="([^"]+)"', headers["content-type"])
    assert found is not None
    boundary = found.group(1)
    # Only the random parts differ: the boundary and the batch's Content-ID base.
    body = body.replace(boundary, "BOUNDARY")
    return re.sub(r"Content-ID: <[^ ]+ \+ ", "Content-ID: <ID + ", body)


def test_the_batch_text_equals_what_the_library_writes() -> None:
    assert _sent_text(WireBatchHttpRequest) == _sent_text(BatchHttpRequest)


def _answer(line_break: str, folded: bool = False) -> Any:
    def answer(body: str, headers: dict[str, str]) -> Any:
        import httplib2

        ids = re.findall(r"Content-ID: <([^>]+)>", body)
        reply = "batch_abc"
        extra = "X-Long: first\r\n second\r\n" if folded else ""
        parts = [
            f"--{reply}{line_break}Content-Type: application/http{line_break}"
            f"Content-ID: <response-{content_id}>{line_break}{line_break}"
            f"HTTP/1.1 {'200 OK' if n == 0 else '404 Not Found'}\r\n"
            f"Content-Type: application/json; charset=UTF-8\r\n{extra}Vary: Origin\r\n"
            f"Vary: X-Origin\r\n\r\n"
            f'{{"id": "m{n}", "text": "--not-a-boundary\\n"}}{line_break}'
            for n, content_id in enumerate(ids)
        ]
        response = httplib2.Response({"status": "200"})
        response["content-type"] = f"multipart/mixed; boundary={reply}"
        return response, ("".join(parts) + f"--{reply}--{line_break}").encode()

    return answer


@pytest.mark.parametrize("line_break", ["\r\n", "\n"])
@pytest.mark.parametrize("folded", [False, True])
def test_answers_are_read_as_the_library_reads_them(line_break: str, folded: bool) -> None:
    def outcome(batch_class: type[BatchHttpRequest]) -> list[tuple[Any, ...]]:
        seen: list[tuple[Any, ...]] = []
        batch = batch_class(
            batch_uri=BATCH_URI,
            callback=lambda request_id, response, error: seen.append(
                (request_id, response, type(error).__name__, getattr(error, "status_code", None))
            ),
        )
        batch.add(_request(1), request_id="first")
        batch.add(_request(2), request_id="second")
        batch.execute(http=_Recorder(_answer(line_break, folded)))
        return seen

    assert outcome(WireBatchHttpRequest) == outcome(BatchHttpRequest)
    assert outcome(WireBatchHttpRequest)[0][1] == {"id": "m0", "text": "--not-a-boundary\n"}


@pytest.mark.parametrize("message_id", ["18c1f0a2b3d4e5f6", "odd/id+é ~.-_"])
def test_full_message_requests_equal_what_the_discovery_method_builds(message_id: str) -> None:
    messages = (
        gmail_service(
            DriverContext("owner@example.test", token=lambda: "token", renew=lambda: "token")
        )
        .users()
        .messages()
    )

    built = full_message_requests(messages, ["first", message_id])[1]
    expected = messages.get(userId="me", id=message_id, format="full")

    assert (built.uri, built.method, built.body, built.headers, built.methodId) == (
        expected.uri,
        expected.method,
        expected.body,
        expected.headers,
        expected.methodId,
    )
    assert built.http is expected.http and built.postproc == expected.postproc

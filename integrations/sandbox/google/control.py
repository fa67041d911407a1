"""Control routes for the Google sandbox (``/_sandbox/google/...``): users, OAuth clients and
grants, mailbox contents, history expiry, and Pub/Sub push endpoints for Gmail ``watch``.

They play the outside world: mail arriving, someone deleting or relabelling a message on
another device, a user revoking access in their Google Account, a push subscription being set
up. Mailbox changes go through the same store as the API, so history records and watch
notifications follow exactly as they would for an API change. Answers are JSON; errors are
``{"error": {"code", "message"}}``. Calendar control routes live in ``calendar_control``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from integrations.sandbox.control_json import control_error, json_object, raw_message, text_field
from integrations.sandbox.generator import Person, generate_events, generate_mailbox
from integrations.sandbox.generator.companies_json import companies_from_json
from integrations.sandbox.google.gmail_delivery import fill_mailbox
from integrations.sandbox.google.gmail_format import label_reference
from integrations.sandbox.google.gmail_push import publish_pending
from integrations.sandbox.google.oauth_scopes import parse_scopes, unknown_scopes
from integrations.sandbox.google.oauth_store import OAuthClient
from integrations.sandbox.google.oauth_token import token_response
from integrations.sandbox.google.state import GoogleState, GoogleUser, PushEndpoint
from integrations.sandbox.http import Request, Response, router

PREFIX = r"/_sandbox/google"
USER = PREFIX + r"/users/(?P<email>[^/]+)"
_TOPIC = re.compile(r"projects/(?P<project>[^/]+)/topics/(?P<topic>[^/]+)")
MAX_FILL = 50_000


def _user(request: Request) -> GoogleUser:
    user = request.sandbox.google.user(request.params["email"])
    if user is None:
        raise control_error(404, f"no Google user {request.params['email']}")
    return user


def _user_json(user: GoogleUser) -> dict[str, Any]:
    box = user.mailbox
    return {
        "email": user.email,
        "name": user.name,
        "sub": user.sub,
        "messages": len(box.messages),
        "threads": len(box.threads),
        "historyId": str(box.history_id),
    }


def _label_list(user: GoogleUser, data: dict[str, Any], key: str) -> list[str]:
    labels = data.get(key) or []
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise control_error(400, f"{key} must be a list of label ids")
    for label in labels:
        if not user.mailbox.label_exists(label):
            raise control_error(400, f"unknown label {label}")
    return labels


# -- OAuth clients, users, grants ------------------------------------------------------------


@router.route("POST", PREFIX + "/clients", name="sandbox.google.clients.create", provider="control")
def clients_create(request: Request) -> Response:
    data = json_object(request)
    uris = data.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise control_error(400, "redirect_uris must be a non-empty list of URLs")
    client = OAuthClient(
        client_id=text_field(data, "client_id"),
        client_secret=text_field(data, "client_secret"),
        redirect_uris=uris,
        name=text_field(data, "name", required=False),
    )
    with request.sandbox.lock:
        request.sandbox.google.oauth.clients[client.client_id] = client
    return Response.json(vars(client), status=201)


@router.route("GET", PREFIX + "/clients", name="sandbox.google.clients.list", provider="control")
def clients_list(request: Request) -> Response:
    with request.sandbox.lock:
        clients = [vars(c).copy() for c in request.sandbox.google.oauth.clients.values()]
    return Response.json({"clients": clients})


@router.route("POST", PREFIX + "/users", name="sandbox.google.users.create", provider="control")
def users_create(request: Request) -> Response:
    data = json_object(request)
    email, name = text_field(data, "email"), text_field(data, "name")
    if "@" not in email:
        raise control_error(400, "email must be an e-mail address")
    sandbox = request.sandbox
    with sandbox.lock:
        state: GoogleState = sandbox.google
        existing = state.user(email)
        if existing is not None:
            existing.name = name
            return Response.json(_user_json(existing))
        user = state.add_user(email, name, sandbox.now().timestamp())
        return Response.json(_user_json(user), status=201)


@router.route("GET", PREFIX + "/users", name="sandbox.google.users.list", provider="control")
def users_list(request: Request) -> Response:
    with request.sandbox.lock:
        users = [_user_json(u) for u in request.sandbox.google.users.values()]
    return Response.json({"users": users})


@router.route(
    "POST", PREFIX + "/grants/revoke", name="sandbox.google.grants.revoke", provider="control"
)
def grants_revoke(request: Request) -> Response:
    """The user removes the app in their Google Account: every token of theirs dies."""
    data = json_object(request)
    email = text_field(data, "email").lower()
    client_id = data.get("client_id")
    with request.sandbox.lock:
        revoked = request.sandbox.google.oauth.revoke_user(email, client_id)
    return Response.json({"email": email, "revoked": revoked})


@router.route("POST", PREFIX + "/tokens", name="sandbox.google.tokens.create", provider="control")
def tokens_create(request: Request) -> Response:
    """Consent without a browser: ``{email, client_id, scopes, offline?}`` → a token response."""
    data = json_object(request)
    scopes = parse_scopes(" ".join(data.get("scopes") or []))
    if not scopes or unknown_scopes(scopes):
        raise control_error(400, f"scopes must be known Google scopes: {unknown_scopes(scopes)}")
    sandbox = request.sandbox
    with sandbox.lock:
        state: GoogleState = sandbox.google
        user = state.user(text_field(data, "email"))
        client = state.oauth.clients.get(text_field(data, "client_id"))
        if user is None or client is None:
            raise control_error(404, "unknown user or client")
        state.oauth.record_consent(user.email, client.client_id, scopes)
        body = token_response(
            state,
            user,
            client.client_id,
            scopes,
            request.base_url,
            sandbox.now().timestamp(),
            refresh=data.get("offline", True),
        )
    return Response.json(body, status=201)


# -- mailbox contents --------------------------------------------------------------------------


def _internal_date(value: Any, default: float) -> int:
    if value is None:
        return int(default * 1000)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return int(moment.timestamp() * 1000)
    raise control_error(400, "internalDate must be epoch ms or an ISO 8601 time with offset")


@router.route("POST", USER + "/fill", name="sandbox.google.users.fill", provider="control")
def users_fill(request: Request) -> Response:
    """Generated mail (and events, when the calendar is there) for one user, deterministic;
    around ``companies`` when given, else around the generator's own."""
    data = json_object(request)
    numbers: dict[str, int] = {}
    for key, default in (("seed", None), ("count", None), ("span_days", 60), ("events", 0)):
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise control_error(400, f"{key} must be a non-negative integer")
        numbers[key] = value
    if numbers["count"] > MAX_FILL:
        raise control_error(400, f"count must be at most {MAX_FILL}")
    try:
        companies = companies_from_json(data["companies"]) if "companies" in data else None
    except ValueError as exc:
        raise control_error(400, str(exc)) from exc
    sandbox = request.sandbox
    with sandbox.lock:
        user = _user(request)
        now = sandbox.now()
        owner = Person(user.name, user.email)
        items = generate_mailbox(
            owner=owner,
            seed=numbers["seed"],
            count=numbers["count"],
            now=now,
            span_days=numbers["span_days"],
            companies=companies,
        )
        written = fill_mailbox(user.mailbox, items, now.timestamp())
        events = 0
        if numbers["events"] and user.calendar is not None:
            # Imported here: the calendar package is optional (see state.calendar_store_class).
            from integrations.sandbox.google.calendar_control import calendar_fill

            generated = generate_events(
                owner=owner,
                seed=numbers["seed"],
                count=numbers["events"],
                now=now,
                companies=companies,
            )
            events = calendar_fill(user.calendar, user.email, generated, now=now)
        publish_pending(sandbox, request.base_url)
    return Response.json({"messages": written, "events": events})


@router.route(
    "POST", USER + "/messages", name="sandbox.google.messages.deliver", provider="control"
)
def messages_deliver(request: Request) -> Response:
    """Mail arrives (default labels INBOX, UNREAD, CATEGORY_PERSONAL), threaded as Gmail does."""
    data = json_object(request)
    raw = raw_message(data.get("raw"))
    sandbox = request.sandbox
    with sandbox.lock:
        user = _user(request)
        labels = (
            _label_list(user, data, "labelIds")
            if "labelIds" in data
            else ["INBOX", "UNREAD", "CATEGORY_PERSONAL"]
        )
        now = sandbox.now().timestamp()
        message = user.mailbox.add(raw, labels, _internal_date(data.get("internalDate"), now), now)
        publish_pending(sandbox, request.base_url)
        return Response.json({"id": message.id, "threadId": message.thread_id}, status=201)


@router.route("GET", USER + "/messages", name="sandbox.google.messages.list", provider="control")
def messages_dump(request: Request) -> Response:
    with request.sandbox.lock:
        user = _user(request)
        rows = [
            {
                "id": m.id,
                "threadId": m.thread_id,
                "labelIds": list(m.label_ids),
                "rfc822msgid": m.rfc822_id,
                "internalDate": str(m.internal_date),
                "historyId": str(m.history_id),
            }
            for m in user.mailbox.newest_first()
        ]
    return Response.json({"messages": rows})


def _message(user: GoogleUser, request: Request) -> Any:
    message = user.mailbox.messages.get(request.params["id"])
    if message is None:
        raise control_error(404, f"no message {request.params['id']} for {user.email}")
    return message


@router.route(
    "DELETE",
    USER + r"/messages/(?P<id>[^/]+)",
    name="sandbox.google.messages.delete",
    provider="control",
)
def messages_delete(request: Request) -> Response:
    sandbox = request.sandbox
    with sandbox.lock:
        user = _user(request)
        user.mailbox.delete(_message(user, request), sandbox.now().timestamp())
        publish_pending(sandbox, request.base_url)
    return Response.empty()


@router.route(
    "POST",
    USER + r"/messages/(?P<id>[^/]+)/labels",
    name="sandbox.google.messages.labels",
    provider="control",
)
def messages_labels(request: Request) -> Response:
    data = json_object(request)
    sandbox = request.sandbox
    with sandbox.lock:
        user = _user(request)
        message = _message(user, request)
        add, remove = _label_list(user, data, "add"), _label_list(user, data, "remove")
        user.mailbox.change_labels(message, add, remove, sandbox.now().timestamp())
        publish_pending(sandbox, request.base_url)
        return Response.json(label_reference(message))


@router.route(
    "POST", USER + "/expire-history", name="sandbox.google.history.expire", provider="control"
)
def history_expire(request: Request) -> Response:
    """Every historyId handed out so far answers 404 from now on (full sync needed)."""
    with request.sandbox.lock:
        history_id = _user(request).mailbox.expire_history()
    return Response.json({"historyId": str(history_id)})


# -- Pub/Sub push endpoints ------------------------------------------------------------------


@router.route(
    "POST", PREFIX + "/push-endpoints", name="sandbox.google.push.create", provider="control"
)
def push_endpoints_create(request: Request) -> Response:
    """Create topic + push subscription: ``{topicName, pushEndpoint, audience?,
    subscription?, serviceAccountEmail?}``; ``audience`` defaults to the endpoint URL."""
    data = json_object(request)
    topic = text_field(data, "topicName")
    found = _TOPIC.fullmatch(topic)
    if not found:
        raise control_error(400, "topicName must look like projects/<project>/topics/<topic>")
    endpoint_url = text_field(data, "pushEndpoint")
    if not endpoint_url.startswith(("http://", "https://")):
        raise control_error(400, "pushEndpoint must be an http(s) URL")
    project = found.group("project")
    endpoint = PushEndpoint(
        topic_name=topic,
        push_endpoint=endpoint_url,
        audience=text_field(data, "audience", required=False) or endpoint_url,
        subscription=text_field(data, "subscription", required=False)
        or f"projects/{project}/subscriptions/{found.group('topic')}-push",
        service_account_email=text_field(data, "serviceAccountEmail", required=False)
        or f"gmail-push@{project}.iam.gserviceaccount.com",
    )
    with request.sandbox.lock:
        request.sandbox.google.push_endpoints[topic] = endpoint
    return Response.json(vars(endpoint), status=201)


@router.route(
    "GET", PREFIX + "/push-endpoints", name="sandbox.google.push.list", provider="control"
)
def push_endpoints_list(request: Request) -> Response:
    with request.sandbox.lock:
        endpoints = [vars(e).copy() for e in request.sandbox.google.push_endpoints.values()]
    return Response.json({"pushEndpoints": endpoints})

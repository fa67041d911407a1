"""The HTML the sandbox's sign-in and consent screens show (kept plain: forms a test can post)."""

from __future__ import annotations

from html import escape

from integrations.sandbox.microsoft.records import App, User

_STYLE = (
    "body{font-family:Segoe UI,Helvetica,Arial,sans-serif;background:#f2f2f2;margin:0}"
    ".card{background:#fff;max-width:440px;margin:60px auto;padding:44px;"
    "box-shadow:0 2px 6px rgba(0,0,0,.2)}h1{font-size:24px;font-weight:600;margin:0 0 16px}"
    "ul{padding-left:20px}label{display:block;margin:8px 0}"
    "button{padding:6px 24px;margin:16px 8px 0 0;border:0;font-size:15px;cursor:pointer}"
    ".primary{background:#0067b8;color:#fff}.secondary{background:#ccc}"
    ".error{color:#a80000}.muted{color:#666;font-size:13px}"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><div class='card'>"
        "<div class='muted'>Microsoft (sandbox)</div>"
        f"{body}</div></body></html>"
    )


def _user_choices(users: list[User], selected: str | None) -> str:
    rows = []
    for index, user in enumerate(users):
        checked = user.upn == selected or (selected is None and index == 0)
        rows.append(
            f"<label><input type='radio' name='user' value='{escape(user.oid)}'"
            f"{' checked' if checked else ''}> {escape(user.name)} "
            f"<span class='muted'>{escape(user.upn)}</span></label>"
        )
    return "".join(rows)


def consent_page(
    *, action: str, ctx: str, app: App, scopes: list[str], users: list[User], login_hint: str | None
) -> str:
    scope_items = "".join(f"<li>{escape(s)}</li>" for s in scopes)
    return _page(
        "Permissions requested",
        (
            "<h1>Permissions requested</h1>"
            f"<p><b>{escape(app.name)}</b> <span class='muted'>({escape(app.client_id)})</span> "
            "would like to:</p>"
            f"<ul id='scopes'>{scope_items}</ul>"
            f"<form method='post' action='{escape(action)}'>"
            f"<input type='hidden' name='ctx' value='{escape(ctx)}'>"
            f"<p>Pick an account</p>{_user_choices(users, login_hint)}"
            "<button class='primary' name='action' value='accept' type='submit'>Accept</button>"
            "<button class='secondary' name='action' value='cancel' type='submit'>Cancel</button>"
            "</form>"
        ),
    )


def admin_consent_page(
    *, action: str, ctx: str, app: App, scopes: list[str], users: list[User], tenant_name: str
) -> str:
    scope_items = "".join(f"<li>{escape(s)}</li>" for s in scopes)
    return _page(
        "Permissions requested - Accept for your organization",
        (
            "<h1>Permissions requested</h1>"
            f"<p>Accept for your organization <b>{escape(tenant_name)}</b>: "
            f"<b>{escape(app.name)}</b> needs permission to:</p>"
            f"<ul id='scopes'>{scope_items}</ul>"
            f"<form method='post' action='{escape(action)}'>"
            f"<input type='hidden' name='ctx' value='{escape(ctx)}'>"
            f"<p>Administrator</p>{_user_choices(users, None)}"
            "<button class='primary' name='action' value='accept' type='submit'>Accept</button>"
            "<button class='secondary' name='action' value='cancel' type='submit'>Cancel</button>"
            "</form>"
        ),
    )


def error_page(code: int, message: str) -> str:
    return _page(
        "Sign in to your account",
        (
            "<h1>Sign in</h1><p>Sorry, but we're having trouble signing you in.</p>"
            f"<p class='error' id='error'>AADSTS{code}: {escape(message)}</p>"
        ),
    )


def form_post_page(redirect_uri: str, fields: dict[str, str]) -> str:
    inputs = "".join(
        f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>" for k, v in fields.items()
    )
    return (
        "<!DOCTYPE html><html><head><title>Working...</title></head>"
        "<body onload='document.forms[0].submit()'>"
        f"<form method='POST' name='hiddenform' action='{escape(redirect_uri)}'>{inputs}"
        "<noscript><p>Script is disabled. Click Submit to continue.</p>"
        "<input type='submit' value='Submit'></noscript></form></body></html>"
    )

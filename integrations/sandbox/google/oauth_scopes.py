"""The OAuth scopes the sandbox's Google knows, in the plain words the consent screen shows.

Google expands the OpenID shorthands in what it grants: a request for ``email profile``
comes back as ``https://www.googleapis.com/auth/userinfo.email`` and ``.../userinfo.profile`` in
the token response's ``scope`` (oauthlib then warns "Scope has changed" unless
``OAUTHLIB_RELAX_TOKEN_SCOPE`` is set, exactly as against Google).
"""

from __future__ import annotations

AUTH = "https://www.googleapis.com/auth/"
EMAIL_SCOPE = f"{AUTH}userinfo.email"
PROFILE_SCOPE = f"{AUTH}userinfo.profile"
SHORTHANDS = {"email": EMAIL_SCOPE, "profile": PROFILE_SCOPE}

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "openid": "Associate you with your personal info on Google",
    EMAIL_SCOPE: "See your primary Google Account email address",
    PROFILE_SCOPE: "See your personal info, including any personal info you've made "
    "publicly available",
    "https://mail.google.com/": "Read, compose, send, and permanently delete all your email "
    "from Gmail",
    f"{AUTH}gmail.readonly": "View your email messages and settings",
    f"{AUTH}gmail.modify": "Read, compose, and send emails from your Gmail account",
    f"{AUTH}gmail.metadata": "View your email message metadata such as labels and headers, "
    "but not the email body",
    f"{AUTH}gmail.labels": "See and edit your email labels",
    f"{AUTH}gmail.send": "Send email on your behalf",
    f"{AUTH}gmail.compose": "Manage drafts and send emails",
    f"{AUTH}gmail.insert": "Add emails into your Gmail mailbox",
    f"{AUTH}gmail.settings.basic": "See, edit, create, or change your email settings and "
    "filters in Gmail",
    f"{AUTH}calendar": "See, edit, share, and permanently delete all the calendars you can "
    "access using Google Calendar",
    f"{AUTH}calendar.readonly": "See and download any calendar you can access using your "
    "Google Calendar",
    f"{AUTH}calendar.events": "View and edit events on all your calendars",
    f"{AUTH}calendar.events.readonly": "View events on all your calendars",
    f"{AUTH}calendar.events.owned": "See, create, change, and delete events on Google "
    "calendars you own",
    f"{AUTH}calendar.calendarlist.readonly": "See the list of Google calendars you're "
    "subscribed to",
    f"{AUTH}calendar.settings.readonly": "View your Calendar settings",
    f"{AUTH}calendar.freebusy": "View your availability in your calendars",
}


def normalize_scope(scope: str) -> str:
    return SHORTHANDS.get(scope, scope)


def parse_scopes(text: str) -> list[str]:
    """Space-separated scopes (Google also tolerates commas), shorthands expanded, deduplicated."""
    raw = text.replace(",", " ").split()
    return list(dict.fromkeys(normalize_scope(scope) for scope in raw))


def unknown_scopes(scopes: list[str]) -> list[str]:
    return [scope for scope in scopes if scope not in SCOPE_DESCRIPTIONS]


def wants_id_token(scopes: list[str]) -> bool:
    return any(scope in ("openid", EMAIL_SCOPE, PROFILE_SCOPE) for scope in scopes)

"""Microsoft Graph delegated permissions the sandbox knows, and how scope strings normalize."""

from __future__ import annotations

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")

# Delegated Graph permissions a user may consent to on their own.
USER_CONSENTABLE = (
    "User.Read",
    "User.ReadBasic.All",
    "Mail.Read",
    "Mail.ReadBasic",
    "Mail.ReadWrite",
    "Mail.Read.Shared",
    "Mail.ReadWrite.Shared",
    "Mail.Send",
    "Mail.Send.Shared",
    "MailboxSettings.Read",
    "MailboxSettings.ReadWrite",
    "Calendars.Read",
    "Calendars.ReadBasic",
    "Calendars.ReadWrite",
    "Calendars.Read.Shared",
    "Calendars.ReadWrite.Shared",
    "Contacts.Read",
    "Contacts.ReadWrite",
    "People.Read",
    "Files.Read",
)
# Delegated permissions that always need an administrator's consent.
ADMIN_ONLY = (
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Group.Read.All",
    "Directory.ReadWrite.All",
    "People.Read.All",
)
_CANONICAL = {name.lower(): name for name in (*USER_CONSENTABLE, *ADMIN_ONLY)}

MAIL_READ = ("Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic")
MAIL_WRITE = ("Mail.ReadWrite",)
MAIL_SHARED_READ = ("Mail.Read.Shared", "Mail.ReadWrite.Shared")
MAIL_SHARED_WRITE = ("Mail.ReadWrite.Shared",)
MAIL_SEND = ("Mail.Send",)
CALENDAR_READ = ("Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadBasic")
CALENDAR_WRITE = ("Calendars.ReadWrite",)
CALENDAR_SHARED_READ = ("Calendars.Read.Shared", "Calendars.ReadWrite.Shared")
CALENDAR_SHARED_WRITE = ("Calendars.ReadWrite.Shared",)
USER_READ = ("User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All")
USER_READ_OTHERS = ("User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All")


class UnknownScope(ValueError):
    pass


def split_scopes(raw: str) -> tuple[list[str], list[str]]:
    """(Graph permissions in canonical short form, OIDC scopes) of a space-separated scope string.

    Graph permissions may be written short ("Mail.Read") or as resource URIs
    ("https://graph.microsoft.com/Mail.Read"); the identity platform treats them alike and
    case-insensitively.
    """
    graph: list[str] = []
    oidc: list[str] = []
    for token in raw.split():
        lowered = token.lower()
        if lowered in OIDC_SCOPES:
            if lowered not in oidc:
                oidc.append(lowered)
            continue
        name = token
        if lowered.startswith(GRAPH_RESOURCE + "/"):
            name = token[len(GRAPH_RESOURCE) + 1 :]
        elif lowered.startswith(GRAPH_APP_ID + "/"):
            name = token[len(GRAPH_APP_ID) + 1 :]
        canonical = _CANONICAL.get(name.lower())
        if canonical is None:
            raise UnknownScope(token)
        if canonical not in graph:
            graph.append(canonical)
    return graph, oidc


def needs_admin(scope: str, *, user_consent_allowed: bool) -> bool:
    return scope in ADMIN_ONLY or not user_consent_allowed


def response_scope(graph: list[str], oidc: list[str]) -> str:
    """The ``scope`` of a token response: Graph short names, then ``profile openid email``."""
    tail: list[str] = [s for s in ("profile", "openid") if s in oidc]
    if "openid" in oidc or "email" in oidc:
        tail.append("email")
    return " ".join([*graph, *tail])

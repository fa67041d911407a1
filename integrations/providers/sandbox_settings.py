"""The settings that point Liaison's provider clients at a running sandbox (demo and tests).

Production leaves these at their defaults (Google's and Microsoft's own endpoints); the code
that talks to providers never knows which one it reaches.
"""

from __future__ import annotations

SANDBOX_GOOGLE_CLIENT = ("liaison-sandbox.apps.googleusercontent.com", "sandbox-google-secret")
SANDBOX_MICROSOFT_APP = ("6f1c0a8e-1d2b-4c3e-9f40-5a6b7c8d9e0f", "sandbox-microsoft-secret")
SANDBOX_PUBSUB_TOPIC = "projects/liaison-sandbox/topics/gmail-push"


def sandbox_provider_settings(
    *, google_base_url: str, microsoft_login_url: str, microsoft_graph_url: str, ca_bundle: str
) -> dict[str, str]:
    google = google_base_url.rstrip("/")
    return {
        "PROVIDER_CA_BUNDLE": ca_bundle,
        "GOOGLE_CLIENT_ID": SANDBOX_GOOGLE_CLIENT[0],
        "GOOGLE_CLIENT_SECRET": SANDBOX_GOOGLE_CLIENT[1],
        "GOOGLE_AUTH_URI": f"{google}/o/oauth2/v2/auth",
        "GOOGLE_TOKEN_URI": f"{google}/token",
        "GOOGLE_REVOKE_URI": f"{google}/revoke",
        "GOOGLE_USERINFO_URI": f"{google}/oauth2/v3/userinfo",
        "GOOGLE_API_ENDPOINT": f"{google}/",
        "GOOGLE_BATCH_URI": f"{google}/batch/gmail/v1",
        "MICROSOFT_CLIENT_ID": SANDBOX_MICROSOFT_APP[0],
        "MICROSOFT_CLIENT_SECRET": SANDBOX_MICROSOFT_APP[1],
        "MICROSOFT_LOGIN_URL": microsoft_login_url.rstrip("/"),
        "MICROSOFT_GRAPH_URL": microsoft_graph_url.rstrip("/"),
        # -- push (integrations.mail.push): the topic still has to be registered with the
        # sandbox (POST /_sandbox/google/push-endpoints) before Gmail accepts a watch on it.
        "GOOGLE_PUBSUB_TOPIC": SANDBOX_PUBSUB_TOPIC,
        "GOOGLE_PUSH_JWKS_URL": f"{google}/oauth2/v3/certs",
        "GOOGLE_PUSH_ISSUER": google,
        "MICROSOFT_PUSH_ENABLED": "true",
    }


def callback_urls(site_url: str) -> dict[str, str]:
    base = site_url.rstrip("/")
    return {p: f"{base}/api/v1/integrations/oauth/{p}/callback" for p in ("google", "microsoft")}

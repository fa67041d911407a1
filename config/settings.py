"""Liaison settings: one module, driven by environment variables (documented in .env.example)."""

import os
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("LIAISON_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-never-use-in-production"

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY: the development key is refused when DEBUG is off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "crm",
    "integrations.connections",
    "integrations.mail",
    "integrations.sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "crm.middleware.TenantMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL is the application's connection: on PostgreSQL a role without SUPERUSER or
# BYPASSRLS, so row-level security applies. DATABASE_MIGRATE_URL (optional) is the owner role
# that `manage.py migrate` connects as.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'liaison.sqlite3'}"),
}
if env.str("DATABASE_MIGRATE_URL", default=""):
    DATABASES["migrate"] = env.db("DATABASE_MIGRATE_URL")
    DATABASES["migrate"]["TEST"] = {"MIRROR": "default"}
for _db in DATABASES.values():
    _db.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    _db["CONN_HEALTH_CHECKS"] = True
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # Parameters bound by the server, and a statement run twice on a connection is prepared:
        # the hot reads (an inbox page) skip planning. A pooler in transaction mode cannot keep
        # prepared statements: DATABASE_PREPARED_STATEMENTS=false turns them off.
        _db.setdefault("OPTIONS", {}).update(
            server_side_binding=True,
            prepare_threshold=2 if env.bool("DATABASE_PREPARED_STATEMENTS", default=True) else None,
        )
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        # A file, not shared-cache memory, so concurrent tests get WAL and the busy timeout;
        # one per process, so parallel test runs never share it.
        _db.setdefault("TEST", {}).setdefault(
            "NAME", str(Path(tempfile.gettempdir()) / f"liaison-test-{os.getpid()}.sqlite3")
        )
        _db.setdefault("OPTIONS", {}).update(
            {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            }
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery --------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("in", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "in"),
        "data_folder_out": str(_broker_dir / "in"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Seeded into django-celery-beat's tables, where the admin shows and edits them.
CELERY_BEAT_SCHEDULE = {
    "refresh-expiring-tokens": {
        "task": "integrations.connections.tasks.connections_refresh_due",
        "schedule": 60.0,
    },
    "poll-due-mailboxes": {"task": "integrations.mail.tasks.mailboxes_poll_due", "schedule": 60.0},
    "resume-stuck-sync-runs": {
        "task": "integrations.mail.tasks.sync_runs_recover",
        "schedule": 60.0,
    },
    "retry-failed-messages": {
        "task": "integrations.mail.tasks.sync_failures_retry",
        "schedule": 900.0,
    },
}
MAIL_POLL_SECONDS = env.int("MAIL_POLL_SECONDS", default=300)
MAIL_PUSH_POLL_SECONDS = env.int("MAIL_PUSH_POLL_SECONDS", default=3600)
# A sync run whose worker has not beaten for this long is resumed by another worker.
SYNC_LEASE_SECONDS = env.int("SYNC_LEASE_SECONDS", default=90)
# Messages per provider page where the provider lets us choose (Graph's odata.maxpagesize):
# each page is one transaction of the sync, and Gmail's listing pages hold 500.
MAIL_SYNC_PAGE_SIZE = env.int("MAIL_SYNC_PAGE_SIZE", default=500)
# A first sync downloads in a process forked for it (Linux), so the storing thread has the
# interpreter to itself (integrations/mail/sync/download.py).
MAIL_SYNC_DOWNLOAD_PROCESS = env.bool("MAIL_SYNC_DOWNLOAD_PROCESS", default=True)

# --- Auth (django-allauth, e-mail only) ----------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_SIGNUP_FORM_CLASS = "crm.forms.SignupOrganizationForm"
ACCOUNT_ADAPTER = "crm.adapters.AccountAdapter"
ALLOW_SIGNUP = env.bool("ALLOW_SIGNUP", default=True)
ACCOUNT_LOGOUT_ON_GET = False
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
AUTH_USER_MODEL = "crm.User"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Liaison <no-reply@liaison.test>")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.api.authentication.BearerTokenAuthentication",
        "crm.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.api.permissions.IsOrganizationMember"],
    "DEFAULT_THROTTLE_CLASSES": ["crm.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_RATE_LIMIT", default="1200/min")},
    "DEFAULT_PAGINATION_CLASS": "crm.api.pagination.PagePagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "crm.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Liaison API",
    "DESCRIPTION": "Mail, calendar and CRM for sales teams. Errors are "
    '`{"error", "code", "statusCode", "details"}`; lists take `page` and `limit`.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SECURITY": [{"bearerAuth": []}],
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
    "AUTHENTICATION_WHITELIST": [],
    "ENUM_NAME_OVERRIDES": {},
}

# --- Providers ------------------------------------------------------------------------------
# Production points these at Google and Microsoft; the demo and the tests at the sandbox.
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS", default=[])
if not DEBUG and not ENCRYPTION_KEYS:
    raise ImproperlyConfigured("Set ENCRYPTION_KEYS: provider tokens are encrypted at rest.")
PROVIDER_CA_BUNDLE = env.str("PROVIDER_CA_BUNDLE", default="")
GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
GOOGLE_AUTH_URI = env.str("GOOGLE_AUTH_URI", default="https://accounts.google.com/o/oauth2/v2/auth")
GOOGLE_TOKEN_URI = env.str("GOOGLE_TOKEN_URI", default="https://oauth2.googleapis.com/token")
GOOGLE_REVOKE_URI = env.str("GOOGLE_REVOKE_URI", default="https://oauth2.googleapis.com/revoke")
GOOGLE_USERINFO_URI = env.str(
    "GOOGLE_USERINFO_URI", default="https://openidconnect.googleapis.com/v1/userinfo"
)
# Gmail and Calendar API root (client_options api_endpoint); empty: Google's own.
GOOGLE_API_ENDPOINT = env.str("GOOGLE_API_ENDPOINT", default="")
GOOGLE_BATCH_URI = env.str(
    "GOOGLE_BATCH_URI", default="https://gmail.googleapis.com/batch/gmail/v1"
)
MICROSOFT_CLIENT_ID = env.str("MICROSOFT_CLIENT_ID", default="")
MICROSOFT_CLIENT_SECRET = env.str("MICROSOFT_CLIENT_SECRET", default="")
MICROSOFT_LOGIN_URL = env.str("MICROSOFT_LOGIN_URL", default="https://login.microsoftonline.com")
MICROSOFT_TENANT = env.str("MICROSOFT_TENANT", default="organizations")
MICROSOFT_GRAPH_URL = env.str("MICROSOFT_GRAPH_URL", default="https://graph.microsoft.com/v1.0")
# Refresh access tokens this long before they expire (beat task and before provider calls).
TOKEN_REFRESH_MARGIN_SECONDS = env.int("TOKEN_REFRESH_MARGIN_SECONDS", default=300)

# --- Static, i18n -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# Files kept by the default storage (e.g. mail attachments fetched on first use).
MEDIA_ROOT = VAR_DIR / "media"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security -----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # These log token responses at DEBUG; they stay quiet whatever LOG_LEVEL says.
        **{
            name: {"level": "WARNING"}
            for name in (
                "requests_oauthlib",
                "oauthlib",
                "msal",
                "urllib3",
                "google.auth",
                "google_auth_oauthlib",
                "googleapiclient",
                "httplib2",
            )
        },
    },
}

# --- Push -----------------------------------------------------------------------------------
# Gmail: users.watch publishes to this Cloud Pub/Sub topic (projects/P/topics/T), whose push
# subscription (with authentication) POSTs to SITE_URL/api/v1/integrations/webhooks/google.
# Empty: no Gmail push, polling only.
GOOGLE_PUBSUB_TOPIC = env.str("GOOGLE_PUBSUB_TOPIC", default="")
# The push subscription's OIDC audience; empty: the webhook URL (Pub/Sub's own default).
GOOGLE_PUSH_AUDIENCE = env.str("GOOGLE_PUSH_AUDIENCE", default="")
GOOGLE_PUSH_JWKS_URL = env.str(
    "GOOGLE_PUSH_JWKS_URL", default="https://www.googleapis.com/oauth2/v3/certs"
)
# Accepted with and without https://, as Google issues both.
GOOGLE_PUSH_ISSUER = env.str("GOOGLE_PUSH_ISSUER", default="https://accounts.google.com")
# The push subscription's service account; set, the token's verified e-mail must be this one.
GOOGLE_PUSH_SERVICE_ACCOUNT = env.str("GOOGLE_PUSH_SERVICE_ACCOUNT", default="")
# Microsoft: Graph subscriptions notify SITE_URL/api/v1/integrations/webhooks/microsoft, which
# Microsoft must reach over HTTPS.
MICROSOFT_PUSH_ENABLED = env.bool("MICROSOFT_PUSH_ENABLED", default=False)
CELERY_BEAT_SCHEDULE["renew-push-channels"] = {
    "task": "integrations.mail.tasks_push.push_renew_due",
    # Also starts push for mailboxes whose first sync finished since the last tick.
    "schedule": 600.0,
}
CELERY_BEAT_SCHEDULE["write-pending-mail-flags"] = {
    "task": "integrations.mail.tasks_flags.flags_pending_flush",
    # Read/star/archive changes no task is writing through any more (retries spent, reconnect).
    "schedule": 300.0,
}
CELERY_BEAT_SCHEDULE["index-pending-mail-search"] = {
    "task": "integrations.mail.search_index.search_index_pending_drain",
    # Mail stored for search whose indexing task was lost (broker outage, worker crash).
    "schedule": 60.0,
}
CELERY_IMPORTS = [
    "integrations.mail.tasks_push",
    "integrations.mail.tasks_flags",
    "integrations.mail.search_index",
]

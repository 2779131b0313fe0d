"""Settings for the hub: one module, read from the environment.

Every variable is listed in the README's configuration table. With DATABASE_URL unset, a private
PostgreSQL server is started under `.data/postgres` (see hub/embedded_postgres.py).
"""

import base64
import hashlib
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable ("1", "true", "yes", "on" mean yes)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated environment variable."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)


def _local_secret_key() -> str:
    """A random key kept in .data/secret_key, made on first use, for single-machine installs.

    Deployments with more than one web process set SECRET_KEY so every process shares it.
    """
    path = Path(os.environ.get("SECRET_KEY_FILE", BASE_DIR / ".data" / "secret_key"))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as key_file:
            key_file.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()


def _credentials_keys() -> list[str]:
    """Fernet keys that encrypt inbox secrets at rest, newest first: the first encrypts, every one
    decrypts (rotation: put a new key first, run `manage.py rotate_credentials`, then drop the
    old one). The last is always a key derived from SECRET_KEY, the development default: set
    CREDENTIALS_KEY in production (a SECRET_KEY change would otherwise lose every secret)."""
    derived = hashlib.sha256(b"service-hub inbox credentials\0" + SECRET_KEY.encode()).digest()
    keys = env_list("CREDENTIALS_KEY", "")
    return [*keys, base64.urlsafe_b64encode(derived).decode()]


CREDENTIALS_KEYS = _credentials_keys()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "hub.apps.HubAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "tailwind",
    "theme",
    "django_tasks_db",
    "hub",
    "companies",
    "accounts",
    "customers",
    "inboxes",
    "conversations",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.EndedSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "hub.middleware.VaryOnHtmxMiddleware",
    "hub.middleware.CompanyMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"
ASGI_APPLICATION = "hub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hub.context_processors.navigation",
            ],
        },
    },
]

# --- Database: DATABASE_URL, or the embedded PostgreSQL server
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...).")
else:
    from hub import embedded_postgres

    DATABASES = {
        "default": embedded_postgres.start(
            Path(os.environ.get("EMBEDDED_POSTGRES_DIR", BASE_DIR / ".data" / "postgres")),
            database=os.environ.get("EMBEDDED_POSTGRES_DB", "hub"),
        )
    }
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
# Persistent connections (both servers): a web process keeps its connection for
# DATABASE_CONN_MAX_AGE seconds instead of opening one per request (a new session costs the
# server a process start and authentication, ~5 ms of its CPU); a connection that broke in the
# meantime is noticed before the request uses it (CONN_HEALTH_CHECKS). 0 closes after every request.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DATABASE_CONN_MAX_AGE", 60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# No request runs unbounded (hub/database.py): PostgreSQL cancels any statement of the hub's
# sessions after DATABASE_STATEMENT_TIMEOUT ms (below gunicorn's 30 s worker timeout); search and
# polls ask for shorter ones. manage.py sets 0 (none) for commands other than runserver.
DATABASE_STATEMENT_TIMEOUT = int(os.environ.get("DATABASE_STATEMENT_TIMEOUT", 20_000))
DATABASE_SEARCH_TIMEOUT = int(os.environ.get("DATABASE_SEARCH_TIMEOUT", 3_000))
DATABASE_POLL_TIMEOUT = int(os.environ.get("DATABASE_POLL_TIMEOUT", 2_000))
if DATABASE_STATEMENT_TIMEOUT:
    from hub.database import connection_options

    DATABASES["default"]["OPTIONS"]["options"] = " ".join(
        filter(
            None,
            [
                DATABASES["default"]["OPTIONS"].get("options", ""),
                connection_options(DATABASE_STATEMENT_TIMEOUT),
            ],
        )
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and sign-in
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "landing"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Password sign-in is throttled by django-axes: after AXES_FAILURE_LIMIT failures for one account
# from one address, that pair is locked out for AXES_COOLOFF_TIME; a success resets the count.
AUTHENTICATION_BACKENDS.insert(0, "axes.backends.AxesStandaloneBackend")
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AXES_FAILURE_LIMIT = int(os.environ.get("SIGN_IN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("SIGN_IN_LOCKOUT_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
# failures count per account, whatever the spelling of its address (case, spaces)
AXES_USERNAME_CALLABLE = "accounts.views.sign_in_account"
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_WHITELIST_CALLABLE = "accounts.views.not_a_password_attempt"
AXES_VERBOSE = False

# Single sign-on (OpenID Connect, mozilla-django-oidc): on when OIDC_CLIENT_ID and either
# OIDC_ISSUER (endpoints from its discovery document, fetched on first use) or the explicit
# endpoints are set. See accounts/oidc.py.
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").rstrip("/")
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
OIDC_RP_SCOPES = os.environ.get("OIDC_SCOPES", "openid email profile")
OIDC_DISPLAY_NAME = os.environ.get("OIDC_DISPLAY_NAME", "single sign-on")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_USERINFO_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_JWKS_ENDPOINT", "")
OIDC_OP_END_SESSION_ENDPOINT = os.environ.get("OIDC_END_SESSION_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_CREATE_USER = False
OIDC_STORE_ID_TOKEN = True  # the id_token_hint of the provider's end-session call
OIDC_CLOCK_SKEW_SECONDS = int(os.environ.get("OIDC_CLOCK_SKEW_SECONDS", 60))
OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = int(os.environ.get("OIDC_RENEW_SECONDS", 15 * 60))
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:oidc_callback"
OIDC_OP_LOGOUT_URL_METHOD = "accounts.oidc.provider_logout_url"
PASSWORD_SIGN_IN = env_bool("PASSWORD_SIGN_IN", True)
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID and (OIDC_ISSUER or OIDC_OP_AUTHORIZATION_ENDPOINT))
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.append("accounts.oidc.HubOIDCBackend")
    MIDDLEWARE.append("accounts.oidc.HtmxSessionRefresh")

# Sign-out posts a form that redirects to the provider's end-session page: allow its origin.
SSO_ORIGINS = sorted(
    {
        "{0.scheme}://{0.netloc}".format(urlsplit(url))
        for url in (OIDC_ISSUER, OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_END_SESSION_ENDPOINT)
        if url
    }
)

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", 60 * 60 * 12))

# "Forgot your password?": set-password links work once, for PASSWORD_RESET_TIMEOUT seconds;
# requests are throttled per network address and per email address (hub/throttle.py)
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_LINK_DAYS", 3)) * 24 * 60 * 60
PASSWORD_RESET_REQUESTS_PER_HOUR = int(os.environ.get("PASSWORD_RESET_REQUESTS_PER_HOUR", 10))
PASSWORD_RESET_EMAILS_PER_HOUR = int(os.environ.get("PASSWORD_RESET_EMAILS_PER_HOUR", 3))

# The shared cache (throttles): a table in the database, so every web process sees the same
# counts; `migrate` creates it (hub/migrations)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "hub_cache",
    }
}

# --- Background tasks (Django's Tasks framework, database backend)
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Channels: provider base URLs (tests and the demo point them at local servers of ours that
# speak the providers' wire formats), media storage and limits
GRAPH_API_BASE_URL = os.environ.get("GRAPH_API_BASE_URL", "https://graph.facebook.com")
GRAPH_API_VERSION = os.environ.get("GRAPH_API_VERSION", "v21.0")
PROVIDER_TIMEOUT_SECONDS = float(os.environ.get("PROVIDER_TIMEOUT_SECONDS", "10"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
# inbound media larger than this is not downloaded (the message is kept, with the reason)
MEDIA_MAX_BYTES = int(os.environ.get("MEDIA_MAX_BYTES", str(25 * 1024 * 1024)))
# a webhook body larger than this is refused with 413 before anything is stored
WEBHOOK_MAX_BYTES = int(os.environ.get("WEBHOOK_MAX_BYTES", str(5 * 1024 * 1024)))

# --- Outbound delivery (conversations.tasks.deliver_message, README "Delivery guarantee")
# a send is tried at most this many times, then the message is failed with the last error
DELIVERY_MAX_ATTEMPTS = int(os.environ.get("DELIVERY_MAX_ATTEMPTS", "6"))
# retry n waits a random time between half and all of min(MAX, BASE * 2^(n-1)) seconds
DELIVERY_RETRY_BASE_SECONDS = float(os.environ.get("DELIVERY_RETRY_BASE_SECONDS", "2"))
DELIVERY_RETRY_MAX_SECONDS = float(os.environ.get("DELIVERY_RETRY_MAX_SECONDS", "300"))
# a provider's Retry-After is honoured up to this many seconds
DELIVERY_RETRY_AFTER_MAX_SECONDS = float(os.environ.get("DELIVERY_RETRY_AFTER_MAX_SECONDS", "3600"))
# a worker holds a message this long while sending (longer than a send's provider timeouts);
# after that another worker may take it over
DELIVERY_LEASE_SECONDS = float(os.environ.get("DELIVERY_LEASE_SECONDS", "120"))
# `sweep_deliveries` re-enqueues a pending message whose lease expired, or that no worker took
# this many seconds after it was due
DELIVERY_SWEEP_AFTER_SECONDS = float(os.environ.get("DELIVERY_SWEEP_AFTER_SECONDS", "60"))
# files an agent attaches to a reply: size and types (WhatsApp's image limit is 5 MB)
OUTBOUND_ATTACHMENT_MAX_BYTES = int(
    os.environ.get("OUTBOUND_ATTACHMENT_MAX_BYTES", str(5 * 1024 * 1024))
)
OUTBOUND_ATTACHMENT_TYPES = os.environ.get(
    "OUTBOUND_ATTACHMENT_TYPES", "image/jpeg,image/png,application/pdf"
).split(",")

# phone inboxes (Twilio): the API's base URL (a local server of ours in tests and the demo), the
# hub's public address (Twilio signs the URL it calls, and status callbacks and voicemail
# recordings come back to it), and the longest voicemail a caller may leave
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "https://api.twilio.com")
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
VOICEMAIL_MAX_SECONDS = int(os.environ.get("VOICEMAIL_MAX_SECONDS", "120"))

# email inboxes: how often the mailboxes are polled, where fetched mail goes (blank: it stays in
# INBOX, marked seen), and an extra CA bundle to trust for IMAP/SMTP TLS (a private mail server)
EMAIL_POLL_SECONDS = int(os.environ.get("EMAIL_POLL_SECONDS", "60"))
EMAIL_MOVE_TO_FOLDER = os.environ.get("EMAIL_MOVE_TO_FOLDER", "")
EMAIL_TLS_CA_FILE = os.environ.get("EMAIL_TLS_CA_FILE", "")
EMAIL_FETCH_BATCH = int(os.environ.get("EMAIL_FETCH_BATCH", "50"))

# --- Internationalisation
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise)
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
TAILWIND_APP_NAME = "theme"
NPM_BIN_PATH = os.environ.get("NPM_BIN_PATH", "npm")

# --- Security
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "https:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF, *SSO_ORIGINS],
    "frame-ancestors": [CSP.NONE],
}

# --- Logging
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "pgserver": {"level": "WARNING"},
    },
}

# Email is unique case-insensitively (a UniqueConstraint on Lower(email)), which Django's check
# cannot see; the sign-in backend looks users up with email__iexact.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

# --- Email (set-password links; later, the email channel's defaults): Django 6.1's MAILERS
# SMTP by default; `make run` (DEBUG) prints mail to the console instead
_EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {
    "default": {
        "BACKEND": _EMAIL_BACKEND,
        "OPTIONS": {
            "host": os.environ.get("EMAIL_HOST", "localhost"),
            "port": int(os.environ.get("EMAIL_PORT", "25")),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
        }
        if _EMAIL_BACKEND.endswith("smtp.EmailBackend")
        else {},
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Service Hub <noreply@localhost>")

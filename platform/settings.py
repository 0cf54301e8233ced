"""The one settings module. Every value comes from an environment variable (listed in
.env.example) with a safe development default; production sets DATABASE_URL, CELERY_BROKER_URL,
SECRET_KEY and DEBUG=false."""
import secrets
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from platform.broker import embedded_broker
from platform.env import env_bool, env_choice, env_int, env_int_list, env_list, env_str
from platform.lan import default_site_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", True)


SECRET_KEY_HOW = "e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def _secret_key():
    """Required in production, and not one a guess or a dictionary finds (it signs sessions: a
    known key is a login as anyone); in development one is generated once and kept under var/."""
    key = env_str("SECRET_KEY")
    if key and not DEBUG and (len(key) < 32 or len(set(key)) < 10 or key.startswith("django-insecure-")):
        raise ImproperlyConfigured(f"SECRET_KEY is too easy to guess for DEBUG=false: use at least 32 random "
                                   f"characters, {SECRET_KEY_HOW}.")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(f"SECRET_KEY must be set when DEBUG is off, {SECRET_KEY_HOW}.")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Where `manage.py runstack` (make run) listens; with 0.0.0.0 the default SITE_URL is the LAN
# address, so the URLs printed for devices work from a board on the network (platform/lan.py).
BIND = env_str("BIND", "127.0.0.1:8000")
SITE_URL = env_str("SITE_URL", default_site_url(BIND)).rstrip("/")
_DEV_HOSTS = ["localhost", "127.0.0.1", "[::1]", urlsplit(SITE_URL).hostname or "localhost"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", _DEV_HOSTS if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served locally: the docs page works offline
    "django_htmx",
    "template_partials",
    "platform.apps.PlatformConfig",
    "devices",
    "buckets",
    "endpoints",
    "alarms",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "platform.admin.AdminGuard",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "platform.urls"
WSGI_APPLICATION = "platform.wsgi.application"

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
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60, minimum=0))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker read while the web writes; IMMEDIATE takes the write lock up front so
    # two writers wait for each other instead of failing with "database is locked".
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests (make test's SQLite pass) use a real file next to it, WAL and all, not an in-memory
    # database: threads in the tests then share it the way web and worker processes do.
    _db_path = Path(_db["NAME"])
    _db["TEST"] = {"NAME": str(_db_path.with_name(f"test_{_db_path.name}"))}
else:
    # Django's health check, skipped for a connection that served a request cleanly less than
    # DATABASE_HEALTH_CHECK_IDLE seconds ago (platform/database/base.py; 0 checks every request).
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db["ENGINE"] = "platform.database"
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1)
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        # The callback's statement is prepared (platform/database/prepared.py). Django turns
        # psycopg's prepared statements off (prepare_threshold None) for the sake of transaction
        # poolers; its own cursors bind on the client and never prepare, so this enables only ours.
        # Behind PgBouncer in transaction mode older than 1.21 (or without max_prepared_statements),
        # set DATABASE_PREPARED_STATEMENTS=false.
        _db["OPTIONS"]["prepare_threshold"] = 5
        # Kept with any options the DATABASE_URL gives (?options=...).
        _db["OPTIONS"]["options"] = " ".join(filter(None, [_db["OPTIONS"].get("options"),
                                                         "-c plan_cache_mode=force_generic_plan"]))
DATABASES = {"default": _db}
DATABASE_PREPARED_STATEMENTS = "prepare_threshold" in _db.get("OPTIONS", {})
DATABASE_HEALTH_CHECK_IDLE = env_int("DATABASE_HEALTH_CHECK_IDLE", 1, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHE_URL = env_str("CACHE_URL", "locmem://")
# Put before every cache key (Django's KEY_PREFIX), for installations that must share one Redis
# database: keys name users and devices, not the installation. Every process of one
# installation needs the same value, so it is set, never derived (from DATABASE_URL, say).
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "")
if ":" in CACHE_KEY_PREFIX:
    # Django joins prefix, version and key with colons: "prod" would also own "prod:eu"'s keys
    # (clear_cache empties the keys under its prefix).
    raise ImproperlyConfigured(f"CACHE_KEY_PREFIX={CACHE_KEY_PREFIX!r}: leave out the colon (e.g. prod-eu).")
# Exactly one process serves the web, so a per-process cache is enough (platform/checks.py).
SINGLE_PROCESS = env_bool("SINGLE_PROCESS", False)
CACHES: dict[str, dict[str, Any]]
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "platform.cache.RedisCache", "LOCATION": CACHE_URL, "KEY_PREFIX": CACHE_KEY_PREFIX,
                          # Short: every cache use on the callback path (token cache, rate counter,
                          # wake-up flag) fails open, so a hung Redis must cost little per call
                          # (tests/e2e/test_faults_ingest.py::test_redis_hung_does_not_hang_callbacks).
                          "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}}}
elif CACHE_URL == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_PREFIX": CACHE_KEY_PREFIX}}
else:
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r}: use redis://host:port/db or locmem://.")
# Whether every web and worker process sees the same cache, decided here once: the token cache,
# the alarms' watch map and the ingest wake-up flag need it, and the checks require it in
# production (platform/checks.py). A per-process cache (locmem) is not shared.
CACHE_SHARED = CACHE_URL.startswith(("redis://", "rediss://"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
REGISTRATION_OPEN = env_bool("REGISTRATION_OPEN", False)
# Failed sign-ins (login page and admin) allowed per account and per address within the window,
# then every sign-in there is refused until the window ends (platform/login.py).
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 30, minimum=1)
LOGIN_THROTTLE_SECONDS = env_int("LOGIN_THROTTLE_SECONDS", 900, minimum=1)
# "Forgot your password?" requests allowed per hour for one e-mail address and from one client
# address, whether or not an account has the e-mail address (platform/login.py).
PASSWORD_RESETS_PER_EMAIL = env_int("PASSWORD_RESETS_PER_EMAIL", 3, minimum=1)
PASSWORD_RESETS_PER_ADDRESS = env_int("PASSWORD_RESETS_PER_ADDRESS", 10, minimum=1)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# In development the app directories are served as they are (no collectstatic step, edits show
# at once); in production what collectstatic built, with its compressed copies. Finders added after
# STATIC_ROOT win, so they stay off once it holds files; an empty one (no collectstatic yet) falls
# back to them rather than serve a page without its CSS.
WHITENOISE_USE_FINDERS = DEBUG or not any(STATIC_ROOT.iterdir())

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "platform.auth.AccessTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON in and out only: the schema says so, and no route of the API answers an HTML page.
    "DEFAULT_RENDERER_CLASSES": ["platform.parsers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["platform.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "platform.parsers.JSONOnly",
    "EXCEPTION_HANDLER": "platform.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

# The OpenAPI schema of the REST API, served at /api/schema/ with a docs page at /api/docs/.
SPECTACULAR_SETTINGS = {
    "TITLE": "HTTP devices API",
    "DESCRIPTION": "Devices, buckets, endpoints, applications and alarms; guides in the repository's docs/.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Three different "state" fields (delivery, connection, downlink) would collide as one enum name.
    "ENUM_NAME_OVERRIDES": {
        "DeliveryStateEnum": "endpoints.models.Delivery.STATES",
        "ConnectionStateEnum": "endpoints.models.Connection.STATES",
        "DownlinkStateEnum": ["queued", "delivered"],
        "AlarmStateEnum": "alarms.models.Alarm.STATES",
        "SeverityEnum": "alarms.models.SEVERITIES",
        # Each "type" below is used by two components (what a request gives, what the API answers).
        "DeviceTypeEnum": ["HTTP"],
        "WidgetTypeEnum": "dashboards.widgets.TYPES",
    },
    # Adds the callback and downlink routes (plain views) and the answers every operation can give.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "platform.schema.complete_schema"],
}

# Celery. The embedded default is kombu's SQLAlchemy transport on a SQLite file under var/: a
# real broker, no server (platform/broker.py says why not the filesystem transport).
EMBEDDED_BROKER_PATH = VAR_DIR / "broker.sqlite3"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "embedded://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
if CELERY_BROKER_URL == "embedded://":
    CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = embedded_broker(EMBEDDED_BROKER_PATH)
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Without socket timeouts a Redis that hangs (accepts, never answers) hangs every publish,
    # and so every callback, for as long as it hangs; with them a publish fails within seconds
    # and the beat redrive picks the committed message up (tests/e2e/test_faults_ingest.py).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 1, "socket_connect_timeout": 1}
    # kombu's Redis transport, mended so that a failed ack cannot stop a worker taking tasks.
    CELERY_BROKER_TRANSPORT = "platform.broker:RedisTransport"
    if CELERY_BROKER_URL.startswith("rediss://"):
        # kombu turns TLS on from the scheme only for its own transport name, and then without
        # checking the server's certificate; this checks it, as the cache's client does.
        CELERY_BROKER_USE_SSL = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Seconds a worker may take no task while its queues hold messages and it has room, before it
# shuts down for its supervisor to restart it (platform/watchdog.py); 0 = never.
WORKER_STALL_SECONDS = env_int("WORKER_STALL_SECONDS", 120, minimum=0)

# The device callback.
DEVICE_CALLBACK_MAX_BYTES = env_int("DEVICE_CALLBACK_MAX_BYTES", 65536, minimum=1)
# Seconds a request body may take to arrive before the answer is 408 (platform/deadline.py).
REQUEST_BODY_TIMEOUT = env_int("REQUEST_BODY_TIMEOUT", 10, minimum=1)
DEVICE_RATE_LIMIT = env_int("DEVICE_RATE_LIMIT", 600, minimum=0)  # callbacks per device per minute, 0 = off
INGEST_BATCH_SIZE = env_int("INGEST_BATCH_SIZE", 500, minimum=1)
# Milliseconds the next claim waits after a batch that was not full (devices/ingest.py _linger).
INGEST_LINGER_MS = env_int("INGEST_LINGER_MS", 100, minimum=0)
# At most one ingest wake-up in flight (needs the Redis cache; devices/accept.py ingest_wake).
INGEST_WAKE_DEBOUNCE = env_bool("INGEST_WAKE_DEBOUNCE", True)

# E-mail (alarm notifications), from one URL: console:// (default: printed by the worker, e.g.
# under `make run`), smtp://user:password@host:port, smtp+tls:// (STARTTLS), smtp+ssl:// (TLS from
# the start), locmem:// (kept in memory) or dummy:// (dropped). EMAIL_FROM is the sender.
def _email(url):
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    simple = {"console": "console", "locmem": "locmem", "dummy": "dummy"}
    if scheme in simple:
        return {"EMAIL_BACKEND": f"django.core.mail.backends.{simple[scheme]}.EmailBackend"}
    if scheme not in ("smtp", "smtp+tls", "smtp+ssl") or not parts.hostname:
        raise ImproperlyConfigured(f"EMAIL_URL={url!r}: use console://, smtp://user:password@host:port, "
                                   "smtp+tls://..., smtp+ssl://..., locmem:// or dummy://.")
    try:
        port = parts.port or (465 if scheme == "smtp+ssl" else 587 if scheme == "smtp+tls" else 25)
    except ValueError:
        raise ImproperlyConfigured(f"EMAIL_URL: bad port in {url!r}.") from None
    return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": parts.hostname,
            "EMAIL_PORT": port, "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""), "EMAIL_USE_TLS": scheme == "smtp+tls",
            "EMAIL_USE_SSL": scheme == "smtp+ssl"}


EMAIL_URL = env_str("EMAIL_URL", "console://")
globals().update(_email(EMAIL_URL))
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("EMAIL_FROM", "alarms@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Outbound HTTP.
ENDPOINTS_ALLOW_PRIVATE_IPS = env_bool("ENDPOINTS_ALLOW_PRIVATE_IPS", False)
# Seconds to wait before each retry of a failed delivery; empty = the default schedule in
# endpoints/delivery.py (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about a day).
ENDPOINTS_RETRY_SCHEDULE = env_int_list("ENDPOINTS_RETRY_SCHEDULE", minimum=0) or None
# Days delivered and failed deliveries stay in the log (0 = forever); pending ones are always kept.
ENDPOINTS_LOG_RETENTION_DAYS = env_int("ENDPOINTS_LOG_RETENTION_DAYS", 30, minimum=0)
# The delivery engine (endpoints/sender/). Lanes (one device to one target) are hashed into
# DELIVERY_PARTITIONS partitions, shared out among the running senders; change it only with every
# worker stopped. DELIVERY_MAX_IN_FLIGHT is the default per target (an endpoint or application can
# set its own); DELIVERY_MAX_SENDERS caps the senders a busy one starts (set it to the number of
# worker processes serving the deliveries queue); a sender hands over after DELIVERY_SENDER_SECONDS.
DELIVERY_PARTITIONS = env_int("DELIVERY_PARTITIONS", 16, minimum=1)
DELIVERY_MAX_IN_FLIGHT = env_int("DELIVERY_MAX_IN_FLIGHT", 64, minimum=1)
DELIVERY_MAX_SENDERS = env_int("DELIVERY_MAX_SENDERS", 2, minimum=1)
DELIVERY_SENDER_SECONDS = env_int("DELIVERY_SENDER_SECONDS", 60, minimum=1)
# Ingest: inbox messages are hashed by device into this many partitions; batches of one
# partition run one at a time (so each device's messages are stored and forwarded in order),
# different partitions in parallel on as many worker processes as there are.
INGEST_PARTITIONS = env_int("INGEST_PARTITIONS", 16, minimum=1)

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Secrets in URLs (downlink URLs, ?authorization=) are rewritten: on the loggers that log
    # request paths, so every handler gets the clean record, and on our handler for the rest.
    "filters": {"redact_secrets": {"()": "platform.logfilters.RedactSecrets"},
                "client_errors_brief": {"()": "platform.logfilters.ClientErrorsBrief"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"},
                "django.request": {"filters": ["redact_secrets", "client_errors_brief"]},
                "django.security.DisallowedHost": {"filters": ["client_errors_brief"]},
                "django.server": {"filters": ["redact_secrets"]}},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)

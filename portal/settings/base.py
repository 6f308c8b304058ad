"""Settings shared by every environment. Deploy-time values come from the environment via ``env``."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-key-do-not-use-in-production-3f9a1c7e5b")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Which part of the site this process serves: "all" (pages and sockets: make run, the tests), "web"
# (pages only) or "signaling" (WebSockets only, plus its health probes); see portal/roles.py and
# README "Scaling out". The proxy routes /ws/ to the signaling pool and everything else to the web pool.
PROCESS_ROLE = env_str("PROCESS_ROLE", "all")
if PROCESS_ROLE not in ("all", "web", "signaling"):
    raise ImproperlyConfigured(f'PROCESS_ROLE must be "all", "web" or "signaling", not {PROCESS_ROLE!r}.')
# Only bench/http_load.py turns this on: it adds the trivial reference view at /bench/trivial/.
BENCHMARK_ENDPOINTS = env_bool("BENCHMARK_ENDPOINTS", False)
# The public base URL: every absolute link (emails, .ics files, sitemap, robots.txt, canonical URLs) and
# both site records (Django's and Wagtail's, portal/sites.py) come from it. dev derives it from HOST/PORT.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "portal.apps.PortalConfig",  # after every migrate, the site records follow SITE_URL (portal/sites.py)
    "django.contrib.postgres",
    "django.contrib.humanize",
    "portal.accounts",
    "mentoring",
    "cms_pages",
    "signaling",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "csp",
    "wagtail.contrib.sitemaps",
    "django.contrib.sitemaps",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "channels",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "portal.health.health_middleware",  # first: probes by IP address must not meet ALLOWED_HOSTS
    # Before anything reads the client's address or the scheme: forwarded headers count only when
    # they come from one of TRUSTED_PROXY_IPS (portal/proxies.py).
    "portal.proxies.ForwardedHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.csp.SiteCSPMiddleware",
    # Before anything reads the session or routes a page: NUL in any input is a 400, not a DataError.
    "portal.middleware.UnstorableInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Above the page cache: a page served from the cache is framed out like a rendered one.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cms_pages.page_cache.AnonymousPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.accounts.middleware.UserTimezoneMiddleware",
    "portal.accounts.middleware.StaffMFAMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "cms_pages.editor_time_zone.EditorTimeZoneMiddleware",  # Wagtail's admin in the editor's own zone
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"
SITE_ID = 1
# Django's default storage, remembering what each request added: a repeated form shows it again (portal/once.py).
MESSAGE_STORAGE = "portal.once.MessageStorage"

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
                "wagtail.contrib.settings.context_processors.settings",
                "mentoring.context_processors.notifications",
            ],
            # {% once_field %}: the one-time token every state-changing form carries (portal/once.py).
            "builtins": ["portal.templatetags.once"],
        },
    },
]

# ---------------------------------------------------------------------------- data
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", True):
    # A psycopg connection pool instead of one new PostgreSQL connection per request.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DB_POOL_MIN_SIZE", 1),
        "max_size": env_int("DB_POOL_MAX_SIZE", 10),
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded database serves a small site honestly. IMMEDIATE transactions take the write lock
    # when they begin, so writers wait for each other (up to the busy timeout) instead of failing with
    # "database is locked", and a check-then-write inside one transaction (seats left, overlapping
    # sessions) is as exact as PostgreSQL's row locks and constraints make it. WAL lets pages read
    # while someone writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env_int("SQLITE_BUSY_TIMEOUT_SECONDS", 20),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
CHANNEL_LAYER_PREFIX = env_str("CHANNEL_LAYER_PREFIX", "peerlearn")


# Which Redis channel layer carries signaling between processes: "core" (RedisChannelLayer, lists
# plus sorted-set groups) or "pubsub" (RedisPubSubChannelLayer). README "Scaling out" says which
# one was measured faster here and why it is the default.
CHANNEL_LAYER = env_str("CHANNEL_LAYER", "pubsub")
# Group memberships expire this long after their last refresh; live consumers refresh theirs every
# CHANNEL_GROUP_REFRESH_SECONDS, so a killed process's memberships vanish on their own.
CHANNEL_GROUP_EXPIRY = env_int("CHANNEL_GROUP_EXPIRY", 60)
CHANNEL_GROUP_REFRESH_SECONDS = env_int("CHANNEL_GROUP_REFRESH_SECONDS", 10)


def channel_layers_for(redis_url: str | None, prefix: str = CHANNEL_LAYER_PREFIX, kind: str = CHANNEL_LAYER) -> dict:
    """Redis channel layer when a Redis URL is given, else the in-process one (single process only)."""
    if not redis_url:
        return {
            "default": {
                "BACKEND": "channels.layers.InMemoryChannelLayer",
                "CONFIG": {"group_expiry": CHANNEL_GROUP_EXPIRY},
            }
        }
    # redis-py 8 times socket reads out after 5 s by default, exactly when channels-redis's
    # 5 s blocking pop returns empty: the consumer then dies with TimeoutError. Wait longer.
    # A pooled connection idle for 2 s is checked (PING) before use, so after a Redis restart no
    # consumer blocks on a connection to the old server. The layer's connections carry a name, so
    # Redis's CLIENT LIST tells them from the cache's (bench/socket_baseline.py counts them apart).
    host = {
        "address": redis_url,
        "socket_timeout": 30,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "health_check_interval": 2,
        "client_name": f"{prefix}-channels",
    }
    if kind == "pubsub":
        return {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [host], "prefix": prefix},
            }
        }
    if kind != "core":
        raise ImproperlyConfigured(f'CHANNEL_LAYER must be "core" or "pubsub", not {kind!r}.')
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [host],
                "prefix": prefix,
                "capacity": 1000,
                "expiry": 60,
                "group_expiry": CHANNEL_GROUP_EXPIRY,
            },
        }
    }


CHANNEL_LAYERS = channel_layers_for(REDIS_URL)

# One connection pool per process, not one per request or socket (portal/redis_pool.py).
REDIS_CACHE_OPTIONS = {"pool_class": "portal.redis_pool.SharedConnectionPool"}
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "peerlearn",
            "OPTIONS": REDIS_CACHE_OPTIONS,
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}


def page_cache_for(redis_url: str, prefix: str = "peerlearn-pages") -> dict:
    """The anonymous page cache (cms_pages/page_cache.py), shared by every process (Daphne,
    run_periodic, any manage.py command): a publish anywhere clears it everywhere. Redis when there
    is one, else files under var/ (`make run` stays zero-setup)."""
    if redis_url:
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
            "OPTIONS": REDIS_CACHE_OPTIONS,
            # Entries name their own lifetime; the version number (set again by incr) has none.
            "TIMEOUT": None,
        }
    return {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": BASE_DIR / "var" / "page-cache",
        "TIMEOUT": None,
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }


CACHES["pages"] = page_cache_for(REDIS_URL)

# Sessions are read from the cache and written through to the database (Redis when configured).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Anonymous visitors get Wagtail pages from the cache; publishing anything clears it.
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 300)

# ---------------------------------------------------------------------------- accounts
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/dashboard/"

ACCOUNT_ADAPTER = "portal.accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"signup": "portal.accounts.forms.SignupForm"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "optional")
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, stated here so the documented limits live in one place.
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[PeerLearn] "
# Tell people by email when their password, email addresses or two-factor settings change.
ACCOUNT_EMAIL_NOTIFICATIONS = True

# Two-factor authentication (allauth.mfa): an authenticator app (TOTP) plus recovery codes, for
# everyone at /accounts/2fa/. Accounts that can enter /admin/ or /cms/ must set it up first unless
# MFA_REQUIRED_FOR_STAFF is off (it is off in dev and test settings, on in production). A wrong code
# counts against the same "login_failed" limit as a wrong password.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "PeerLearn"
MFA_TOTP_TOLERANCE = 1  # accept the previous and next 30-second code: phone clocks drift
MFA_REQUIRED_FOR_STAFF = env_bool("MFA_REQUIRED_FOR_STAFF", True)
MFA_SETUP_URL = "/accounts/2fa/totp/activate/"
ADMIN_PATH_PREFIXES = ("/cms/", "/admin/")

# ---------------------------------------------------------------------------- mentoring
# A session's room opens this many minutes before its start and closes at its end.
JOIN_WINDOW_MINUTES = env_int("JOIN_WINDOW_MINUTES", 10)

# A person can file this many reports (about a session, a call or a mentor) per hour.
REPORTS_PER_HOUR = env_int("REPORTS_PER_HOUR", 10)

# A learner's 1:1 request the mentor has not answered within this many hours expires (and any request
# expires an hour before its start), freeing the slot it held.
REQUEST_EXPIRY_HOURS = env_int("REQUEST_EXPIRY_HOURS", 48)

# A learner giving up a seat, or a mentor cancelling a session, less than this many hours before the
# start is a late cancellation: the person is told so, and it shows to staff and in the mentor's stats.
LATE_CANCEL_HOURS = env_int("LATE_CANCEL_HOURS", 24)

# ---------------------------------------------------------------------------- recommendations
# Trained LightFM artifacts (one file per version plus its metadata JSON); pages fall back to
# popularity and interest match while there is none.
RECOMMENDER_DIR = Path(env_str("RECOMMENDER_DIR", str(BASE_DIR / "var" / "recommender")))
# run_periodic queues a retraining (mentoring/tasks.py) when the latest model is older than this.
RECOMMENDER_RETRAIN_HOURS = env_int("RECOMMENDER_RETRAIN_HOURS", 24)
# Sessions starting later than this many days from now are never recommended.
RECOMMENDER_HORIZON_DAYS = env_int("RECOMMENDER_HORIZON_DAYS", 60)

# ---------------------------------------------------------------------------- background tasks
# "default": Wagtail's own small tasks (reference index, file deletion) run at once, in the request,
# as they always have. "background": our slow ones (retraining the recommender) wait in the database
# for `manage.py run_worker` (make run starts one; production runs the `worker` service).
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    "background": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}

# ---------------------------------------------------------------------------- calls (WebRTC)
# ICE servers handed to call participants. With none configured, calls use host candidates only
# (fine on one machine or LAN). TURN credentials follow the TURN REST convention (coturn
# use-auth-secret): username "<expiry>:<user id>", password base64(HMAC-SHA1(secret, username)).
STUN_URLS = env_list("STUN_URLS")
TURN_URLS = env_list("TURN_URLS")
TURN_SECRET = env_str("TURN_SECRET", "")
TURN_CREDENTIAL_TTL = env_int("TURN_CREDENTIAL_TTL", 3600)
# Tests only: force relay-only ICE ("relay") to prove calls work through TURN.
ICE_TRANSPORT_POLICY = env_str("ICE_TRANSPORT_POLICY", "all")
# On SIGTERM a Daphne process fails readiness for this long before it closes its sockets (4012,
# "reconnect") and exits; give the load balancer time to notice (portal/shutdown.py).
SHUTDOWN_DRAIN_SECONDS = env_int("SHUTDOWN_DRAIN_SECONDS", 5)
# Daphne cuts off a WebSocket that sends more frames than this (close 4029) before they reach the
# application; far above what a call page sends (see signaling/transport.py).
WS_FRAMES_PER_SECOND = env_int("WS_FRAMES_PER_SECOND", 100)
WS_FRAME_BURST = env_int("WS_FRAME_BURST", 300)
# Call clients send a heartbeat this often; a participant not heard from for
# CALL_PRESENCE_TIMEOUT_SECONDS leaves the room (a killed server cannot announce it).
CALL_HEARTBEAT_SECONDS = env_int("CALL_HEARTBEAT_SECONDS", 10)
CALL_PRESENCE_TIMEOUT_SECONDS = env_int("CALL_PRESENCE_TIMEOUT_SECONDS", 30)
# How often each call client summarises getStats() and sends it (the call quality record).
CALL_STATS_SECONDS = env_int("CALL_STATS_SECONDS", 15)

# ---------------------------------------------------------------------------- i18n
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------- files
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# ---------------------------------------------------------------------------- email
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "PeerLearn <no-reply@peerlearn.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# ---------------------------------------------------------------------------- wagtail
# Form pages (cms_pages/forms.py): a send faster than this is a bot's; sends per client address per hour.
FORM_MIN_FILL_SECONDS = env_int("FORM_MIN_FILL_SECONDS", 3)
FORM_SUBMISSIONS_PER_HOUR = env_int("FORM_SUBMISSIONS_PER_HOUR", 5)
WAGTAIL_SITE_NAME = "PeerLearn"
WAGTAILADMIN_BASE_URL = SITE_URL
# Each editor's admin runs in the time zone of their site profile (cms_pages/editor_time_zone.py);
# Wagtail's own choice of zone is hidden so there is only one.
WAGTAIL_USER_TIME_ZONES: list[str] = []
WAGTAILADMIN_LOGIN_URL = "/cms/login/"  # leads to the site's one login form (portal/urls.py)
WAGTAIL_FRONTEND_LOGIN_URL = "/accounts/login/"
# Passwords are changed and reset only through the site's account pages (rate limits, socket revocation).
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAILUSERS_PASSWORD_ENABLED = False  # Wagtail's user admin sets no passwords either
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 5 * 1024 * 1024
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAILDOCS_EXTENSIONS = ["pdf", "txt", "md", "csv", "docx", "xlsx", "pptx", "odt"]

# ---------------------------------------------------------------------------- security
# Content Security Policy (django-csp). The site's pages carry no inline script or style; the admins'
# own pages get inline allowances (portal/csp.py). 'self' in connect-src covers same-origin ws:/wss:.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
CSP_ADMIN_PREFIXES = ADMIN_PATH_PREFIXES
WAGTAIL_GRAVATAR_PROVIDER_URL = None  # no avatar requests to a third party from the admin
CSP_ADMIN_ADDITIONS = {
    "script-src": ["'unsafe-inline'", "'unsafe-eval'"],
    "style-src": ["'unsafe-inline'"],
}
CSP_ADMIN_REPLACEMENTS = {"frame-ancestors": ["'self'"]}  # Wagtail's live preview frames its own pages
CSP_PREVIEW_REPLACEMENTS = {"frame-ancestors": ["'self'"]}  # a preview's page response, framed by the admin
X_FRAME_OPTIONS = "DENY"  # Wagtail marks its own preview views SAMEORIGIN.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A form from a stale tab (signed in or out elsewhere) gets its page afresh, not a bare 403 (portal/views.py).
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
# X-Forwarded-For / X-Forwarded-Proto are believed only with BEHIND_PROXY and only from a direct peer
# in TRUSTED_PROXY_IPS (comma-separated IPs or CIDRs); everyone else is known by the address they
# connect from. The default covers a proxy on this host or a private network (docker-compose's nginx).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
TRUSTED_PROXY_IPS = (
    env_list("TRUSTED_PROXY_IPS", ["127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"])
    if BEHIND_PROXY
    else []
)
for _proxy in TRUSTED_PROXY_IPS:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"TRUSTED_PROXY_IPS: {_proxy!r} is not an IP address or network (CIDR).") from None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "portal.logging.JsonFormatter"},
    },
    # LOG_FORMAT: "plain" (dev, test) or "json" (production's default: one JSON object per line).
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": env_str("LOG_FORMAT", "plain"),
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
    },
}

# ---------------------------------------------------------------------------- request bodies
# A request whose body is larger gets 413 before anything reads, spools or parses it (under Daphne
# the rest is discarded as it arrives; see portal/request_limits.py). Covers uploads in /cms/ too.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 10 * 1024 * 1024)

"""Test settings: the real PostgreSQL and Redis on this machine unless DATABASE_URL / REDIS_URL say otherwise."""

import hashlib
import os

import dj_database_url

from .base import *  # noqa: F403
from .base import channel_layers_for, page_cache_for
from .env import env_bool, env_int, env_str

DEBUG = False
# Each checkout gets its own test database and channel-layer prefix, so two checkouts (a developer's
# and CI's, or two branches) can run `make test` at once on the same PostgreSQL and Redis. Servers
# the suite starts inherit the name through the environment.
CHECKOUT = env_str("PEERLEARN_CHECKOUT", hashlib.sha1(str(BASE_DIR).encode()).hexdigest()[:8])  # noqa: F405, S324
os.environ.setdefault("PEERLEARN_CHECKOUT", CHECKOUT)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/peerlearn_{CHECKOUT}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {
        # Idle connections above min_size close after 30 s (psycopg's default is 10 minutes): a race test's
        # 30 connections would otherwise stay open on each worker, and beside the servers the suite starts
        # they reached PostgreSQL's 100 clients on a slow machine ("sorry, too many clients already").
        "pool": {"min_size": 1, "max_size": 30, "timeout": 20, "max_idle": 30},
        # A test that leaves a lock or a transaction behind fails loudly instead of stalling the suite.
        "options": "-c lock_timeout=15000 -c idle_in_transaction_session_timeout=60000",
    }
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Under pytest-xdist each worker is a checkout of its own: pytest-django gives it its own database
# (suffix _gw0, _gw1...), and here its own channel-layer prefix; servers it starts inherit the name.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
CHANNEL_LAYERS = channel_layers_for(REDIS_URL, env_str("CHANNEL_LAYER_PREFIX", f"peerlearn-test-{CHECKOUT}{WORKER}"))
# The cache stays in-process so allauth's rate limits can be reset between tests.
# The page cache is the real shared one: a publish in another process (a server the suite starts, a
# manage.py command) must clear what this one serves.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "pages": page_cache_for(REDIS_URL, f"peerlearn-test-{CHECKOUT}{WORKER}-pages"),  # per worker too
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if env_str("EMAIL_FILE_PATH", ""):  # a server the suite starts: its emails, one file each, for the test to count
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", "")
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405

# Static files come from the source folders through WhiteNoise's finders; nothing is collected.
STATIC_ROOT = None
RECOMMENDER_DIR = BASE_DIR / "var" / "test-recommender"  # noqa: F405 - tests that train point it at tmp_path
# Tests that log staff in by force turn it on where it is the point (portal/accounts/tests/test_mfa.py).
MFA_REQUIRED_FOR_STAFF = env_bool("MFA_REQUIRED_FOR_STAFF", False)

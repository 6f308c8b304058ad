"""Local development: SQLite and the in-memory channel layer unless DATABASE_URL / REDIS_URL say otherwise."""

from .base import *  # noqa: F403
from .env import env_bool

DEBUG = env_bool("DEBUG", True)
# Serve static files straight from the source folders; no collectstatic needed for `make run`.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Static files come from the source folders through WhiteNoise's finders; nothing is collected.
STATIC_ROOT = None

# Demo editor and admin accounts work without an authenticator app on a laptop (production: required).
MFA_REQUIRED_FOR_STAFF = env_bool("MFA_REQUIRED_FOR_STAFF", False)

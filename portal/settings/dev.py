"""Local development: SQLite and the in-memory channel layer unless DATABASE_URL / REDIS_URL say otherwise."""

from .base import *  # noqa: F403
from .env import env_bool, env_int, env_str

DEBUG = env_bool("DEBUG", True)


def _browsable(host: str) -> str:
    """Where a browser on this machine reaches a server bound to ``host`` (0.0.0.0 binds every address)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"[{host}]" if ":" in host else host


# `make run HOST=... PORT=...` serves there, so emails, .ics files, canonical URLs, the sitemap and
# robots.txt point there too, unless SITE_URL says otherwise.
SITE_URL = (env_str("SITE_URL") or f"http://{_browsable(env_str('HOST', '127.0.0.1'))}:{env_int('PORT', 8000)}").rstrip(
    "/"
)
WAGTAILADMIN_BASE_URL = SITE_URL

# DEBUG shows tracebacks of 500s on a laptop, but a wrong link gets the site's own 404 page, as in
# production, never Django's list of every URL (portal/dev_errors.py).
if DEBUG:
    MIDDLEWARE = [*MIDDLEWARE, "portal.dev_errors.SiteNotFoundPageMiddleware"]  # noqa: F405

# Serve static files straight from the source folders; no collectstatic needed for `make run`.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Static files come from the source folders through WhiteNoise's finders; nothing is collected.
STATIC_ROOT = None

# Demo editor and admin accounts work without an authenticator app on a laptop (production: required).
MFA_REQUIRED_FOR_STAFF = env_bool("MFA_REQUIRED_FOR_STAFF", False)

"""Production: refuses to start without a real SECRET_KEY and a Redis for the channel layer."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .env import env_bool, env_int, env_str

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY or len(SECRET_KEY) < 50 or SECRET_KEY.startswith("dev-insecure"):
    raise ImproperlyConfigured(
        "DJANGO_ENV=production needs SECRET_KEY: a random value of at least 50 characters "
        "(for example: python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    )
REDIS_URL = env_str("REDIS_URL")
if not REDIS_URL:
    raise ImproperlyConfigured("DJANGO_ENV=production needs REDIS_URL (the channel layer and cache live in Redis).")

DEBUG = False
CHANNEL_LAYERS = channel_layers_for(REDIS_URL)  # noqa: F405
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "peerlearn",
        "OPTIONS": REDIS_CACHE_OPTIONS,  # noqa: F405
    },
    "pages": page_cache_for(REDIS_URL),  # noqa: F405
}
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
# Real mail by default: a verification email printed to a log reaches nobody.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^health/"]  # load balancers probe over plain HTTP inside the network
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if BEHIND_PROXY:  # noqa: F405
    # Read only when the request came from one of TRUSTED_PROXY_IPS: portal/proxies.py removes the header
    # otherwise, and puts the client's address in REMOTE_ADDR, which is what allauth's rate limits read.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Structured logs to stdout unless LOG_FORMAT says otherwise.
LOGGING["handlers"]["console"]["formatter"] = env_str("LOG_FORMAT", "json")  # noqa: F405

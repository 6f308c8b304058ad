"""ICE servers for WebRTC calls, with short-lived TURN credentials.

TURN credentials follow the TURN REST API convention that coturn checks with ``use-auth-secret``:
the username is ``"<expiry unix time>:<user id>"`` and the password is
``base64(HMAC-SHA1(shared secret, username))``. coturn recomputes the password from the username
and its own copy of the secret and rejects the username once its expiry has passed, so nothing is
stored and no static TURN password ever reaches a browser.

This module only builds credentials; callers decide who gets them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time

from django.conf import settings

logger = logging.getLogger(__name__)

# TURN_URLS set without TURN_SECRET is a deployment mistake; it is logged once per process.
_warned_missing_secret = False


def turn_credentials(*, user_id: int, secret: str, ttl: int, now: float | None = None) -> tuple[str, str]:
    """``(username, password)`` valid until ``int(now) + ttl`` for coturn's ``use-auth-secret``."""
    if not secret:
        raise ValueError("a TURN shared secret is required")
    if ttl <= 0:
        raise ValueError("the TURN credential TTL must be positive")
    expiry = int(time.time() if now is None else now) + int(ttl)
    username = f"{expiry}:{int(user_id)}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_servers_for(*, user_id: int, now: float | None = None, ttl: int | None = None, turn: bool = True) -> list[dict]:
    """The ``RTCIceServer`` list for one user's browser, from the STUN/TURN settings.

    TURN credentials last ``ttl`` seconds (default ``TURN_CREDENTIAL_TTL``); ``turn=False`` leaves
    the relays out (STUN only). Empty when nothing is configured (host candidates only).
    """
    global _warned_missing_secret
    servers: list[dict] = []
    stun_urls = list(getattr(settings, "STUN_URLS", None) or [])
    turn_urls = list(getattr(settings, "TURN_URLS", None) or [])
    secret = getattr(settings, "TURN_SECRET", "") or ""
    if stun_urls:
        servers.append({"urls": stun_urls})
    if turn_urls and turn:
        if secret:
            username, credential = turn_credentials(
                user_id=user_id, secret=secret, ttl=settings.TURN_CREDENTIAL_TTL if ttl is None else ttl, now=now
            )
            servers.append({"urls": turn_urls, "username": username, "credential": credential})
        elif not _warned_missing_secret:
            _warned_missing_secret = True
            logger.warning("TURN_URLS is set but TURN_SECRET is empty: TURN servers are left out of ICE config")
    return servers

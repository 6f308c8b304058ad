"""What an authenticator app does (RFC 6238, SHA-1, 6 digits, 30 s): written here from the RFC, not
borrowed from allauth, so the tests check allauth's side against an independent one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time


def totp(secret: str, *, step_offset: int = 0, at: float | None = None) -> str:
    counter = int((at if at is not None else time.time()) // 30) + step_offset
    digest = hmac.new(
        base64.b32decode(secret.upper() + "=" * (-len(secret) % 8)), struct.pack(">Q", counter), hashlib.sha1
    ).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"

"""A minimal STUN (RFC 5389) / TURN (RFC 5766) client over UDP, for tests. Standard library only.

``stun_binding`` asks for the reflexive address; ``turn_allocate`` does the long-term credential
dance (unauthenticated Allocate -> 401 with REALM and NONCE -> authenticated Allocate) and returns
the relayed address or the error; ``turn_create_permission`` installs a permission for a peer on
that allocation (coturn answers 403 for peers it denies with ``denied-peer-ip``).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass, field

MAGIC_COOKIE = 0x2112A442
FINGERPRINT_XOR = 0x5354554E

# Methods and classes.
BINDING = 0x001
ALLOCATE = 0x003
REFRESH = 0x004
CREATE_PERMISSION = 0x008

# Attributes.
ATTR_MAPPED_ADDRESS = 0x0001
ATTR_USERNAME = 0x0006
ATTR_MESSAGE_INTEGRITY = 0x0008
ATTR_ERROR_CODE = 0x0009
ATTR_LIFETIME = 0x000D
ATTR_XOR_PEER_ADDRESS = 0x0012
ATTR_REALM = 0x0014
ATTR_NONCE = 0x0015
ATTR_XOR_RELAYED_ADDRESS = 0x0016
ATTR_REQUESTED_TRANSPORT = 0x0019
ATTR_XOR_MAPPED_ADDRESS = 0x0020
ATTR_SOFTWARE = 0x8022
ATTR_FINGERPRINT = 0x8028

TRANSPORT_UDP = 17


class StunError(Exception):
    """No (valid) answer from the server."""


@dataclass
class StunMessage:
    method: int
    cls: int  # 0 request, 1 indication, 2 success, 3 error
    transaction_id: bytes
    attributes: list[tuple[int, bytes]] = field(default_factory=list)

    def get(self, attr_type: int) -> bytes | None:
        for kind, value in self.attributes:
            if kind == attr_type:
                return value
        return None


@dataclass
class AllocateResult:
    ok: bool
    relayed: tuple[str, int] | None = None
    mapped: tuple[str, int] | None = None
    lifetime: int | None = None
    error_code: int | None = None
    reason: str = ""
    realm: str | None = None
    nonce: bytes | None = None
    # The authenticated socket and credentials, so a caller can go on (permissions, refresh).
    sock: socket.socket | None = None
    server: tuple[str, int] | None = None
    username: str | None = None
    key: bytes | None = None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


# --------------------------------------------------------------------------- encoding
def _message_type(method: int, cls: int) -> int:
    # The two class bits are interleaved with the 12 method bits (RFC 5389 section 6).
    return (
        (method & 0x000F)
        | ((method & 0x0070) << 1)
        | ((method & 0x0F80) << 2)
        | ((cls & 0x1) << 4)
        | ((cls & 0x2) << 7)
    )


def _split_type(message_type: int) -> tuple[int, int]:
    method = (message_type & 0x000F) | ((message_type & 0x00E0) >> 1) | ((message_type & 0x3E00) >> 2)
    cls = ((message_type >> 4) & 0x1) | ((message_type >> 7) & 0x2)
    return method, cls


def _pad(value: bytes) -> bytes:
    return value + b"\x00" * (-len(value) % 4)


def _attr(attr_type: int, value: bytes) -> bytes:
    return struct.pack("!HH", attr_type, len(value)) + _pad(value)


def long_term_key(username: str, realm: str, password: str) -> bytes:
    """RFC 5389 long-term credential key: MD5(username ":" realm ":" password)."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode(), usedforsecurity=False).digest()


def encode(
    method: int,
    cls: int,
    transaction_id: bytes,
    attributes: list[tuple[int, bytes]],
    *,
    key: bytes | None = None,
    fingerprint: bool = True,
) -> bytes:
    body = b"".join(_attr(kind, value) for kind, value in attributes)
    message_type = _message_type(method, cls)
    if key is not None:
        # The length in the header covers MESSAGE-INTEGRITY (24 bytes) but not FINGERPRINT.
        header = struct.pack("!HHI", message_type, len(body) + 24, MAGIC_COOKIE) + transaction_id
        mac = hmac.new(key, header + body, hashlib.sha1).digest()
        body += _attr(ATTR_MESSAGE_INTEGRITY, mac)
    if fingerprint:
        header = struct.pack("!HHI", message_type, len(body) + 8, MAGIC_COOKIE) + transaction_id
        crc = (binascii.crc32(header + body) & 0xFFFFFFFF) ^ FINGERPRINT_XOR
        body += _attr(ATTR_FINGERPRINT, struct.pack("!I", crc))
    return struct.pack("!HHI", message_type, len(body), MAGIC_COOKIE) + transaction_id + body


def decode(data: bytes) -> StunMessage:
    if len(data) < 20:
        raise StunError("short STUN message")
    message_type, length, cookie = struct.unpack("!HHI", data[:8])
    if cookie != MAGIC_COOKIE or message_type & 0xC000 or len(data) < 20 + length:
        raise StunError("not a STUN message")
    method, cls = _split_type(message_type)
    message = StunMessage(method=method, cls=cls, transaction_id=data[8:20])
    offset = 20
    end = 20 + length
    while offset + 4 <= end:
        kind, size = struct.unpack("!HH", data[offset : offset + 4])
        message.attributes.append((kind, data[offset + 4 : offset + 4 + size]))
        offset += 4 + size + (-size % 4)
    return message


def _xor_address(value: bytes, transaction_id: bytes) -> tuple[str, int]:
    family = value[1]
    port = struct.unpack("!H", value[2:4])[0] ^ (MAGIC_COOKIE >> 16)
    if family == 0x01:
        raw = struct.unpack("!I", value[4:8])[0] ^ MAGIC_COOKIE
        return str(ipaddress.IPv4Address(raw)), port
    mask = struct.pack("!I", MAGIC_COOKIE) + transaction_id
    raw6 = bytes(a ^ b for a, b in zip(value[4:20], mask, strict=True))
    return str(ipaddress.IPv6Address(raw6)), port


def _encode_xor_address(host: str, port: int, transaction_id: bytes) -> bytes:
    address = ipaddress.ip_address(host)
    xport = port ^ (MAGIC_COOKIE >> 16)
    if address.version == 4:
        return struct.pack("!BBHI", 0, 0x01, xport, int(address) ^ MAGIC_COOKIE)
    mask = struct.pack("!I", MAGIC_COOKIE) + transaction_id
    return struct.pack("!BBH", 0, 0x02, xport) + bytes(a ^ b for a, b in zip(address.packed, mask, strict=True))


def _error(message: StunMessage) -> tuple[int, str]:
    value = message.get(ATTR_ERROR_CODE)
    if value is None or len(value) < 4:
        return 0, ""
    return (value[2] & 0x07) * 100 + value[3], value[4:].decode("utf-8", "replace")


# --------------------------------------------------------------------------- transport
def _transact(
    sock: socket.socket, server: tuple[str, int], packet: bytes, transaction_id: bytes, timeout: float
) -> StunMessage:
    """Send and wait for the answer with the same transaction id, retransmitting a few times."""
    attempts = 4
    for attempt in range(attempts):
        sock.settimeout(timeout / attempts * (1 + attempt) / 2.5)
        sock.sendto(packet, server)
        try:
            while True:
                data, _ = sock.recvfrom(4096)
                try:
                    message = decode(data)
                except StunError:
                    continue
                if message.transaction_id == transaction_id:
                    return message
        except TimeoutError:
            continue
    raise StunError(f"no STUN answer from {server[0]}:{server[1]}")


def stun_binding(host: str, port: int, timeout: float = 1.0) -> tuple[str, int]:
    """The XOR-MAPPED-ADDRESS the server sees for us."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        transaction_id = os.urandom(12)
        answer = _transact(sock, (host, port), encode(BINDING, 0, transaction_id, []), transaction_id, timeout)
    if answer.cls != 2:
        code, reason = _error(answer)
        raise StunError(f"binding failed: {code} {reason}")
    value = answer.get(ATTR_XOR_MAPPED_ADDRESS)
    if value is None:
        raise StunError("binding answer without XOR-MAPPED-ADDRESS")
    return _xor_address(value, answer.transaction_id)


def turn_allocate(
    host: str, port: int, username: str, password: str, realm: str | None = None, timeout: float = 2.0
) -> AllocateResult:
    """Allocate a UDP relay with long-term credentials. The caller closes the result (``.close()``)
    to release the socket; the allocation itself times out on the server."""
    server = (host, port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        transport = (ATTR_REQUESTED_TRANSPORT, struct.pack("!BBH", TRANSPORT_UDP, 0, 0))
        transaction_id = os.urandom(12)
        first = _transact(sock, server, encode(ALLOCATE, 0, transaction_id, [transport]), transaction_id, timeout)
        if first.cls == 2:  # a server without authentication
            return _allocate_result(first, sock, server)
        code, reason = _error(first)
        nonce = first.get(ATTR_NONCE)
        offered_realm = first.get(ATTR_REALM)
        if code != 401 or nonce is None or offered_realm is None:
            sock.close()
            return AllocateResult(ok=False, error_code=code, reason=reason)
        realm_text = realm if realm is not None else offered_realm.decode()
        key = long_term_key(username, realm_text, password)
        attributes = [
            (ATTR_USERNAME, username.encode()),
            (ATTR_REALM, realm_text.encode()),
            (ATTR_NONCE, nonce),
            transport,
        ]
        transaction_id = os.urandom(12)
        second = _transact(
            sock, server, encode(ALLOCATE, 0, transaction_id, attributes, key=key), transaction_id, timeout
        )
        if second.cls != 2:
            code, reason = _error(second)
            sock.close()
            return AllocateResult(ok=False, error_code=code, reason=reason, realm=realm_text, nonce=nonce)
        result = _allocate_result(second, sock, server)
        result.realm, result.nonce, result.username, result.key = realm_text, nonce, username, key
        return result
    except BaseException:
        sock.close()
        raise


def _allocate_result(answer: StunMessage, sock: socket.socket, server: tuple[str, int]) -> AllocateResult:
    relayed = answer.get(ATTR_XOR_RELAYED_ADDRESS)
    mapped = answer.get(ATTR_XOR_MAPPED_ADDRESS)
    lifetime = answer.get(ATTR_LIFETIME)
    return AllocateResult(
        ok=relayed is not None,
        relayed=_xor_address(relayed, answer.transaction_id) if relayed else None,
        mapped=_xor_address(mapped, answer.transaction_id) if mapped else None,
        lifetime=struct.unpack("!I", lifetime)[0] if lifetime else None,
        sock=sock,
        server=server,
    )


def turn_create_permission(
    allocation: AllocateResult, peer_host: str, peer_port: int = 9, timeout: float = 2.0
) -> tuple[int, str]:
    """CreatePermission for one peer on an authenticated allocation: ``(0, "")`` on success, else
    the error code and reason (403 for a peer the server denies)."""
    if allocation.sock is None or allocation.key is None or allocation.server is None:
        raise StunError("needs an open, authenticated allocation")
    transaction_id = os.urandom(12)
    attributes = [
        (ATTR_XOR_PEER_ADDRESS, _encode_xor_address(peer_host, peer_port, transaction_id)),
        (ATTR_USERNAME, (allocation.username or "").encode()),
        (ATTR_REALM, (allocation.realm or "").encode()),
        (ATTR_NONCE, allocation.nonce or b""),
    ]
    packet = encode(CREATE_PERMISSION, 0, transaction_id, attributes, key=allocation.key)
    answer = _transact(allocation.sock, allocation.server, packet, transaction_id, timeout)
    return (0, "") if answer.cls == 2 else _error(answer)

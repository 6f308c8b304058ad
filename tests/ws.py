"""A minimal WebSocket handshake over a raw socket, to see what status a server answers."""

from __future__ import annotations

import base64
import os
import socket


def handshake_status(
    port: int, path: str, *, origin: str | None, cookie: str | None = None, host: str = "127.0.0.1"
) -> int:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin:
        lines.append(f"Origin: {origin}")
    if cookie:
        lines.append(f"Cookie: {cookie}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        status_line = sock.makefile("rb").readline().decode()
    return int(status_line.split()[1])

"""A small HTTP/1.1 keep-alive client on asyncio streams, and signing in through the login form."""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from bench.servers import HOST, BenchError

DEMO_LEARNER = "learner1@peerlearn.local"

# What a request can fail with: a refused or reset connection, a cut-off or garbled response, a timeout.
HTTP_FAILURES = (OSError, EOFError, asyncio.LimitOverrunError, ValueError, TimeoutError)


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]]  # names in lower case, in the order received
    body: bytes
    keep_alive: bool

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    def cookies(self) -> dict[str, str]:
        """name -> value of every Set-Cookie (an empty value means the cookie was deleted)."""
        jar = {}
        for key, value in self.headers:
            if key == "set-cookie":
                name, _, rest = value.partition("=")
                jar[name.strip()] = rest.split(";", 1)[0].strip().strip('"')
        return jar


def build_request(
    method: str, path: str, *, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """The bytes of one request; built once and sent many times."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: peerlearn-bench", "Accept: */*"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields, if any
                pass
            return b"".join(chunks)
        chunks.append((await reader.readexactly(size + 2))[:-2])


async def read_response(reader: asyncio.StreamReader, *, head: bool = False) -> Response:
    """One response: status line, headers, then a body framed by Content-Length, chunks or EOF."""
    while True:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw[:-4].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        status = int(rest[:3])
        if status >= 200 or status == 101:
            break  # 1xx interim responses (100 Continue) are skipped
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    fields = dict(headers)
    connection = fields.get("connection", "").lower()
    keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    if head or status in (204, 304) or status < 200:
        body = b""
    elif "chunked" in fields.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in fields:
        body = await reader.readexactly(int(fields["content-length"]))
    else:
        body, keep_alive = await reader.read(), False  # delimited by the end of the connection
    return Response(status, headers, body, keep_alive)


class HttpConnection:
    """One keep-alive connection; (re)connects on demand and closes when the server asks to."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> Response:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(raw)
        await self.writer.drain()
        response = await read_response(self.reader, head=raw.startswith(b"HEAD "))
        if not response.keep_alive:
            await self.close()
        return response

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items() if value)


_CSRF_INPUT = re.compile(r"<input[^>]*\bname=[\"']csrfmiddlewaretoken[\"'][^>]*>")
_VALUE = re.compile(r"\bvalue=[\"']([^\"']*)[\"']")


async def login(port: int, email: str, password: str) -> dict[str, str]:
    """Sign in through the real allauth form; the cookies (``sessionid``, ``csrftoken``) of the session."""
    hostport = f"{HOST}:{port}"
    conn = HttpConnection(HOST, port)
    try:
        page = await conn.request(build_request("GET", "/accounts/login/", host=hostport))
        if page.status != 200:
            raise BenchError(f"GET /accounts/login/ answered {page.status}")
        cookies = {k: v for k, v in page.cookies().items() if v}
        tag = _CSRF_INPUT.search(page.body.decode("utf-8", "replace"))
        token = _VALUE.search(tag.group(0)) if tag else None
        if "csrftoken" not in cookies or token is None:
            raise BenchError("the login page has no csrftoken cookie or no csrfmiddlewaretoken field")
        form = urlencode({"csrfmiddlewaretoken": token.group(1), "login": email, "password": password}).encode()
        headers = {
            "Cookie": cookie_header(cookies),
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"http://{hostport}/accounts/login/",
        }
        answer = await conn.request(
            build_request("POST", "/accounts/login/", host=hostport, headers=headers, body=form)
        )
        cookies.update(answer.cookies())
        if answer.status not in (302, 303) or not cookies.get("sessionid"):
            raise BenchError(
                f"signing in as {email} failed: POST /accounts/login/ answered {answer.status} "
                f"(Location: {answer.header('location')}, cookies: {sorted(k for k, v in cookies.items() if v)})"
            )
        return {k: v for k, v in cookies.items() if v}
    finally:
        await conn.close()

"""MAX_REQUEST_BODY_BYTES: a body over the cap is answered 413 before anything reads or parses it,
by a real Daphne (whose memory must not grow with it) and by the ASGI middleware under any server."""

from __future__ import annotations

import http.client
import secrets
import time

import pytest
from django.conf import settings

from mentoring.tests.factories import make_session
from portal.request_limits import BodySizeLimitMiddleware

MB = 1_000_000
PIECE = b"x" * 65536  # the one buffer every streamed body is made of


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise LookupError(field)


def mb(change: float) -> str:
    return f"{round(change, 1) + 0.0:+.1f}"  # no "-0.0"


def stream_multipart(port: int, path: str, size: int, *, chunked: bool = False) -> int:
    """POST a multipart upload of ``size`` bytes, sent piece by piece; the response's status."""
    boundary = secrets.token_hex(8)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
        else:
            connection.putheader("Content-Length", str(len(head) + size + len(tail)))
        connection.endheaders()

        def pieces():
            yield head
            left = size
            while left > 0:
                yield PIECE if left >= len(PIECE) else PIECE[:left]
                left -= len(PIECE)
            yield tail

        for piece in pieces():
            connection.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_a_50_mb_body_is_refused_with_413_and_daphne_does_not_grow(live_server_url, daphne_server, mentor):
    session = make_session(mentor, title="Body limits")
    urls = ["/accounts/login/", f"/sessions/{session.pk}/book/", "/"]
    port, pid = daphne_server.port, daphne_server.proc.pid
    # Warm up each address with a body under the cap (it reaches Django, which refuses it for its own
    # reasons: no CSRF token), so first-use allocations are not counted below.
    for url in urls:
        assert stream_multipart(port, url, 1 * MB) not in (413, 500)
    assert stream_multipart(port, urls[0], settings.MAX_REQUEST_BODY_BYTES) == 413
    offset = len(daphne_server.log_text())
    before, peak_before = rss_mb(pid), rss_mb(pid, "VmHWM")

    statuses = [stream_multipart(port, url, 50 * MB) for url in urls]
    time.sleep(0.5)  # real time: Daphne may still be reading (and dropping) the body's tail; its memory is read after
    after, peak_after = rss_mb(pid), rss_mb(pid, "VmHWM")
    log = daphne_server.log_text()[offset:]

    answered = f"{statuses[0]} x{len(statuses)}" if len(set(statuses)) == 1 else " ".join(map(str, statuses))
    print(
        f"[body] 50 MB to 3 URLs: {answered}, RSS {mb(after - before)} MB (peak {mb(peak_after - peak_before)} MB; "
        f"{before:.0f} -> {after:.0f} MB)"
    )
    assert statuses == [413, 413, 413]
    assert after - before < 20 and peak_after - peak_before < 20
    assert log.count("request body over MAX_REQUEST_BODY_BYTES") == 3 and "Traceback" not in log


def test_a_50_mb_chunked_body_is_refused_with_413_and_daphne_does_not_grow(live_server_url, daphne_server):
    port, pid = daphne_server.port, daphne_server.proc.pid
    assert stream_multipart(port, "/accounts/login/", 1 * MB, chunked=True) not in (413, 500)
    before, peak_before = rss_mb(pid), rss_mb(pid, "VmHWM")

    status = stream_multipart(port, "/accounts/login/", 50 * MB, chunked=True)
    time.sleep(0.5)  # real time: Daphne may still be reading (and dropping) the body's tail; its memory is read after
    after, peak_after = rss_mb(pid), rss_mb(pid, "VmHWM")

    print(
        f"[body] 50 MB chunked to the login page: {status}, RSS {mb(after - before)} MB (peak {mb(peak_after - peak_before)} MB)"
    )
    assert status == 413
    assert after - before < 20 and peak_after - peak_before < 20


def test_form_bodies_twisted_cannot_parse_reach_django(live_server_url, daphne_server):
    """Multipart bodies with no parts (Wagtail's editing-session ping for a setting without a revision),
    or not multipart at all, are Django's to answer (its headers, its status), not a bare 400 from
    the web server underneath with the connection dropped."""
    bodies = {"no parts": b"--x--\r\n", "no boundary in it": b"hello", "empty": b""}
    answers = {}
    for name, body in bodies.items():
        connection = http.client.HTTPConnection("127.0.0.1", daphne_server.port, timeout=30)
        try:
            connection.request(
                "POST", "/accounts/login/", body=body, headers={"Content-Type": "multipart/form-data; boundary=x"}
            )
            response = connection.getresponse()
            response.read()
            answers[name] = (response.status, response.getheader("X-Content-Type-Options"))
        finally:
            connection.close()
    print(f"[body] unparsable form bodies: {answers}")
    for name, (status, nosniff) in answers.items():
        assert nosniff == "nosniff", f"{name}: answered by Daphne/Twisted, not Django ({status})"
        assert status in (400, 403), (name, status)


# --------------------------------------------------------------------------- the ASGI middleware alone
async def run(middleware, headers, chunks):
    """Drive ``middleware`` with one HTTP request; what it sent and how many body messages it read."""
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]
    sent, read = [], []

    async def receive():
        message = messages.pop(0) if messages else {"type": "http.disconnect"}
        read.append(message)
        return message

    async def send(message):
        sent.append(message)

    await middleware({"type": "http", "method": "POST", "path": "/", "headers": headers}, receive, send)
    return sent, len(read)


async def echo_app(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"%d" % len(body)})


async def test_the_middleware_answers_413_from_the_declared_length_without_reading():
    sent, read = await run(BodySizeLimitMiddleware(echo_app, limit=100), [(b"content-length", b"101")], [b"x" * 101])
    assert sent[0]["status"] == 413 and read == 0


async def test_the_middleware_counts_a_streamed_body_and_stops_at_the_cap():
    sent, read = await run(BodySizeLimitMiddleware(echo_app, limit=100), [], [b"x" * 60, b"x" * 60, b"x" * 60])
    assert sent[0]["status"] == 413 and read == 2  # the third chunk is never asked for


@pytest.mark.parametrize("headers", [[(b"content-length", b"100")], []])
async def test_the_middleware_lets_a_body_at_the_cap_through(headers):
    sent, _ = await run(BodySizeLimitMiddleware(echo_app, limit=100), headers, [b"x" * 50, b"x" * 50])
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"100"

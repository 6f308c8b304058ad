"""The call-room signaling protocol: closed, typed messages (see PROTOCOL.md).

``parse_client_message`` turns one client frame into a validated message or raises
``ProtocolError``. Unknown types, unknown or missing fields and wrong types are all refused; the
server only ever relays the validated values, never the client's dict.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_FRAME_BYTES = 64 * 1024
MAX_SDP_CHARS = 60_000
MAX_CANDIDATE_CHARS = 2_000
MAX_CHAT_CHARS = 2_000
PEER_ID_RE = re.compile(r"[0-9a-f]{16}")  # whole string only (fullmatch): "$" would let a trailing newline through

# Close codes (4000-4999 are application codes).
CLOSE_NOT_ALLOWED = 4403  # not a participant, or outside the join window (handshake refused)
CLOSE_TOO_BIG = 4009  # a frame over MAX_FRAME_BYTES
CLOSE_FLOOD = 4029  # more messages than the rate limit allows
CLOSE_REVOKED = 4401  # logged out, deactivated or booking cancelled
CLOSE_REPLACED = 4409  # the same page reconnected on a newer socket; this one is stale
CLOSE_SILENT = 4408  # nothing heard from the client within the presence timeout
CANDIDATE_TYPES = ("host", "srflx", "prflx", "relay")
SCREEN_SHARE_ACTIONS = ("start", "stop")


# The answer to a message whose handling failed on the server: only its sender hears of it, and the
# socket stays open.
INTERNAL_ERROR = {
    "type": "error",
    "code": "internal",
    "message": "The server could not handle that message. Your connection stays open.",
}


class ProtocolError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def frame(self) -> dict:
        return {"type": "error", "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Signal:
    to: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Chat:
    text: str


@dataclass(frozen=True)
class MediaState:
    audio: bool
    video: bool
    screen: bool


@dataclass(frozen=True)
class ScreenShare:
    """The sender started or stopped sharing its screen. The server stamps who and when; each page
    decides from those stamps whose share wins (the latest start), so the server keeps no state."""

    action: str  # "start" | "stop"


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class Ping:
    t: float | None


@dataclass(frozen=True)
class Stats:
    """A client's summary of ``RTCPeerConnection.getStats()`` over its last interval."""

    rtt_ms: float | None
    loss_pct: float | None
    in_kbps: float | None
    out_kbps: float | None
    local: str
    remote: str
    protocol: str
    ice_restarts: int
    reconnects: int


ClientMessage = Signal | Chat | MediaState | ScreenShare | Leave | Ping | Stats


def _number(value: Any, name: str, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise ProtocolError("bad_value", f"{name} must be a number from 0 to {high:g}, or null.")
    return float(value)


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
        raise ProtocolError("bad_value", f"{name} must be a whole number from 0 to 100000.")
    return value


def _choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if value not in (*choices, ""):
        raise ProtocolError("bad_value", f"{name} must be one of {', '.join(choices)} or empty.")
    return value


def _fields(obj: Any, required: set[str], optional: set[str] = frozenset(), where: str = "message") -> dict:
    if not isinstance(obj, dict):
        raise ProtocolError("bad_shape", f"{where} must be a JSON object.")
    keys = set(obj)
    unknown = keys - required - optional
    if unknown:
        raise ProtocolError("unknown_field", f"Unknown field(s) in {where}: {', '.join(sorted(unknown))[:200]}.")
    missing = required - keys
    if missing:
        raise ProtocolError("missing_field", f"Missing field(s) in {where}: {', '.join(sorted(missing))}.")
    return obj


# Control characters a text field may not carry (C0, DEL, C1). A field that spans lines keeps its
# line breaks: SDP is CRLF-separated lines (RFC 8866), a chat line may hold a newline or a tab.
SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SDP_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CHAT_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SURROGATE = re.compile(r"[\ud800-\udfff]")
# Each set of refused controls together with the surrogates, in one character class.
_REFUSED = {
    pattern: re.compile(pattern.pattern[:-1] + r"\ud800-\udfff]") for pattern in (SINGLE_LINE, SDP_LINES, CHAT_TEXT)
}


def _str(
    value: Any, name: str, max_len: int, *, allow_empty: bool = False, controls: re.Pattern[str] = SINGLE_LINE
) -> str:
    if not isinstance(value, str):
        raise ProtocolError("bad_type", f"{name} must be a string.")
    if len(value) > max_len:
        raise ProtocolError("too_long", f"{name} is longer than {max_len} characters.")
    # One scan for both kinds of refused characters (no encoded copy of the text); which one it was is
    # only worked out for the error. JSON may spell a lone UTF-16 surrogate ("\ud800"): not a
    # character, so no UTF-8 carries it, and the channel layer (msgpack), PostgreSQL and the other
    # peers' sockets would all fail on it.
    found = _REFUSED[controls].search(value)
    if found:
        if SURROGATE.match(found.group()):
            raise ProtocolError("bad_value", f"{name} must be valid Unicode text (no lone surrogates).")
        raise ProtocolError("bad_value", f"{name} must not contain control characters.")
    if not allow_empty and not value.strip():
        raise ProtocolError("empty", f"{name} must not be empty.")
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ProtocolError("bad_type", f"{name} must be true or false.")
    return value


def _signal_data(data: Any) -> dict[str, Any]:
    data = _fields(data, set(), {"description", "candidate"}, "signal.data")
    if len(data) != 1:
        raise ProtocolError("bad_shape", "signal.data carries exactly one of description or candidate.")
    if "description" in data:
        desc = _fields(data["description"], {"type", "sdp"}, set(), "signal.data.description")
        if desc["type"] not in ("offer", "answer", "pranswer", "rollback"):
            raise ProtocolError("bad_value", "description.type must be offer, answer, pranswer or rollback.")
        sdp = _str(
            desc["sdp"], "description.sdp", MAX_SDP_CHARS, allow_empty=desc["type"] == "rollback", controls=SDP_LINES
        )
        return {"description": {"type": desc["type"], "sdp": sdp}}
    candidate = data["candidate"]
    if candidate is None:  # end of candidates
        return {"candidate": None}
    c = _fields(candidate, {"candidate"}, {"sdpMid", "sdpMLineIndex", "usernameFragment"}, "signal.data.candidate")
    clean: dict[str, Any] = {
        "candidate": _str(c["candidate"], "candidate.candidate", MAX_CANDIDATE_CHARS, allow_empty=True)
    }
    if c.get("sdpMid") is not None:
        clean["sdpMid"] = _str(c["sdpMid"], "candidate.sdpMid", 64, allow_empty=True)
    else:
        clean["sdpMid"] = None
    index = c.get("sdpMLineIndex")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 64):
        raise ProtocolError("bad_value", "candidate.sdpMLineIndex must be an integer from 0 to 64.")
    clean["sdpMLineIndex"] = index
    if c.get("usernameFragment") is not None:
        clean["usernameFragment"] = _str(c["usernameFragment"], "candidate.usernameFragment", 256, allow_empty=True)
    return {"candidate": clean}


def parse_client_message(raw: str | bytes | None) -> ClientMessage:
    if raw is None:
        raise ProtocolError("bad_frame", "Send text frames with JSON messages.")
    if isinstance(raw, bytes):
        raise ProtocolError("bad_frame", "Binary frames are not part of the protocol.")
    # A character takes at most 4 bytes: only a long frame needs its encoded size counted.
    if len(raw) * 4 > MAX_FRAME_BYTES and len(raw.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise ProtocolError("too_big", f"Messages are limited to {MAX_FRAME_BYTES} bytes.")
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_json", "The message is not valid JSON.") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ProtocolError("bad_shape", "A message is a JSON object with a string field 'type'.")
    kind = obj["type"]
    if kind == "signal":
        msg = _fields(obj, {"type", "to", "data"})
        to = msg["to"]
        if not isinstance(to, str) or not PEER_ID_RE.fullmatch(to):
            raise ProtocolError("bad_value", "'to' must be a peer id from the room.")
        return Signal(to=to, data=_signal_data(msg["data"]))
    if kind == "chat":
        msg = _fields(obj, {"type", "text"})
        return Chat(text=_str(msg["text"], "text", MAX_CHAT_CHARS, controls=CHAT_TEXT).strip())
    if kind == "media-state":
        msg = _fields(obj, {"type", "audio", "video", "screen"})
        return MediaState(
            audio=_bool(msg["audio"], "audio"),
            video=_bool(msg["video"], "video"),
            screen=_bool(msg["screen"], "screen"),
        )
    if kind == "screen-share":
        msg = _fields(obj, {"type", "action"})
        if msg["action"] not in SCREEN_SHARE_ACTIONS:
            raise ProtocolError("bad_value", "action must be start or stop.")
        return ScreenShare(action=msg["action"])
    if kind == "leave":
        _fields(obj, {"type"})
        return Leave()
    if kind == "ping":
        msg = _fields(obj, {"type"}, {"t"})
        t = msg.get("t")
        if t is not None and (isinstance(t, bool) or not isinstance(t, int | float)):
            raise ProtocolError("bad_type", "t must be a number.")
        return Ping(t=t)
    if kind == "stats":
        fields = {
            "rtt_ms",
            "loss_pct",
            "in_kbps",
            "out_kbps",
            "local",
            "remote",
            "protocol",
            "ice_restarts",
            "reconnects",
        }
        msg = _fields(obj, {"type"} | fields)
        return Stats(
            rtt_ms=_number(msg["rtt_ms"], "rtt_ms", 60_000),
            loss_pct=_number(msg["loss_pct"], "loss_pct", 100),
            in_kbps=_number(msg["in_kbps"], "in_kbps", 1_000_000),
            out_kbps=_number(msg["out_kbps"], "out_kbps", 1_000_000),
            local=_choice(msg["local"], "local", CANDIDATE_TYPES),
            remote=_choice(msg["remote"], "remote", CANDIDATE_TYPES),
            protocol=_choice(msg["protocol"], "protocol", ("udp", "tcp")),
            ice_restarts=_count(msg["ice_restarts"], "ice_restarts"),
            reconnects=_count(msg["reconnects"], "reconnects"),
        )
    raise ProtocolError("unknown_type", "Unknown message type.")


class TokenBucket:
    """Per-socket rate limit: ``rate`` messages a second on average, bursts up to ``burst``."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")  # two per socket (Daphne's frame limit and the consumer's)

    def __init__(self, rate: float, burst: int, now: float):
        self.rate, self.capacity, self.tokens, self.stamp = rate, burst, float(burst), now

    def take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

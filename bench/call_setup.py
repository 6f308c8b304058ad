"""Call setup time in real browsers: from the Join click to a connected RTCPeerConnection.

    .venv/bin/python -m bench.call_setup --joins 30            # a summary
    .venv/bin/python -m bench.call_setup --joins 30 --json     # exactly one JSON line on stdout

What one run does:

1. drops and creates a PostgreSQL database (``peerlearn_bench``; ``--database-url`` to change it), runs
   ``manage.py migrate --no-input`` and makes one live session with a mentor and a booked learner, both
   signed in by a Django session written straight to the session store;
2. starts Daphne (dev settings, DEBUG off, the Redis channel layer ``--layer``), logging to
   ``var/bench-call-setup-*.log``;
3. the floor, in one page with nothing else running: two RTCPeerConnections carrying the fake camera and
   microphone, signalled directly in JavaScript, from ``createOffer`` to ICE ``connected``, ``--joins`` times;
4. headless Chromium (``/usr/bin/chromium``, fake media devices), two contexts: the mentor opens the room
   page and joins; then ``--joins`` times the learner opens the room page, waits for the camera preview,
   clicks Join, and leaves with the Leave button once its RTCPeerConnection is up. Each join is timed
   inside the page with ``performance.now()``: from the click to the ``iceconnectionstatechange`` that
   reaches ``connected`` or ``completed`` on the learner's RTCPeerConnection;
5. stops Daphne and drops the database (unless ``--keep-db``), also after an error or Ctrl-C.

The timing hooks are an init script that subclasses ``RTCPeerConnection`` and ``WebSocket`` to stamp
their events; the page's own code is unchanged. They also split each join into phases (socket open,
welcome, offer sent, answer applied, ICE connected) to show where the time goes.

Progress and problems go to stderr. The exit status is 1 when a join did not connect, 2 when the
benchmark could not run; missing a goal does not change it.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

from bench.report import percentile, progress
from bench.rooms import make_rooms
from bench.servers import (
    CHANNEL_LAYER_PREFIX,
    BenchError,
    add_server_arguments,
    app_env,
    fresh_database,
    manage,
    parse_server_env,
    run_against_servers,
    running_daphne,
)
from tests.servers import CHROMIUM, CHROMIUM_FLAGS, ROOT

GOAL_P50_MS = 300.0
GOAL_P95_MS = 1000.0
PHASES = ("socket_open", "welcome", "offer_sent", "answer_applied", "ice_connected")

# Runs before the page's scripts on every load: stamps the events of every RTCPeerConnection and
# WebSocket the page makes, in window.__bench. Subclasses, so the page's code runs unchanged.
RECORDER = """
(() => {
  const bench = (window.__bench = { pcs: [], sockets: [] });
  const NativePC = window.RTCPeerConnection;
  if (NativePC) {
    window.RTCPeerConnection = class extends NativePC {
      constructor(...args) {
        super(...args);
        const record = { created: performance.now(), localSet: null, remoteSet: null, connected: null, states: [] };
        this.__benchRecord = record;
        bench.pcs.push(record);
        this.addEventListener("iceconnectionstatechange", () => {
          const now = performance.now();
          record.states.push([this.iceConnectionState, now]);
          if (record.connected === null && ["connected", "completed"].includes(this.iceConnectionState)) {
            record.connected = now;
          }
        });
      }
      async setLocalDescription(...args) {
        const result = await super.setLocalDescription(...args);
        this.__benchRecord.localSet ??= performance.now();
        return result;
      }
      setRemoteDescription(...args) {
        this.__benchRecord.remoteSet ??= performance.now();
        return super.setRemoteDescription(...args);
      }
    };
  }
  const NativeWS = window.WebSocket;
  window.WebSocket = class extends NativeWS {
    constructor(...args) {
      super(...args);
      const record = { created: performance.now(), open: null, firstMessage: null };
      bench.sockets.push(record);
      this.addEventListener("open", () => { record.open = performance.now(); });
      this.addEventListener("message", () => { record.firstMessage ??= performance.now(); });
    }
  };
})();
"""

# Two peer connections in one page, no server: the fastest a call could come up on this machine.
FLOOR = """
async (repetitions) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
  const times = [];
  for (let i = 0; i < repetitions; i++) {
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    for (const track of stream.getTracks()) { a.addTrack(track, stream); b.addTrack(track, stream); }
    const trickle = (to) => {
      const held = [];
      return {
        add(candidate) { to.remoteDescription ? to.addIceCandidate(candidate) : held.push(candidate); },
        flush() { for (const c of held.splice(0)) to.addIceCandidate(c); },
      };
    };
    const toA = trickle(a), toB = trickle(b);
    a.onicecandidate = ({ candidate }) => candidate && toB.add(candidate);
    b.onicecandidate = ({ candidate }) => candidate && toA.add(candidate);
    const connected = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the floor connection did not come up in 20 s")), 20000);
      a.addEventListener("iceconnectionstatechange", () => {
        if (["connected", "completed"].includes(a.iceConnectionState)) { clearTimeout(timer); resolve(performance.now()); }
      });
    });
    const started = performance.now();
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(offer);
    toB.flush();
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    toA.flush();
    times.push((await connected) - started);
    a.close();
    b.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  stream.getTracks().forEach((t) => t.stop());
  return times;
}
"""

# The room page has its camera preview and the call object: Join is meaningful now.
READY = """
() => Boolean(window.peerlearnCall && document.querySelector("#preview")?.srcObject
  && !document.querySelector("#join").disabled)
"""

CLICK_JOIN = """
() => {
  const started = performance.now();
  document.querySelector("#join").click();
  return started;
}
"""

# The first RTCPeerConnection made after the click that reached connected/completed, and its stamps.
JOINED = """
(started) => {
  const pc = window.__bench.pcs.find((r) => r.created >= started && r.connected !== null);
  if (!pc) return null;
  const socket = window.__bench.sockets.find((s) => s.created >= started) || {};
  return { started, socketOpen: socket.open ?? null, welcome: socket.firstMessage ?? null, ...pc };
}
"""


def phases(join: dict) -> dict[str, float | None]:
    """Milliseconds spent in each step of one join (None where a stamp is missing)."""
    points = [
        join["started"],
        join["socketOpen"],
        join["welcome"],
        join["localSet"],
        join["remoteSet"],
        join["connected"],
    ]
    out = {}
    for name, (before, after) in zip(PHASES, zip(points, points[1:], strict=False), strict=True):
        out[name] = None if before is None or after is None else after - before
    return out


def report_page_problems(page, who: str) -> None:
    """The page's console errors and warnings and uncaught exceptions, on stderr."""

    def console(message) -> None:
        if message.type in ("error", "warning"):
            progress(f"{who} console {message.type}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: progress(f"{who} page error: {error}"))


def run_browsers(args: argparse.Namespace, base_url: str, room_id: str, mentor_key: str, learner_key: str) -> dict:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    room_url = f"{base_url}/sessions/{room_id}/room/"
    timeout_ms = args.timeout * 1000
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        except PlaywrightError as exc:
            raise BenchError(f"cannot start {CHROMIUM}: {exc}") from exc
        try:
            contexts = []
            for key in (mentor_key, learner_key):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                context.add_cookies([{"name": "sessionid", "value": key, "url": base_url}])
                context.add_init_script(RECORDER)
                context.set_default_timeout(timeout_ms)
                contexts.append(context)
            mentor_ctx, learner_ctx = contexts

            progress(f"floor: two RTCPeerConnections in one page, {args.joins} times")
            floor_page = learner_ctx.new_page()
            floor_page.goto(f"{base_url}/accounts/login/")
            floor = floor_page.evaluate(FLOOR, args.joins)
            floor_page.close()

            mentor = mentor_ctx.new_page()
            learner = learner_ctx.new_page()
            for page, who in ((mentor, "mentor"), (learner, "learner")):
                report_page_problems(page, who)
            progress("the mentor joins the call")
            response = mentor.goto(room_url)
            if response is None or response.status != 200:
                raise BenchError(f"GET {room_url} answered {response.status if response else 'nothing'} for the mentor")
            mentor.wait_for_function(READY)
            mentor.evaluate(CLICK_JOIN)
            mentor.wait_for_function("() => document.querySelector('[data-room]').dataset.state === 'in-call'")

            joins, failures = [], []
            progress(f"the learner joins {args.joins} times")
            for attempt in range(args.joins):
                response = learner.goto(room_url)
                if response is None or response.status != 200:
                    raise BenchError(f"GET {room_url} answered {response.status if response else 'nothing'}")
                learner.wait_for_function(READY)
                try:  # the previous join's departure has reached the mentor
                    mentor.wait_for_function("() => window.peerlearnCall.peers.size === 0", timeout=10_000)
                except PlaywrightError:
                    progress(f"join {attempt + 1}: the mentor still sees the previous learner; joining anyway")
                started = learner.evaluate(CLICK_JOIN)
                try:
                    handle = learner.wait_for_function(JOINED, arg=started, timeout=timeout_ms)
                    joins.append(handle.json_value())
                except PlaywrightError:
                    states = learner.evaluate("() => window.__bench.pcs.map((r) => r.states)")
                    failures.append(f"join {attempt + 1}: not connected within {args.timeout:g}s (ICE states {states})")
                    progress(failures[-1])
                    continue
                learner.click("#leave")
                learner.wait_for_load_state()
            return {"joins": joins, "failures": failures, "floor": floor}
        finally:
            browser.close()


def summarise(args: argparse.Namespace, raw: dict) -> dict:
    def ms(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    totals = sorted(j["connected"] - j["started"] for j in raw["joins"])
    split = [phases(j) for j in raw["joins"]]
    return {
        "joins": len(totals),
        "p50_ms": ms(percentile(totals, 50)),
        "p95_ms": ms(percentile(totals, 95)),
        "floor_p50_ms": ms(percentile(sorted(raw["floor"]), 50)),
        # Diagnostics beyond the keys.
        "failed": len(raw["failures"]),
        "max_ms": ms(totals[-1] if totals else None),
        "floor_p95_ms": ms(percentile(sorted(raw["floor"]), 95)),
        "phases_p50_ms": {
            name: ms(percentile(sorted(s[name] for s in split if s[name] is not None), 50)) for name in PHASES
        },
        "layer": args.layer,
    }


def render(report: dict) -> str:
    def num(value) -> str:
        return "-" if value is None else f"{value:.1f}"

    p50_ok = report["p50_ms"] is not None and report["p50_ms"] <= GOAL_P50_MS
    p95_ok = report["p95_ms"] is not None and report["p95_ms"] < GOAL_P95_MS
    steps = ", ".join(f"{name} {num(value)}" for name, value in report["phases_p50_ms"].items())
    return "\n".join(
        [
            f"PeerLearn call setup: {report['joins']} joins ({report['failed']} failed), channel layer {report['layer']!r}",
            "",
            f"Join click -> ICE connected  p50 {num(report['p50_ms'])} ms (goal <= {GOAL_P50_MS:g}: "
            f"{'met' if p50_ok else 'MISSED'}), p95 {num(report['p95_ms'])} ms (goal < {GOAL_P95_MS:g}: "
            f"{'met' if p95_ok else 'MISSED'}), max {num(report['max_ms'])} ms",
            f"in-page floor (no server)   p50 {num(report['floor_p50_ms'])} ms, p95 {num(report['floor_p95_ms'])} ms",
            f"phases, p50 ms              {steps}",
        ]
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time from the Join click to a connected call in headless Chromium, on a real Daphne.",
    )
    parser.add_argument("--joins", type=int, default=30, help="joins to time, and floor repetitions (default 30)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds a join may take before it fails")
    parser.add_argument(
        "--layer",
        choices=("core", "pubsub"),
        default="pubsub",
        help="channels-redis layer (default pubsub, as the site)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a summary")
    add_server_arguments(parser, setup_help="seconds allowed for migrate", env_example="ICE_TRANSPORT_POLICY=relay")
    args = parser.parse_args(argv)
    if args.joins < 1 or args.timeout <= 0:
        parser.error("--joins must be >= 1 and --timeout positive")
    parse_server_env(parser, args)
    return args


def run(args: argparse.Namespace, log: Path) -> dict:
    prefix = f"{CHANNEL_LAYER_PREFIX}-{uuid.uuid4().hex[:8]}"
    env = app_env(
        database_url=args.database_url,
        redis_url=args.redis_url,
        extra={"CHANNEL_LAYER": args.layer, "CHANNEL_LAYER_PREFIX": prefix, **args.server_env},
    )
    with fresh_database(args.database_url, keep=args.keep_db) as database:
        progress(f"database {database}: migrate")
        manage(["migrate", "--no-input"], env=env, timeout=args.setup_timeout)
        progress(f"database {database}: one live room")
        (room,) = make_rooms(1, env=env, timeout=args.setup_timeout)
        with running_daphne(env=env, log_path=log) as server:
            progress(f"Daphne on {server.url} (pid {server.proc.pid}, layer {args.layer}, log {server.log_path})")
            raw = run_browsers(args, server.url, room.room_id, room.mentor_key, room.learner_key)
        progress("stopped Daphne")
    progress(f"kept the database {database} (--keep-db)" if args.keep_db else f"dropped the database {database}")
    report = summarise(args, raw)
    report["failures"] = raw["failures"]
    return report


def problem(report: dict) -> str | None:
    failures = report.pop("failures")  # said here, not printed in the report
    return f"{len(failures)} joins failed" if failures else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = ROOT / "var" / f"bench-call-setup-{time.strftime('%Y%m%d-%H%M%S')}.log"
    return run_against_servers(args, lambda args, logs: run(args, logs[0]), [log], problem=problem, render=render)


if __name__ == "__main__":
    sys.exit(main())

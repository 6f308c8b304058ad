"""A model of the call room for tests: participants in Chromium or Firefox, the actions people take in
any order, and the invariants that must hold after every one of them.

Each participant reaches Daphne through a proxy of its own (``CuttableProxy``), so a test can drop
that participant's connections at the TCP level, as a network change or a server restart does.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass, field

from conftest import PASSWORD
from tests.servers import CHROMIUM_FLAGS
from tests.waiting import wait_until

# Three fake cameras, so a person can switch cameras mid-call. Chromium's second fake camera
# (fake_device_1) gives Y16 depth frames, which no video encoder takes (as with a real depth camera),
# so people here switch between the first and the third (MJPEG).
CHROMIUM_CAMERAS = [f for f in CHROMIUM_FLAGS if f != "--use-fake-device-for-media-stream"] + [
    "--use-fake-device-for-media-stream=device-count=3"
]
DEPTH_CAMERA = "fake_device_1"
JOIN_DELAYS_MS = (0, 100, 500, 2000)
# Fake devices answer at once; a person takes a moment to answer the browser's camera prompt (and a
# camera a moment to start). Every page here gets its answer this long after it asked, so a Join
# clicked at 0, 100 or 500 ms comes before the camera, and one at 2 s after it.
ANSWER_AFTER_MS = 1200
SLOW_ANSWER = """(() => { const md = navigator.mediaDevices; if (!md) return; const ask = md.getUserMedia.bind(md);
  md.getUserMedia = (constraints) => new Promise((resolve) => setTimeout(resolve, MS)).then(() => ask(constraints)); })();""".replace(
    "MS", str(ANSWER_AFTER_MS)
)
# How long the room may take to get every invariant back after a step. A connection that fails on a
# starved machine (CI once ran this beside the load test at 2x its usual time) must come back through the
# watchdog's ICE restart, which takes its own seconds; how fast the room settles is printed ("slowest
# settle") and is a speed figure, not what this test decides.
SETTLE_SECONDS = 30

# What a person does with the mouse, done in the page: find a control by its visible name.
CLICK = """(name) => { const el = [...document.querySelectorAll("button, a")].find(
    (b) => (b.getAttribute("aria-label") || b.textContent).trim() === name && b.checkVisibility());
  if (!el) throw new Error(`no visible button or link named ${name}`); el.click(); }"""
FILL = """([label, value]) => { const l = [...document.querySelectorAll("label")].find((l) => l.textContent.trim() === label);
  const input = l && (l.control || document.getElementById(l.htmlFor));
  if (!input) throw new Error(`no field labelled ${label}`); input.value = value; }"""
# Picking the other camera from the list (its change event is what a person's pick fires).
OTHER_CAMERA = """() => { const s = document.querySelector("#camera-select");
  const other = [...s.options].find((o) => o.value !== s.value && o.textContent !== "DEPTH"); if (!other) return false;
  s.value = other.value; s.dispatchEvent(new Event("change")); return other.textContent; }""".replace(
    "DEPTH", DEPTH_CAMERA
)
CAMERAS = """() => [...(document.querySelector("#camera-select")?.options || [])].filter((o) => o.textContent !== "DEPTH").length""".replace(
    "DEPTH", DEPTH_CAMERA
)

# Everything the invariants need from one page, in one round trip.
SNAPSHOT = """async () => {
  const c = window.peerlearnCall, root = document.querySelector("[data-room]");
  if (!c || !root) return { where: "out" };
  const local = document.querySelector("#local-video");
  const own = local.srcObject?.getVideoTracks?.()[0] || null;
  const sent = c.screen?.getVideoTracks()[0] || c.media.videoTrack;
  const out = { where: root.dataset.state === "in-call" ? "call" : root.dataset.state, connection: root.dataset.connection || "",
    audio: c.audio && !!c.media.audioTrack, video: c.video && !!c.media.videoTrack, screen: !!c.screen,
    own: { shown: !!own && own === sent && own.readyState === "live", width: local.videoWidth },
    people: [...document.querySelectorAll("#participants li")].filter((li) => li.dataset.peer !== c.myId)
      .map((li) => c.peers.get(li.dataset.peer)?.info.name || `ghost ${li.dataset.peer}`).sort(),
    status: document.querySelector("#call-status")?.textContent || "", peers: {} };
  for (const e of c.peers.values()) {
    let frames = 0, packets = 0;
    (await e.link.pc.getStats()).forEach((r) => {
      if (r.type !== "inbound-rtp") return;
      if (r.kind === "video") frames += r.framesDecoded || 0; else packets += r.packetsReceived || 0;
    });
    const video = e.tile.querySelector("video");
    out.peers[e.info.name] = { state: e.link.pc.connectionState, frames, packets, width: video.videoWidth,
      off: e.tile.classList.contains("video-off"),
      sendsVideo: !!sent && e.link.sendingTrack("video") === sent,
      sendsAudio: !c.media.audioTrack || e.link.sendingTrack("audio") === c.media.audioTrack };
  }
  return out; }"""


# On a violation: each connection's transceivers and what goes out and comes in, for the report.
DIAGNOSE = """async () => { const out = {};
  for (const e of window.peerlearnCall?.peers.values() || []) {
    const rtp = []; (await e.link.pc.getStats()).forEach((r) => {
      if (r.type === "outbound-rtp") rtp.push(`out ${r.kind} frames ${r.framesEncoded ?? "-"} bytes ${r.bytesSent} limit ${r.qualityLimitationReason ?? "-"}`);
      if (r.type === "inbound-rtp") rtp.push(`in ${r.kind} frames ${r.framesDecoded ?? "-"} bytes ${r.bytesReceived}`); });
    const report = await e.link.pc.getStats(); const byId = new Map(); report.forEach((r) => byId.set(r.id, r));
    const where = (id) => { const c = byId.get(id); return c ? `${c.candidateType}:${c.port}` : "?"; };
    const pairs = []; report.forEach((r) => { if (r.type === "candidate-pair" && (r.bytesSent || r.bytesReceived || r.nominated))
      pairs.push(`${where(r.localCandidateId)}->${where(r.remoteCandidateId)} ${r.state}${r.nominated ? " nominated" : ""} sent ${r.bytesSent} got ${r.bytesReceived}`); });
    let selected = null; report.forEach((r) => { if (r.type === "transport" && r.selectedCandidatePairId) selected = r.selectedCandidatePairId; });
    out[e.info.name + " pairs"] = { ice: e.link.pc.iceConnectionState, restarts: e.link.iceRestarts, polite: e.link.polite,
      selected: selected && byId.get(selected) ? `${where(byId.get(selected).localCandidateId)}->${where(byId.get(selected).remoteCandidateId)}` : null, pairs };
    out[e.info.name] = { signaling: e.link.pc.signalingState, negotiations: e.link.negotiations,
      transceivers: e.link.pc.getTransceivers().map((t) => `${t.mid}:${t.receiver.track.kind}:${t.direction}/${t.currentDirection}:${t.sender.track ? t.sender.track.label + "/" + t.sender.track.readyState + "/" + t.sender.track.enabled : "no track"}`),
      rtp };
  }
  out.events = (window.peerlearnCall?.events || []).filter((e) => e[1] !== "signal" && e[1] !== "pong").slice(-20);
  const media = window.peerlearnCall?.media;
  const camera = media?.videoTrack;
  out.camera = camera && { label: camera.label, state: camera.readyState, enabled: camera.enabled, muted: camera.muted,
    size: `${camera.getSettings().width}x${camera.getSettings().height}`,
    own: [...document.querySelectorAll("video")].map((v) => `${v.videoWidth}x${v.videoHeight}/${v.readyState}/${v.paused ? "paused" : "playing"}/${v.srcObject?.getVideoTracks().map((t) => t.label + (t.muted ? ":muted" : "")).join("+")}`) };
  out.media = media && { state: media.state, audio: media.audioTrack?.readyState || null, video: media.videoTrack?.readyState || null,
    errors: Object.fromEntries(Object.entries(media.errors).map(([k, e]) => [k, e ? `${e.name}: ${e.message}` : null])) };
  out.page = { state: document.querySelector("[data-room]")?.dataset.state, prejoin: document.querySelector("#prejoin-status")?.textContent,
    status: document.querySelector("#call-status")?.textContent };
  return out; }"""


class CuttableProxy:
    """A TCP forwarder to ``port`` on loopback; ``cut()`` drops every connection through it at once."""

    def __init__(self, port: int):
        self.target = port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.pairs: set[tuple[socket.socket, socket.socket]] = set()
        self.lock = threading.Lock()
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self.lock:
                self.pairs.add(pair)
            threading.Thread(target=self._pipe, args=(client, upstream, pair), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, pair), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, pair) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(pair)

    def _drop(self, pair) -> None:
        with self.lock:
            self.pairs.discard(pair)
        for sock in pair:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def cut(self) -> None:
        self.cuts += 1
        with self.lock:
            pairs = list(self.pairs)
        for pair in pairs:
            self._drop(pair)

    def close(self) -> None:
        self.server.close()
        self.cut()


class ChromiumTab:
    engine = "chromium"

    def __init__(self, context, init_script: str = ""):
        self.context = context
        if init_script:
            context.add_init_script(init_script)
        self.page = context.new_page()

    def goto(self, url: str) -> None:
        self.page.goto(url)

    def evaluate(self, function: str, arg=None):
        return self.page.evaluate(function, arg)

    def click(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()

    def reload(self) -> None:
        self.page.reload()

    def log_in(self, base: str, email: str) -> None:
        self.goto(base + "/accounts/login/")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign In").click()
        self.page.wait_for_url("**/dashboard/")

    def close(self) -> None:
        self.context.close()


class FirefoxTab:
    engine = "firefox"

    def __init__(self, firefox, init_script: str = ""):
        self.firefox = firefox
        if init_script:
            firefox.add_init_script(init_script)

    def goto(self, url: str) -> None:
        self.firefox.goto(url)

    def evaluate(self, function: str, arg=None):
        return self.firefox.evaluate(function, arg)

    def click(self, name: str) -> None:
        self.firefox.evaluate(CLICK, name)

    def reload(self) -> None:
        self.firefox.reload()

    def log_in(self, base: str, email: str) -> None:
        self.goto(base + "/accounts/login/")
        self.evaluate(FILL, ["Email", email])
        self.evaluate(FILL, ["Password", PASSWORD])
        self.click("Sign In")
        self.firefox.wait_for("() => location.pathname === '/dashboard/'", message="the dashboard after login")

    def close(self) -> None:
        self.firefox.close()


@dataclass
class Person:
    """A participant as the model sees them, and the tab they use."""

    name: str
    email: str
    tab: ChromiumTab | FirefoxTab
    proxy: CuttableProxy
    room: str
    where: str = "out"  # out (another page), prejoin (the room open, not joined), call
    audio: bool = True
    video: bool = True
    screen: bool = False
    company: list[Person] = field(default_factory=list, repr=False)  # everyone in the run, this person too

    @property
    def others(self) -> list[Person]:
        return [p for p in self.company if p is not self]

    @property
    def url(self) -> str:
        return self.proxy.url + self.room

    @property
    def seen(self) -> bool:  # the others should get moving pictures from this person
        return self.video or self.screen


def open_room(person: Person) -> None:
    person.tab.goto(person.url)
    person.where, person.audio, person.video, person.screen = "prejoin", True, True, False


def join(person: Person, after_ms: int, button: str = "Join the call") -> None:
    """Open the room unless it is open, and click Join ``after_ms`` later (0: at once). Join waits
    for the camera's answer; "Join now, without waiting" (shown once Join waits) goes in at once."""
    if person.where != "prejoin":
        open_room(person)
    if after_ms:
        time.sleep(after_ms / 1000)  # real time on purpose: the click comes at this moment of the camera's start
    person.tab.click("Join the call")
    if button != "Join the call" and person.tab.evaluate("() => !document.querySelector('#join-now').hidden"):
        person.tab.click(button)
    person.where = "call"


# ------------------------------------------------------------------ the actions people take
def act_join(person, rng):
    delay = rng.choice(JOIN_DELAYS_MS)
    join(person, delay)
    return f"join at {delay} ms"


def act_join_now(person, rng):
    join(person, 0, "Join now, without waiting")
    return "join now, without waiting for the camera"


def act_mute(person, rng):
    person.tab.click("Mute" if person.audio else "Unmute")
    person.audio = not person.audio
    return "mute" if not person.audio else "unmute"


def act_camera(person, rng):
    person.tab.click("Camera off" if person.video else "Camera on")
    person.video = not person.video
    return "camera off" if not person.video else "camera on"


def act_share(person, rng):
    person.tab.click("Stop sharing" if person.screen else "Share screen")
    person.screen = not person.screen
    if person.screen and person.tab.evaluate("() => document.querySelector('#share-dialog').open"):
        # Someone else shares: one screen at a time, so this share takes over from theirs.
        person.tab.click("Share instead")
        for other in person.others:
            other.screen = False
    if person.screen:  # the picker answers asynchronously; the button says when it is done
        wait_until(
            lambda: person.tab.evaluate("() => !!window.peerlearnCall.screen"),
            timeout=10,
            interval=0.1,
            what="the screen share starting",
        )
    return "share screen" if person.screen else "stop sharing"


def act_switch(person, rng):
    picked = person.tab.evaluate(OTHER_CAMERA)
    assert picked
    return f"switch camera to {picked}"


def act_reload(person, rng):
    person.tab.reload()
    person.where, person.audio, person.video, person.screen = "prejoin", True, True, False
    return "reload"


def act_leave(person, rng):
    person.tab.click("Leave call")
    person.where = "out"
    return "leave"


def act_drop(person, rng):
    person.proxy.cut()
    return "connection dropped"


def actions_for(person: Person) -> list:
    if person.where != "call":
        return [act_join, act_join, act_join_now]
    options = [act_mute, act_camera, act_mute, act_camera, act_reload, act_leave, act_drop]
    if person.tab.engine == "chromium":  # headless Firefox has no screen to share
        options.append(act_share)
    if person.tab.evaluate(CAMERAS) > 1:
        options.append(act_switch)
    return options


# ------------------------------------------------------------------ invariants
def violations(people: list[Person], before: dict, after: dict) -> list[str]:
    """What is wrong in the room, from two snapshots of every page taken a moment apart."""
    problems = []
    in_call = [p for p in people if p.where == "call"]
    for me in in_call:
        now, then = after[me.name], before[me.name]
        if now.get("where") != "call" or now.get("connection") != "connected":
            problems.append(f"{me.name} is {now.get('where')}/{now.get('connection')}, not in the call")
            continue
        others = sorted(p.name for p in in_call if p is not me)
        if now["people"] != others:
            problems.append(f"{me.name}'s people list says {now['people']}, the room holds {others}")
        if now["audio"] != me.audio or now["video"] != me.video:
            problems.append(f"{me.name} sends audio={now['audio']} video={now['video']}, chose {me.audio}/{me.video}")
        if me.seen and not (now["own"]["shown"] and now["own"]["width"] > 0):
            problems.append(
                f"{me.name}'s own tile does not show their {'screen' if me.screen else 'camera'}: {now['own']}"
            )
        for other in in_call:
            if other is me:
                continue
            peer, earlier = now["peers"].get(other.name), then.get("peers", {}).get(other.name)
            if peer is None:
                problems.append(f"{me.name} has no connection to {other.name}")
                continue
            if peer["state"] != "connected":
                problems.append(f"{me.name} -> {other.name} is {peer['state']}")
                continue
            if not (peer["sendsVideo"] or not (me.video or me.screen)) or not peer["sendsAudio"]:
                problems.append(f"{me.name} does not send their current tracks to {other.name}: {peer}")
            if other.seen:
                advancing = earlier is not None and peer["frames"] > earlier["frames"]
                if not advancing or peer["width"] == 0 or peer["off"]:
                    problems.append(f"{me.name} does not see {other.name}: {earlier and earlier['frames']} -> {peer}")
            elif not peer["off"]:
                problems.append(f"{me.name} shows {other.name}'s tile as on while their camera is off")
            if other.audio and (earlier is None or peer["packets"] <= earlier["packets"]):
                problems.append(
                    f"{me.name} does not hear {other.name}: {earlier and earlier['packets']} -> {peer['packets']}"
                )
    return problems


def snapshot(people: list[Person]) -> dict:
    return {p.name: (p.tab.evaluate(SNAPSHOT) if p.where != "out" else {"where": "out"}) for p in people}


def settle(people: list[Person], timeout: float = SETTLE_SECONDS) -> tuple[float, list[str]]:
    """Wait until every invariant holds; returns (seconds it took, [] ) or (timeout, what is wrong)."""
    started = time.monotonic()
    while True:
        before = snapshot(people)
        time.sleep(0.7)  # real time on purpose: media must be seen flowing (frames growing) over a window
        after = snapshot(people)
        problems = violations(people, before, after)
        elapsed = time.monotonic() - started
        if not problems or elapsed > timeout:
            return elapsed, problems


@dataclass
class Run:
    seed: int
    steps: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    slowest: float = 0.0
    diagnosis: dict = field(default_factory=dict)


def run_sequence(people: list[Person], seed: int, steps: int) -> Run:
    """Drive the people through ``steps`` generated actions (fixed by ``seed``), checking the room
    after each. Stops at the first step whose invariants do not come back."""
    rng = random.Random(seed)
    run = Run(seed)
    for person in people:
        person.company = people
    for number in range(1, steps + 1):
        person = rng.choice(people)
        action = rng.choice(actions_for(person))
        said = action(person, rng)
        run.steps.append(f"{person.name}: {said}")
        took, problems = settle(people)
        run.slowest = max(run.slowest, took)
        if problems:
            run.violations = [f"seed {seed}, step {number} ({run.steps[-1]}): {p}" for p in problems]
            run.diagnosis = {p.name: p.tab.evaluate(DIAGNOSE) for p in people if p.where == "call"}
            break
    return run

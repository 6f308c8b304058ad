// The call room: pre-join (preview, mic level, devices), then a mesh call over /ws/session/<room>/.
import { backoffDelay } from "../lib/backoff.js";
import { LocalMedia } from "./media.js";
import { PeerLink } from "./peer.js";

const root = document.querySelector("[data-room]");
const $ = (sel) => root.querySelector(sel);
const media = new LocalMedia();
const peers = new Map(); // peer id -> { info, link, tile, state }
const early = new Map(); // signals from peers we have not been told about yet
// shares: peer id -> the server's time (ms) of the screen share that peer started, for peers sharing now;
// myShareAt: that time for this page's own share, once its start came back from the server.
const call = { myId: null, socket: null, config: null, audio: true, video: true, screen: null, peers, shares: new Map(), myShareAt: null, startsOut: 0 };
window.peerlearnCall = call; // for diagnostics and the end-to-end tests

// ------------------------------------------------------------------ pre-join
// The room asks for the camera and microphone as it opens. Whatever the browser answers, and
// whenever (before or after Join, granted late, a device plugged in or picked), `showMedia` hands
// the current tracks to the preview, the own tile and every peer connection.
call.media = media;
call.localStream = new MediaStream(); // only groups our tracks under one id on the other side

async function fillDevices() {
  const { audio, video } = await LocalMedia.devices();
  for (const [select, list, kind] of [[$("#mic-select"), audio, "audio"], [$("#camera-select"), video, "video"]]) {
    const current = media.tracks[kind]?.getSettings?.().deviceId || select.value;
    select.replaceChildren(...list.map((d, i) => new Option(d.label || `${select.dataset.kind} ${i + 1}`, d.deviceId)));
    if (list.some((d) => d.deviceId === current)) select.value = current;
    select.disabled = list.length === 0;
  }
}

// What goes to the others, with the person's mute and camera choices applied first, so a track that
// has just arrived is never sent live against their choice.
function sentTracks() {
  if (media.audioTrack) media.audioTrack.enabled = call.audio;
  if (media.videoTrack) media.videoTrack.enabled = call.video;
  return { audio: media.audioTrack, video: call.screen?.getVideoTracks()[0] || media.videoTrack };
}

function refusal(error) {
  if (!error) return "";
  if (error.name === "NotAllowedError" || error.name === "SecurityError") return "blocked";
  if (error.name === "NotFoundError" || error.name === "OverconstrainedError") return "missing";
  return "busy";
}

function mediaWords() {
  if (!media.ready) return "Asking for your camera and microphone…";
  const { audio, video } = media.tracks;
  if (audio && video) return "Camera and microphone are ready.";
  const why = (kind) => ({ blocked: "is blocked in your browser", missing: "was not found", busy: "could not be started" })[refusal(media.errors[kind])] || "is not available";
  if (audio) return `Your camera ${why("video")}. You can join with your microphone only; allow the camera and it is added to the call.`;
  if (video) return `Your microphone ${why("audio")}. You can join with your camera only; allow the microphone and it is added to the call.`;
  return `Your camera and microphone are not available (the camera ${why("video")}). You can still join and listen; allow them and they are added to the call.`;
}

function showMedia() {
  const tracks = sentTracks();
  const own = tracks.video ? [tracks.video] : [];
  for (const video of [$("#preview"), $("#local-video")]) {
    const shown = video.srcObject?.getVideoTracks?.()[0] || null;
    if (shown !== (own[0] || null)) video.srcObject = own.length ? new MediaStream(own) : null;
  }
  for (const track of call.localStream.getTracks()) call.localStream.removeTrack(track);
  for (const track of Object.values(tracks)) if (track) call.localStream.addTrack(track);
  $(".tile-self").classList.toggle("video-off", !call.screen && !(call.video && media.videoTrack));
  // Only a camera is shown mirrored, as in a mirror; a screen reads as it is.
  $(".tile-self").classList.toggle("sharing", Boolean(call.screen));
  $("#preview").parentElement.classList.toggle("sharing", Boolean(call.screen));
  $("#preview").parentElement.classList.toggle("video-off", !(call.video && media.videoTrack));
  $("#preview").parentElement.classList.toggle("asking", !media.ready);
  for (const { link } of peers.values()) {
    link.setTrack("audio", tracks.audio);
    link.setTrack("video", tracks.video);
  }
  showToggles();
  if (root.dataset.state === "prejoin") $("#prejoin-status").textContent = call.waiting ? waitingWords() : mediaWords();
  else if (media.ready && (!media.audioTrack || !media.videoTrack)) setStatus(`${mediaWords().split(". ")[0]}.`);
  if (media.ready && call.metered !== media.audioTrack) {
    call.metered = media.audioTrack;
    media.meter($("#mic-level"));
  }
  sendMediaState();
}

media.addEventListener("asking", showMedia);
media.addEventListener("change", () => { showMedia(); fillDevices().catch(() => {}); });
$("#mic-select").addEventListener("change", (event) => media.switchDevice("audio", event.currentTarget.value));
$("#camera-select").addEventListener("change", (event) => media.switchDevice("video", event.currentTarget.value));
$("#join").addEventListener("click", () => join({ wait: true }));
$("#join-now").addEventListener("click", () => join({ wait: false }));

// ------------------------------------------------------------------ signaling
// The socket may drop (server restart, network change). The page then reconnects with jittered
// exponential backoff and the same client token, so the server resumes its presence under the
// same peer id; peer connections, and the media on them, stay up meanwhile.
const FINAL_CLOSES = {
  1000: "You left the call.",
  4401: "You left the call, or your access ended.",
  4403: "This call is not open to you right now.",
  4409: "You joined this call again from another tab or window.",
};
const RETRY = { baseMs: 400, capMs: 4000, giveUpMs: 180000 };
const clientToken = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
Object.assign(call, { reconnects: 0, attempt: 0, leaving: false, timers: [], events: [] });

function send(message) {
  if (call.socket?.readyState === WebSocket.OPEN) call.socket.send(JSON.stringify(message));
}

// Chat typed while reconnecting waits here and goes out as soon as the call is back.
const outbox = [];
function sendChat(text) {
  if (call.socket?.readyState === WebSocket.OPEN) return send({ type: "chat", text });
  if (outbox.length < 20) outbox.push(text);
  setStatus("Reconnecting… your message goes out as soon as we are back.");
}

// Join waits for the browser's answer about the camera and microphone, so nobody joins without the
// media they are about to be asked for; "Join now" goes in at once, and the media follow when the
// browser answers.
function waitingWords() {
  return "Joining as soon as your browser answers for the camera and microphone…";
}

async function join({ wait }) {
  if (call.socket) return; // a second click, or Join now after Join: already on the way
  if (wait && !media.ready) {
    call.waiting = true;
    $("#join").disabled = true;
    $("#join").textContent = "Waiting for camera and microphone…";
    $("#join-now").hidden = false;
    $("#prejoin-status").textContent = waitingWords();
    await media.settled;
    if (!call.waiting) return; // Join now was clicked meanwhile
  }
  call.waiting = false;
  $("#join").disabled = true;
  $("#join-now").hidden = true;
  $("#join").textContent = "Joining…";
  $("#prejoin-status").textContent = "Connecting…";
  connect();
}

function connect() {
  if (call.leaving) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${root.dataset.socket}?client=${clientToken}`);
  call.socket = socket;
  socket.addEventListener("message", (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    // The last few room events, for diagnostics and the end-to-end tests' failure reports.
    call.events.push([Math.round(performance.now()), message.type, message.peer?.id || message.peer_id || message.from || "", message.peer?.since || message.since || ""]);
    if (call.events.length > 60) call.events.shift();
    handlers[message.type]?.(message);
  });
  socket.addEventListener("close", (event) => {
    if (call.socket !== socket) return;
    stopTimers();
    const final = call.leaving ? FINAL_CLOSES[1000] : FINAL_CLOSES[event.code];
    if (final) return endCall(final);
    if (!call.myId) {
      // Never got in: the room may have closed, or the server is down. Say so and let the user retry.
      call.socket = null;
      $("#join").disabled = false;
      $("#join").textContent = "Join the call";
      $("#prejoin-status").textContent = "We could not reach the call. Check your connection and try again.";
      return;
    }
    reconnectLater();
  });
}

function reconnectLater() {
  call.downSince ??= Date.now();
  if (Date.now() - call.downSince > RETRY.giveUpMs) {
    return endCall("We could not reconnect to the call. Reload the page to try again.");
  }
  root.dataset.connection = "reconnecting";
  showBanner("Reconnecting… Your video keeps going while we do.");
  setStatus("Reconnecting…");
  const delay = backoffDelay(call.attempt, RETRY);
  call.attempt += 1;
  call.retryTimer = setTimeout(connect, delay);
}

function endCall(text) {
  stopTimers();
  for (const t of call.screen?.getTracks() ?? []) t.stop();
  call.screen = null;
  media.stop(); // the call is over: camera and microphone lights go off
  setStatus(text);
  showBanner(text);
  root.dataset.state = "ended";
  for (const id of [...peers.keys()]) removePeer(id);
}

function stopTimers() {
  for (const timer of call.timers.splice(0)) clearInterval(timer);
}

function showBanner(text) {
  const banner = $("#call-banner");
  banner.textContent = text;
  banner.hidden = !text;
}

const handlers = {
  welcome(message) {
    const again = call.myId !== null;
    call.myId = message.you.id;
    call.config = { iceServers: message.iceServers, iceTransportPolicy: message.iceTransportPolicy || "all" };
    call.attempt = 0;
    call.downSince = null;
    root.dataset.connection = "connected";
    const listed = new Map(message.peers.map((peer) => [peer.id, peer]));
    if (!again) {
      root.dataset.state = "in-call";
      $("#call-devices").append($("#device-fields")); // the same lists, at hand during the call
      $("#prejoin").hidden = true;
      $("#call").hidden = false;
      setStatus(message.peers.length ? "Connecting to the others…" : "You are the first one here. Waiting for the others…");
      addParticipant({ ...message.you, self: true });
      showMedia();
    } else {
      call.reconnects += 1;
      showBanner("");
      setStatus("Reconnected.");
      for (const id of [...peers.keys()]) {
        // A fresh presence means the others dropped us: start over with every peer.
        if (!message.resumed || listed.get(id)?.since !== peers.get(id).info.since) removePeer(id);
      }
      for (const { link } of peers.values()) {
        link.setConfiguration(call.config);
        link.restartIce(); // renegotiate over the new socket; only the impolite side acts
      }
    }
    for (const peer of message.peers) addPeer(peer, { initiator: true });
    // A share whose start never came back stamped (the socket dropped meanwhile) is announced again.
    if (call.screen && call.myShareAt === null) {
      call.startsOut = 0;
      announceShare("start");
    }
    sendMediaState();
    for (const text of outbox.splice(0)) send({ type: "chat", text });
    startTimers(message.heartbeat || 10, message.stats || 15);
    call.welcomedAt = Date.now();
  },
  "peer-joined"(message) {
    const known = peers.get(message.peer.id);
    if (known && !message.resumed && known.info.since === message.peer.since) return; // news we already had
    if (known && message.resumed) {
      known.link.restartIce(); // the peer's socket came back: renegotiate (impolite side only)
    } else {
      if (known) removePeer(message.peer.id); // it was dropped and came back as a new presence
      addPeer(message.peer, { initiator: false });
    }
    sendMediaState();
  },
  "peer-left"(message) {
    if (message.since && peers.get(message.peer_id)?.info.since !== message.since) return; // an earlier presence
    removePeer(message.peer_id);
  },
  signal(message) {
    const entry = peers.get(message.from);
    if (entry) entry.link.handle(message.data);
    else if (early.size < 50) early.set(message.from, [...(early.get(message.from) || []), message.data].slice(-200));
  },
  chat(message) { addChat(message); },
  "media-state"(message) {
    const entry = peers.get(message.from);
    if (!entry) return;
    entry.screen = message.screen === true;
    if (!entry.screen) call.shares.delete(message.from); // its share is over, whatever happened to its "stop"
    entry.tile.querySelector(".tile-muted").hidden = message.audio;
    entry.tile.querySelector(".tile-screen").hidden = !message.screen;
    entry.tile.classList.toggle("video-off", !message.video && !message.screen);
    entry.row.querySelector(".p-media").textContent = `${message.audio ? "" : "Muted"}${message.screen ? " · Sharing screen" : ""}`;
  },
  "screen-share"(message) {
    const at = Date.parse(message.at);
    if (!Number.isFinite(at) || (message.action !== "start" && message.action !== "stop")) return;
    if (message.from === call.myId) {
      // Our own start, stamped: the one that counts is the last one sent for the share we have now.
      if (message.action !== "start" || call.startsOut === 0) return;
      call.startsOut -= 1;
      if (call.startsOut === 0 && call.screen) call.myShareAt = at;
    } else {
      if (!peers.has(message.from)) return; // nobody in this call: changes nothing
      if (message.action === "start") call.shares.set(message.from, at);
      else call.shares.delete(message.from);
    }
    yieldToLaterShare();
  },
  error(message) { console.warn("signaling error", message.code, message.message); },
  pong() {},
};

// Heartbeats keep the presence alive (the server ends silent ones) and idle proxies open; the
// call quality summary goes to the server for the staff's call quality record.
function startTimers(heartbeatSeconds, statsSeconds) {
  stopTimers();
  call.timers.push(setInterval(() => send({ type: "ping", t: Date.now() }), heartbeatSeconds * 1000));
  call.timers.push(setInterval(sendStats, statsSeconds * 1000));
}

async function sendStats() {
  const links = [...peers.values()].map((entry) => entry.link);
  if (!links.length) return;
  const parts = await Promise.all(links.map((link) => link.summary().catch(() => null)));
  const ok = parts.filter(Boolean);
  if (!ok.length) return;
  const values = (key) => ok.map((p) => p[key]).filter((v) => v != null);
  const mean = (list) => (list.length ? list.reduce((a, b) => a + b, 0) / list.length : null);
  const sum = (list) => (list.length ? list.reduce((a, b) => a + b, 0) : null);
  const pick = (key) => (ok.some((p) => p[key] === "relay") ? "relay" : ok.find((p) => p[key])?.[key] || "");
  const clamp = (v, high) => (v == null ? null : Math.min(high, Math.max(0, v)));
  send({
    type: "stats",
    rtt_ms: clamp(mean(values("rtt_ms")), 60000),
    loss_pct: clamp(values("loss_pct").length ? Math.max(...values("loss_pct")) : null, 100),
    in_kbps: clamp(sum(values("in_kbps")), 1000000),
    out_kbps: clamp(sum(values("out_kbps")), 1000000),
    local: pick("local"),
    remote: pick("remote"),
    protocol: ok.some((p) => p.protocol === "tcp") ? "tcp" : ok.find((p) => p.protocol)?.protocol || "",
    ice_restarts: Math.min(100000, links.reduce((n, link) => n + link.iceRestarts, 0)),
    reconnects: Math.min(100000, call.reconnects),
  });
}

// ------------------------------------------------------------------ peers and tiles
function addPeer(info, { initiator }) {
  if (peers.has(info.id) || info.id === call.myId) return;
  const tile = document.createElement("figure");
  tile.className = "tile";
  tile.dataset.peer = info.id;
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  const caption = document.createElement("figcaption");
  const name = document.createElement("span");
  name.textContent = `${info.name}${info.role === "mentor" ? " (mentor)" : ""}`;
  const muted = document.createElement("span");
  muted.className = "tile-muted";
  muted.textContent = "Muted";
  muted.hidden = true;
  const screen = document.createElement("span");
  screen.className = "tile-screen";
  screen.textContent = "Sharing screen";
  screen.hidden = true;
  caption.append(name, muted, screen);
  tile.append(video, caption);
  $("#tiles").append(tile);
  const row = addParticipant(info);
  const link = new PeerLink({
    remote: info.id,
    // One side of every pair is polite, decided the same way on both sides whoever joined first,
    // so a pair that both think they start (after a reconnect) still settles its offers.
    polite: call.myId < info.id,
    initiator,
    config: call.config,
    tracks: sentTracks(),
    stream: call.localStream,
    send: (data) => send({ type: "signal", to: info.id, data }),
    onTrack: (stream) => { if (video.srcObject !== stream) video.srcObject = stream; },
    onState: (state) => {
      row.querySelector(".p-state").textContent = state;
      tile.dataset.state = state;
      if (state === "connected") setStatus("Connected.");
    },
  });
  peers.set(info.id, { info, link, tile, row });
  for (const data of early.get(info.id) || []) link.handle(data);
  early.delete(info.id);
  layout();
}

function removePeer(id) {
  const entry = peers.get(id);
  call.shares.delete(id);
  if (!entry) return;
  entry.link.close();
  entry.tile.remove();
  entry.row.remove();
  peers.delete(id);
  layout();
}

function addParticipant(info) {
  const row = document.createElement("li");
  row.dataset.peer = info.id;
  const name = document.createElement("span");
  name.className = "p-name";
  name.textContent = `${info.name}${info.self ? " (you)" : ""}${info.role === "mentor" ? " · mentor" : ""}`;
  const state = document.createElement("span");
  state.className = "p-state";
  state.textContent = info.self ? "" : "connecting";
  const mediaState = document.createElement("span");
  mediaState.className = "p-media";
  row.append(name, state, mediaState);
  $("#participants").append(row);
  $("#participant-count").textContent = String($("#participants").children.length);
  return row;
}

function layout() {
  $("#tiles").dataset.count = String(peers.size + 1);
  $("#participant-count").textContent = String(peers.size + 1);
}

// ------------------------------------------------------------------ chat
// Chat times as the rest of the site shows them: 24-hour, in the person's own time zone (their profile's).
const chatClock = (() => {
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  try {
    return new Intl.DateTimeFormat("en-GB", { ...options, timeZone: root.dataset.timeZone || "UTC" });
  } catch {
    return new Intl.DateTimeFormat("en-GB", { ...options, timeZone: "UTC" }); // a zone this browser does not know
  }
})();
function addChat({ from, name, text, at }) {
  const item = document.createElement("li");
  item.className = from === call.myId ? "mine" : "";
  const who = document.createElement("strong");
  who.textContent = from === call.myId ? "You" : name;
  const time = document.createElement("time");
  time.dateTime = at;
  const sent = new Date(at);
  time.textContent = Number.isNaN(sent.getTime()) ? "" : chatClock.format(sent);
  const body = document.createElement("p");
  body.textContent = text; // never innerHTML: chat text comes from people
  item.append(who, time, body);
  $("#chat-log").append(item);
  $("#chat-log").scrollTop = $("#chat-log").scrollHeight;
}

$("#chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("#chat-input");
  const text = input.value.trim();
  if (!text) return;
  sendChat(text.slice(0, 2000));
  input.value = "";
});

// ------------------------------------------------------------------ controls
// What the others are told matches what they get: no "camera on" without a camera track.
function sendMediaState() {
  send({
    type: "media-state",
    audio: call.audio && Boolean(media.audioTrack),
    video: call.video && Boolean(media.videoTrack),
    screen: Boolean(call.screen),
  });
}

function toggle(button, on, labels) {
  button.setAttribute("aria-pressed", String(!on));
  button.setAttribute("aria-label", on ? labels[0] : labels[1]);
  button.querySelector(".label").textContent = on ? labels[0] : labels[1];
}

// On while the person wants it and the page has it (or is still asking the browser for it).
function showToggles() {
  const on = (kind) => call[kind] && (Boolean(media.tracks[kind]) || !media.ready);
  for (const button of root.querySelectorAll("[data-toggle=audio]")) toggle(button, on("audio"), ["Mute", "Unmute"]);
  for (const button of root.querySelectorAll("[data-toggle=video]")) toggle(button, on("video"), ["Camera off", "Camera on"]);
}

// The same buttons before and during the call. Turning on a kind the page has no track for asks the
// browser again (it may prompt, or say it is blocked).
async function toggleKind(kind) {
  if (!media.ready) {
    // Still asking the browser: the choice is kept and applied to the track when it comes.
    call[kind] = !call[kind];
    return showMedia();
  }
  if (!media.tracks[kind]) {
    call[kind] = true;
    await media.fillGaps("asked", [kind]);
    if (!media.tracks[kind]) {
      const words = mediaWords();
      if (root.dataset.state === "prejoin") $("#prejoin-status").textContent = words;
      else setStatus(words);
    }
    return showMedia();
  }
  call[kind] = !call[kind];
  showMedia();
}

for (const button of root.querySelectorAll("[data-toggle]")) {
  button.addEventListener("click", () => toggleKind(button.dataset.toggle));
}

// Phones and some browsers cannot share a screen at all: offer no button that cannot work.
// One person shares at a time: sharing while someone else does asks first, and takes the screen over.
const shareDialog = $("#share-dialog");
$("#toggle-screen").hidden = !navigator.mediaDevices?.getDisplayMedia;
$("#toggle-screen").addEventListener("click", () => {
  if (call.screen) return stopScreen();
  if (call.screenPending) return; // the picker is already open
  const other = currentSharer();
  if (!other) return startScreen();
  $("#share-question").textContent = `${other.info.name} is sharing. Share instead?`;
  shareDialog.showModal();
});
$("#share-cancel").addEventListener("click", () => shareDialog.close());
$("#share-instead").addEventListener("click", () => {
  shareDialog.close();
  startScreen(); // this click is the gesture the browser's screen picker needs
});

// Who else shares now: the latest start heard, or else anyone whose media state says so.
function currentSharer() {
  let latest = null;
  for (const [id, at] of call.shares) if (peers.has(id) && (!latest || at > latest.at)) latest = { id, at };
  if (latest) return peers.get(latest.id);
  return [...peers.values()].find((entry) => entry.screen) || null;
}

async function startScreen() {
  if (call.screen || call.screenPending) return;
  call.screenPending = true;
  let screen;
  try {
    screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch (error) {
    // Cancelling the browser's picker is a choice, not a fault; anything else (no screen, refused
    // by the system or a policy) is said.
    const cancelled = error.name === "AbortError" || (error.name === "NotAllowedError" && !/system|policy/i.test(error.message));
    if (!cancelled) setStatus("Screen sharing is not available here.");
    return;
  } finally {
    call.screenPending = false;
  }
  if (call.leaving || root.dataset.state === "ended") {
    for (const t of screen.getTracks()) t.stop();
    return;
  }
  call.screen = screen;
  call.myShareAt = null;
  screen.getVideoTracks()[0].addEventListener("ended", () => { if (call.screen === screen) stopScreen(); });
  toggle($("#toggle-screen"), false, ["Share screen", "Stop sharing"]);
  announceShare("start");
  showMedia();
}

function stopScreen() {
  if (!call.screen) return;
  for (const t of call.screen.getTracks()) t.stop();
  call.screen = null;
  call.myShareAt = null;
  toggle($("#toggle-screen"), true, ["Share screen", "Stop sharing"]);
  announceShare("stop");
  showMedia();
}

function announceShare(action) {
  if (action === "start" && call.socket?.readyState === WebSocket.OPEN) call.startsOut += 1;
  send({ type: "screen-share", action });
}

// Every page orders the starts by the server's stamps (then by peer id), so all agree on the latest
// one, even for two people who pressed Share at once: an earlier share gives way to it.
function yieldToLaterShare() {
  if (!call.screen || call.myShareAt === null) return;
  const mine = call.myShareAt;
  for (const [id, at] of call.shares) {
    if (at > mine || (at === mine && id > call.myId)) {
      const name = peers.get(id)?.info.name || "Someone";
      stopScreen();
      setStatus(`${name} took over the screen share.`);
      return;
    }
  }
}

$("#leave").addEventListener("click", () => {
  call.leaving = true;
  clearTimeout(call.retryTimer);
  send({ type: "leave" });
  call.socket?.close(1000);
  media.stop();
  location.href = root.dataset.after;
});

// ------------------------------------------------------------------ report a problem
const reportDialog = $("#report-dialog");
const reportForm = $("#report-form");
let reportSending = false;
$("#report-open").addEventListener("click", () => {
  $("#report-result").textContent = "";
  // Each opening is a new report: a fresh one-time token, and Send pressable again.
  reportForm.elements.once.value = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  delete reportForm.dataset.sent;
  reportForm.querySelector('[type="submit"]').disabled = false;
  reportDialog.showModal();
});
$("#report-cancel").addEventListener("click", () => reportDialog.close());
reportForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  // Send pressed again while the report is on its way, or after it was filed: it is filed once, and
  // the thank-you stays (the server answers a repeat of the same token with the same answer anyway).
  if (reportSending || reportForm.dataset.sent) return;
  reportSending = true;
  const result = $("#report-result");
  const button = reportForm.querySelector('[type="submit"]');
  button.disabled = true;
  try {
    const response = await fetch(reportForm.action, { method: "POST", body: new FormData(reportForm), headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      reportForm.dataset.sent = "true";
      result.className = "small ok";
      result.textContent = body.message;
      reportForm.querySelector("textarea").value = "";
      setTimeout(() => reportDialog.close(), 2500);
    } else {
      result.className = "small bad";
      const errors = body.errors ? Object.values(body.errors).flat() : body.error ? [body.error] : [];
      result.textContent = errors.join(" ") || "We could not send your report. Try again.";
    }
  } catch {
    result.className = "small bad";
    result.textContent = "We could not send your report: you seem to be offline. Try again in a moment.";
  } finally {
    reportSending = false;
    if (!reportForm.dataset.sent) button.disabled = false;
  }
});

function setStatus(text) {
  $("#call-status").textContent = text;
}

// Closing the tab or navigating away is a goodbye: the others drop this peer at once.
// A page brought back from the back/forward cache has said its goodbye: start it afresh.
window.addEventListener("pageshow", (event) => { if (event.persisted) location.reload(); });
navigator.mediaDevices?.addEventListener?.("devicechange", () => fillDevices().catch(() => {}));

window.addEventListener("pagehide", () => {
  call.leaving = true;
  send({ type: "leave" });
  call.socket?.close(1000);
});

media.start();

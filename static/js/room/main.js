// The call room: pre-join (preview, mic level, devices), then a mesh call over /ws/session/<room>/.
import { LocalMedia } from "./media.js";
import { PeerLink } from "./peer.js";

const root = document.querySelector("[data-room]");
const $ = (sel) => root.querySelector(sel);
const media = new LocalMedia();
const peers = new Map(); // peer id -> { info, link, tile, state }
const early = new Map(); // signals from peers we have not been told about yet
const call = { myId: null, socket: null, config: null, audio: true, video: true, screen: null, peers };
window.peerlearnCall = call; // for diagnostics and the end-to-end tests

// ------------------------------------------------------------------ pre-join
async function fillDevices() {
  const { audio, video } = await LocalMedia.devices();
  for (const [select, list] of [[$("#mic-select"), audio], [$("#camera-select"), video]]) {
    select.replaceChildren(...list.map((d, i) => new Option(d.label || `${select.dataset.kind} ${i + 1}`, d.deviceId)));
    select.disabled = list.length === 0;
  }
}

async function startPreview() {
  const stream = await media.start({ audioDeviceId: $("#mic-select").value || undefined, videoDeviceId: $("#camera-select").value || undefined });
  $("#preview").srcObject = stream;
  media.meter($("#mic-level"));
  $("#prejoin-status").textContent = media.error
    ? "We could not use your camera. You can still join with microphone only, or just listen."
    : "Camera and microphone are ready.";
  await fillDevices();
}

$("#mic-select").addEventListener("change", startPreview);
$("#camera-select").addEventListener("change", startPreview);
$("#join").addEventListener("click", join);

// ------------------------------------------------------------------ signaling
function send(message) {
  if (call.socket?.readyState === WebSocket.OPEN) call.socket.send(JSON.stringify(message));
}

function join() {
  $("#join").disabled = true;
  $("#prejoin-status").textContent = "Connecting…";
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${root.dataset.socket}`);
  call.socket = socket;
  socket.addEventListener("message", (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    handlers[message.type]?.(message);
  });
  socket.addEventListener("close", (event) => {
    setStatus(event.code === 4401 ? "You left the call, or your access ended." : event.code === 1000 ? "You left the call." : "Disconnected from the call.");
    root.dataset.state = "ended";
    for (const id of [...peers.keys()]) removePeer(id);
  });
}

const handlers = {
  welcome(message) {
    call.myId = message.you.id;
    call.config = { iceServers: message.iceServers, iceTransportPolicy: message.iceTransportPolicy || "all" };
    root.dataset.state = "in-call";
    $("#local-video").srcObject = media.stream;
    $("#prejoin").hidden = true;
    $("#call").hidden = false;
    setStatus(message.peers.length ? "Connecting to the others…" : "You are the first one here. Waiting for the others…");
    addParticipant({ ...message.you, self: true });
    for (const peer of message.peers) addPeer(peer, { initiator: true });
    sendMediaState();
  },
  "peer-joined"(message) { addPeer(message.peer, { initiator: false }); sendMediaState(); },
  "peer-left"(message) { removePeer(message.peer_id); },
  signal(message) {
    const entry = peers.get(message.from);
    if (entry) entry.link.handle(message.data);
    else if (early.size < 50) early.set(message.from, [...(early.get(message.from) || []), message.data].slice(-200));
  },
  chat(message) { addChat(message); },
  "media-state"(message) {
    const entry = peers.get(message.from);
    if (!entry) return;
    entry.tile.querySelector(".tile-muted").hidden = message.audio;
    entry.tile.querySelector(".tile-screen").hidden = !message.screen;
    entry.tile.classList.toggle("video-off", !message.video && !message.screen);
    entry.row.querySelector(".p-media").textContent = `${message.audio ? "" : "Muted"}${message.screen ? " · Sharing screen" : ""}`;
  },
  error(message) { console.warn("signaling error", message.code, message.message); },
  pong() {},
};

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
    polite: !initiator,
    initiator,
    config: call.config,
    localStream: media.stream,
    send: (data) => send({ type: "signal", to: info.id, data }),
    onTrack: (stream) => { if (video.srcObject !== stream) video.srcObject = stream; },
    onState: (state) => {
      row.querySelector(".p-state").textContent = state;
      tile.dataset.state = state;
      if (state === "connected") setStatus("Connected.");
    },
  });
  if (call.screen) link.replaceVideo(call.screen.getVideoTracks()[0]);
  peers.set(info.id, { info, link, tile, row });
  for (const data of early.get(info.id) || []) link.handle(data);
  early.delete(info.id);
  layout();
}

function removePeer(id) {
  const entry = peers.get(id);
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
function addChat({ from, name, text, at }) {
  const item = document.createElement("li");
  item.className = from === call.myId ? "mine" : "";
  const who = document.createElement("strong");
  who.textContent = from === call.myId ? "You" : name;
  const time = document.createElement("time");
  time.dateTime = at;
  time.textContent = new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
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
  send({ type: "chat", text: text.slice(0, 2000) });
  input.value = "";
});

// ------------------------------------------------------------------ controls
function sendMediaState() {
  send({ type: "media-state", audio: call.audio, video: call.video, screen: Boolean(call.screen) });
}

function toggle(button, on, labels) {
  button.setAttribute("aria-pressed", String(!on));
  button.setAttribute("aria-label", on ? labels[0] : labels[1]);
  button.querySelector(".label").textContent = on ? labels[0] : labels[1];
}

$("#toggle-mic").addEventListener("click", (event) => {
  call.audio = !call.audio;
  media.audioTrack && (media.audioTrack.enabled = call.audio);
  toggle(event.currentTarget, call.audio, ["Mute", "Unmute"]);
  sendMediaState();
});

$("#toggle-camera").addEventListener("click", (event) => {
  call.video = !call.video;
  media.videoTrack && (media.videoTrack.enabled = call.video);
  toggle(event.currentTarget, call.video, ["Camera off", "Camera on"]);
  sendMediaState();
});

$("#toggle-screen").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  if (call.screen) return stopScreen(button);
  try {
    call.screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch {
    return;
  }
  const track = call.screen.getVideoTracks()[0];
  track.addEventListener("ended", () => stopScreen(button));
  for (const { link } of peers.values()) await link.replaceVideo(track);
  $("#local-video").srcObject = call.screen;
  toggle(button, false, ["Share screen", "Stop sharing"]);
  sendMediaState();
});

async function stopScreen(button) {
  call.screen?.getTracks().forEach((t) => t.stop());
  call.screen = null;
  for (const { link } of peers.values()) await link.replaceVideo(media.videoTrack);
  $("#local-video").srcObject = media.stream;
  toggle(button, true, ["Share screen", "Stop sharing"]);
  sendMediaState();
}

$("#leave").addEventListener("click", () => {
  send({ type: "leave" });
  call.socket?.close(1000);
  media.stop();
  location.href = root.dataset.after;
});

function setStatus(text) {
  $("#call-status").textContent = text;
}

// Keep-alive, so idle proxies do not drop the socket.
setInterval(() => send({ type: "ping", t: Date.now() }), 25000);

startPreview();

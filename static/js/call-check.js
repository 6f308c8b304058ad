// Call check: camera preview, microphone level, devices, and a real connection test through the
// ICE servers this site hands out (direct, STUN, and TURN relays over UDP / TCP / TLS).
//
// Every network step has a time limit, so the page always ends with a verdict. The relay test is
// end to end: two peer connections in this page, both limited to relay candidates, signalled
// locally, with a data channel that must open and echo a message.
import { selectedCandidatePair } from "./lib/candidate-pair.js";
import { micMeterStart } from "./lib/mic-meter.js";

const STEP_TIMEOUT_MS = 8000;
const PERMISSION_HINT_MS = 2500;
const QUIET_AFTER_MS = 6000;
const HEARD_LEVEL = 6; // of 100: above the hiss of a quiet room
const TRANSPORTS = ["udp", "tcp", "tls"];
const TRANSPORT_NAME = { udp: "UDP", tcp: "TCP", tls: "TLS" };
const BADGE = {
  running: "Checking…",
  waiting: "Waiting for you",
  works: "Works",
  quiet: "No sound yet",
  blocked: "Blocked",
  missing: "Not found",
  busy: "In use",
  "not-configured": "Not configured",
  "after-booking": "After you book",
};

const root = document.querySelector("[data-call-check]");
const $ = (selector) => document.querySelector(selector);
const iceServers = JSON.parse($("#cc-ice-servers").textContent);
const loadedAt = Date.now();
const credentialTtlMs = Number(root.dataset.credentialTtl || 0) * 1000;
// The server has a relay but hands its credentials only to people with a session ahead.
const relayWithheld = "relayWithheld" in root.dataset;
const RELAY_AFTER_BOOKING = "The relay (TURN) test runs when you have a call coming up: a session with a booked seat in the next two days, as its mentor or a learner on it.";

const state = {
  running: false,
  runs: 0,
  media: { camera: null, microphone: null },
  devices: null,
  network: null, // { rows: {host, srflx, udp, tcp, tls}, gathered, relays }
};
window.peerlearnCallCheck = state; // for support ("copy results") and the browser tests

const media = { stream: null, audioContext: null, meter: null, generation: 0, quietTimer: 0, heard: false };

// ------------------------------------------------------------------ helpers
function withTimeout(promise, timeoutMs, fallback) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(fallback), timeoutMs); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const unique = (items) => [...new Set(items.filter(Boolean))];
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : word.endsWith("s") ? "es" : "s"}`;
const listWords = (items) => (items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`);
const ms = (value) => `${Math.round(value)} ms`;

function setRow(id, { status, text, detail = "" }) {
  const row = document.getElementById(id);
  row.dataset.status = status;
  row.querySelector(".cc-badge").textContent = BADGE[status] || status;
  row.querySelector(".cc-row-text").textContent = text;
  let small = row.querySelector(".cc-row-detail");
  if (detail && !small) {
    small = document.createElement("p");
    small.className = "cc-row-detail";
    row.append(small);
  }
  if (small) small.textContent = detail;
  if (!detail) small?.remove();
}

// ------------------------------------------------------------------ camera and microphone
const videoConstraints = (id) => ({ width: { ideal: 1280 }, height: { ideal: 720 }, ...(id ? { deviceId: { exact: id } } : {}) });
const audioConstraints = (id) => (id ? { deviceId: { exact: id } } : true);

async function openMedia({ cameraId, micId }) {
  const ask = (constraints) => navigator.mediaDevices.getUserMedia(constraints);
  try {
    const stream = await ask({ video: videoConstraints(cameraId), audio: audioConstraints(micId) });
    return { stream, cameraError: null, micError: null };
  } catch {
    // One device failed, or both: ask for each alone, so the message names the right one.
    const [video, audio] = await Promise.allSettled([ask({ video: videoConstraints(cameraId) }), ask({ audio: audioConstraints(micId) })]);
    const tracks = [...(video.value?.getTracks() || []), ...(audio.value?.getTracks() || [])];
    return { stream: new MediaStream(tracks), cameraError: video.reason || null, micError: audio.reason || null };
  }
}

// `device`: "camera", "microphone" or "camera and microphone".
function mediaProblem(error, device) {
  const them = device.includes(" and ") ? "them" : "it";
  const problem = (status, short, text) => ({ status, short, text, errorName: error?.name || "Error" });
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return problem(
        "blocked",
        `your browser blocks the ${device}`,
        `Permission denied: your browser or your computer's privacy settings block the ${device} for this site. Click the camera icon in the address bar, allow ${them}, then run the test again.`,
      );
    case "NotFoundError":
    case "OverconstrainedError":
      return problem("missing", `no ${device} found`, `No ${device} found. Plug ${them} in or switch ${them} on, then run the test again.`);
    case "NotReadableError":
    case "AbortError":
      return problem(
        "busy",
        `your ${device} cannot start`,
        `Your ${device} would not start: another app (another video call, the camera app) is probably using ${them}. Close that app, then run the test again.`,
      );
    default:
      return problem(
        "blocked",
        `your ${device} cannot start`,
        `Your ${device} would not start (${error?.name || "unknown error"}). Run the test again, or try another browser.`,
      );
  }
}

function stopMedia() {
  media.meter?.stop();
  media.meter = null;
  clearTimeout(media.quietTimer);
  for (const track of media.stream?.getTracks() ?? []) track.stop();
  media.stream = null;
  const meter = $("#cc-mic-level");
  meter.style.setProperty("--level", "0%");
  meter.setAttribute("aria-valuenow", "0");
}

function renderMedia() {
  const { camera, microphone } = state.media;
  if (camera) setRow("cc-camera", camera);
  if (microphone) setRow("cc-microphone", microphone);
  const preview = $(".cc-preview");
  const hasVideo = camera?.status === "works";
  preview.dataset.hasVideo = String(hasVideo);
  if (!hasVideo) $("#cc-preview-empty").textContent = camera ? (camera.status === "waiting" ? "Waiting for your permission…" : "No camera picture") : "Starting your camera…";
}

async function startMedia() {
  const generation = ++media.generation;
  stopMedia();
  media.heard = false;
  state.media = {
    camera: { status: "running", text: "Asking your browser for the camera…" },
    microphone: { status: "running", text: "Asking your browser for the microphone…" },
  };
  renderMedia();
  if (!navigator.mediaDevices?.getUserMedia) {
    const text = "Your browser only allows the camera and microphone on secure (https://) pages, or it does not support video calls. Open this site over https:// in an up-to-date browser.";
    state.media = {
      camera: { status: "blocked", short: "this browser cannot use the camera and microphone here", text },
      microphone: { status: "blocked", text }, // one cause: reported once, with the camera
    };
    renderMedia();
    renderSummary();
    return;
  }
  const hint = setTimeout(() => {
    if (generation !== media.generation) return;
    const text = "Waiting for your permission: allow the camera and microphone when your browser asks (look near the address bar).";
    state.media = { camera: { status: "waiting", short: "allow the camera and microphone when your browser asks", text }, microphone: { status: "waiting", text } };
    renderMedia();
    renderSummary();
  }, PERMISSION_HINT_MS);
  const { stream, cameraError, micError } = await openMedia({ cameraId: $("#cc-camera-select").value, micId: $("#cc-mic-select").value });
  clearTimeout(hint);
  if (generation !== media.generation) {
    for (const track of stream.getTracks()) track.stop(); // a newer run took over
    return;
  }
  media.stream = stream;
  const video = $("#cc-preview");
  video.srcObject = stream;

  const videoTrack = stream.getVideoTracks()[0];
  if (videoTrack) {
    state.media.camera = { status: "works", text: "Your camera works: you should see yourself above.", detail: videoTrack.label };
    video.addEventListener("loadedmetadata", () => {
      if (media.stream !== stream) return;
      state.media.camera.detail = `${videoTrack.label} · ${video.videoWidth}×${video.videoHeight}`;
      renderMedia();
    }, { once: true });
    videoTrack.addEventListener("ended", () => {
      if (media.stream !== stream) return;
      state.media.camera = { status: "blocked", short: "your camera stopped", text: "Your camera stopped sending pictures. Was it unplugged? Pick a camera below or run the test again." };
      renderMedia();
      renderSummary();
    });
  } else {
    state.media.camera = mediaProblem(cameraError, "camera");
  }

  const audioTrack = stream.getAudioTracks()[0];
  if (audioTrack) {
    state.media.microphone = { status: "works", text: "Your microphone is on. Say something: the bar under the preview moves when we hear you.", detail: audioTrack.label };
    startMeter(audioTrack, stream);
  } else {
    state.media.microphone = mediaProblem(micError, "microphone");
  }
  renderMedia();
  await refreshDevices();
  renderSummary();
}

function startMeter(track, stream) {
  if (!window.AudioContext) return;
  media.audioContext ||= new AudioContext();
  media.audioContext.resume().catch(() => {});
  const meter = $("#cc-mic-level");
  let shown = 0;
  let announcedAt = 0;
  media.meter = micMeterStart(media.audioContext, track, (level, now) => {
    shown = Math.max(level, shown * 0.9); // rise at once, fall gently
    meter.style.setProperty("--level", `${shown.toFixed(1)}%`);
    if (now - announcedAt > 120) {
      meter.setAttribute("aria-valuenow", String(Math.round(shown)));
      announcedAt = now;
    }
    if (level >= HEARD_LEVEL && !media.heard) heardYou(stream);
    return true;
  }, { fftSize: 1024 });
  media.quietTimer = setTimeout(() => {
    if (media.heard || media.stream !== stream) return;
    state.media.microphone = {
      status: "quiet",
      note: "We heard nothing from your microphone yet: check that it is not muted, or pick another one.",
      text: "We can't hear anything yet. Say something. If the bar stays still, check that your microphone is not muted (headsets and some laptops have a mute switch), or pick another microphone below.",
      detail: track.label,
    };
    renderMedia();
    renderSummary();
  }, QUIET_AFTER_MS);
}

function heardYou(stream) {
  media.heard = true;
  if (media.stream !== stream) return;
  state.media.microphone = { status: "works", text: "Your microphone works: we can hear you.", detail: state.media.microphone?.detail || "" };
  renderMedia();
  renderSummary();
}

// ------------------------------------------------------------------ devices
function fillSelect(select, devices, current, none) {
  const options = devices.map((device, i) => new Option(device.label || `${select.dataset.kind} ${i + 1}`, device.deviceId));
  select.replaceChildren(...(options.length ? options : [new Option(none, "")]));
  if (current && devices.some((device) => device.deviceId === current)) select.value = current;
  select.disabled = devices.length === 0;
}

function fillList(list, devices, kind, inUse) {
  const items = devices.map((device, i) => {
    const item = document.createElement("li");
    item.textContent = device.label || `${kind} ${i + 1} (name shown once you allow access)`;
    if (device.deviceId && device.deviceId === inUse) {
      const badge = document.createElement("span");
      badge.className = "cc-in-use";
      badge.textContent = "in use";
      item.append(" ", badge);
    }
    return item;
  });
  if (!items.length) {
    const item = document.createElement("li");
    item.className = "muted";
    item.textContent = `No ${kind.toLowerCase()} found`;
    items.push(item);
  }
  list.replaceChildren(...items);
}

async function refreshDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const all = await navigator.mediaDevices.enumerateDevices();
  // Until access is allowed, browsers list devices without ids or names (one per kind, or none).
  const byKind = (kind) => all.filter((device) => device.kind === kind);
  const cameras = byKind("videoinput");
  const microphones = byKind("audioinput");
  const speakers = byKind("audiooutput");
  const inUse = {
    camera: media.stream?.getVideoTracks()[0]?.getSettings().deviceId,
    microphone: media.stream?.getAudioTracks()[0]?.getSettings().deviceId,
  };
  const none = (list, what) => (list.length ? "Allow access first" : `No ${what} found`);
  const cameraSelect = $("#cc-camera-select");
  const micSelect = $("#cc-mic-select");
  const speakerSelect = $("#cc-speaker-select");
  fillSelect(cameraSelect, cameras.filter((d) => d.deviceId), inUse.camera || cameraSelect.value, none(cameras, "camera"));
  fillSelect(micSelect, microphones.filter((d) => d.deviceId), inUse.microphone || micSelect.value, none(microphones, "microphone"));
  if ("setSinkId" in HTMLMediaElement.prototype) {
    fillSelect(speakerSelect, speakers.filter((d) => d.deviceId), speakerSelect.value, "Default speakers");
  } else {
    fillSelect(speakerSelect, [], "", "Your system's default speakers");
    $("#cc-speaker-help").textContent = "This browser plays sound on your system's default speakers: change them in your computer's sound settings.";
  }
  fillList($("#cc-list-cameras"), cameras, "Camera", inUse.camera);
  fillList($("#cc-list-microphones"), microphones, "Microphone", inUse.microphone);
  fillList($("#cc-list-speakers"), speakers, "Speaker", null);
  const names = (list) => list.map((d) => d.label || "(name hidden)");
  state.devices = { cameras: names(cameras), microphones: names(microphones), speakers: names(speakers) };
}

async function playTestSound() {
  const button = $("#cc-play");
  button.disabled = true;
  const context = new AudioContext();
  const output = context.createMediaStreamDestination();
  const audio = new Audio();
  audio.srcObject = output.stream;
  try {
    const sinkId = $("#cc-speaker-select").value;
    if (sinkId && audio.setSinkId) await audio.setSinkId(sinkId);
    await audio.play();
    const gain = context.createGain();
    gain.connect(output);
    const start = context.currentTime + 0.05;
    [[660, 0], [880, 0.28]].forEach(([frequency, offset]) => {
      const tone = context.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(start + offset);
      tone.stop(start + offset + 0.26);
    });
    gain.gain.setValueAtTime(0, start);
    gain.gain.linearRampToValueAtTime(0.3, start + 0.03);
    gain.gain.setValueAtTime(0.3, start + 0.5);
    gain.gain.linearRampToValueAtTime(0, start + 0.56);
    await new Promise((resolve) => setTimeout(resolve, 800));
    $("#cc-speaker-help").textContent = "Did you hear two notes? If not, turn the volume up or pick other speakers.";
  } catch (error) {
    $("#cc-speaker-help").textContent = `We could not play a sound on these speakers (${error.name}). Pick other speakers, or check your sound settings.`;
  } finally {
    audio.pause();
    context.close();
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ ICE configuration
function parseIceUrl(url) {
  const match = /^(stuns?|turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(String(url).trim());
  if (!match) return null;
  const scheme = match[1].toLowerCase();
  const secure = scheme.endsWith("s");
  const transport = (match[4] || (secure ? "tcp" : "udp")).toLowerCase();
  const kind = scheme.startsWith("stun") ? "stun" : secure ? "tls" : transport;
  return { url, kind, host: match[2], port: Number(match[3] || (secure ? 5349 : 3478)), transport };
}

function iceConfig(servers) {
  const config = { stun: [], relay: { udp: [], tcp: [], tls: [] } };
  for (const server of servers) {
    for (const url of [].concat(server.urls || [])) {
      const parsed = parseIceUrl(url);
      if (!parsed) continue;
      if (parsed.kind === "stun") config.stun.push(parsed);
      else config.relay[parsed.kind].push({ ...parsed, server: { urls: url, username: server.username, credential: server.credential } });
    }
  }
  return config;
}

// "UDP 3478 to turn.example.com"
function openings(entries) {
  const ports = unique(entries.map((e) => `${e.transport === "udp" ? "UDP" : "TCP"} ${e.port}`));
  const hosts = unique(entries.map((e) => e.host));
  return `${listWords(ports)} to ${listWords(hosts)}`;
}

// ------------------------------------------------------------------ ICE tests
function describeCandidate(candidate, url) {
  let relayProtocol = null;
  if (candidate.type === "relay") relayProtocol = candidate.relayProtocol || (url ? parseIceUrl(url)?.kind : null);
  return { type: candidate.type, protocol: candidate.protocol, relayProtocol, address: candidate.address, port: candidate.port };
}

const describeError = (event) => ({ code: event.errorCode, text: event.errorText, url: event.url });

// Candidates with policy "all": which kinds of address this network gives us.
async function gather(servers) {
  const pc = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: "all" });
  const candidates = [];
  const errors = [];
  pc.addEventListener("icecandidateerror", (event) => errors.push(describeError(event)));
  const complete = new Promise((resolve) => {
    pc.addEventListener("icecandidate", (event) => {
      if (!event.candidate) resolve(true);
      else if (event.candidate.candidate) candidates.push(describeCandidate(event.candidate, event.url));
    });
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve(true));
  });
  try {
    pc.createDataChannel("call-check");
    await pc.setLocalDescription();
    const finished = await withTimeout(complete, STEP_TIMEOUT_MS, false);
    return { candidates, errors, finished };
  } finally {
    pc.close();
  }
}

// Candidates go to the other side once it has the description they belong to.
function trickle(from, to) {
  const queue = [];
  let ready = false;
  const add = (candidate) => to.addIceCandidate(candidate).catch(() => {});
  from.addEventListener("icecandidate", (event) => {
    if (!event.candidate) return;
    if (ready) add(event.candidate);
    else queue.push(event.candidate);
  });
  return () => {
    ready = true;
    queue.splice(0).forEach(add);
  };
}

async function selectedPair(pc) {
  const selected = selectedCandidatePair(await pc.getStats());
  if (!selected) return null;
  const { pair, local, remote } = selected;
  return {
    localType: local?.candidateType,
    protocol: local?.protocol,
    relayProtocol: local?.relayProtocol || null,
    remoteType: remote?.candidateType,
    currentRoundTripTime: pair.currentRoundTripTime,
  };
}

// Two relay-only peer connections in this page; passes when a message goes there and back.
async function relayRoundTrip(servers) {
  const config = { iceServers: servers, iceTransportPolicy: "relay" };
  const caller = new RTCPeerConnection(config);
  const callee = new RTCPeerConnection(config);
  const errors = [];
  let relayCandidates = 0;
  for (const pc of [caller, callee]) pc.addEventListener("icecandidateerror", (event) => errors.push(describeError(event)));
  caller.addEventListener("icecandidate", (event) => { if (event.candidate?.candidate) relayCandidates += 1; });
  const toCallee = trickle(caller, callee);
  const toCaller = trickle(callee, caller);
  const started = performance.now();
  const token = `call-check ${Math.random().toString(36).slice(2)}`;
  const channel = caller.createDataChannel("call-check");
  callee.addEventListener("datachannel", ({ channel: echo }) => { echo.onmessage = (event) => echo.send(event.data); });
  const echoed = new Promise((resolve) => {
    let sentAt = 0;
    channel.onopen = () => { sentAt = performance.now(); channel.send(token); };
    channel.onmessage = (event) => {
      if (event.data === token) resolve({ connectMs: sentAt - started, roundTripMs: performance.now() - sentAt });
    };
  });
  try {
    await caller.setLocalDescription();
    await callee.setRemoteDescription(caller.localDescription);
    toCallee();
    await callee.setLocalDescription();
    await caller.setRemoteDescription(callee.localDescription);
    toCaller();
    const timing = await withTimeout(echoed, STEP_TIMEOUT_MS, null);
    const pair = timing ? await selectedPair(caller) : null;
    return { ok: Boolean(timing), ...timing, pair, errors, relayCandidates, iceState: caller.iceConnectionState };
  } finally {
    caller.close();
    callee.close();
  }
}

const failed = (error) => ({ ok: false, failed: String(error?.message || error), errors: [], candidates: [] });

// ------------------------------------------------------------------ verdicts
function verdicts(config, gathered, relays) {
  const rows = {};
  const of = (type) => gathered.candidates.filter((c) => c.type === type);
  const configured = TRANSPORTS.filter((t) => config.relay[t].length);
  const working = TRANSPORTS.filter((t) => relays[t]?.ok);

  const hosts = of("host");
  if (hosts.length) {
    const hidden = hosts.every((c) => String(c.address || "").endsWith(".local"));
    rows.host = {
      status: "works",
      text: "Your device has a network address, so calls with people on the same network can connect directly.",
      detail: `${plural(hosts.length, "local address")} (${listWords(unique(hosts.map((c) => c.protocol?.toUpperCase())))})${hidden ? ", hidden by the browser for privacy" : ""}`,
    };
  } else {
    rows.host = {
      status: "blocked",
      short: "your device has no network connection",
      text: gathered.failed ? `The connection test could not run: ${gathered.failed}.` : "No network address found on your device. Check that you are online (Wi-Fi or cable), then run the test again.",
    };
  }

  const srflx = of("srflx");
  const stunErrors = gathered.errors.filter((e) => String(e.url || "").startsWith("stun"));
  const afterStun = working.length ? "Calls between different networks will go through the relay." : "Calls between different networks may not connect.";
  if (srflx.length) {
    rows.srflx = {
      status: "works",
      text: `Your public address is ${srflx[0].address}: calls across the internet can often connect directly, without the relay.`,
      detail: `${plural(srflx.length, "public address")} (${listWords(unique(srflx.map((c) => c.protocol?.toUpperCase())))})`,
    };
  } else if (!config.stun.length) {
    rows.srflx = {
      status: "not-configured",
      text: `Not configured on this server: there is no STUN server to find your public address. ${configured.length ? "Calls between different networks go through the relay." : "Calls connect only between people on the same network."}`,
    };
  } else if (stunErrors.length || !gathered.finished) {
    rows.srflx = {
      status: "blocked",
      text: `No answer from the STUN server (${openings(config.stun)}): your network probably blocks UDP. ${afterStun}`,
      detail: stunErrors.length ? `Error ${stunErrors[0].code}: ${stunErrors[0].text}` : "",
    };
  } else {
    rows.srflx = {
      status: "works",
      text: "The STUN server answered and sees the same address as your device: you are not behind a router that translates addresses, or you are on the server's own network.",
    };
  }

  for (const transport of TRANSPORTS) {
    const name = `Relay over ${TRANSPORT_NAME[transport]}`;
    const entries = config.relay[transport];
    const result = relays[transport];
    if (!entries.length && relayWithheld) {
      rows[transport] = { status: "after-booking", text: RELAY_AFTER_BOOKING };
      continue;
    }
    if (!entries.length) {
      rows[transport] = {
        status: "not-configured",
        text: configured.length
          ? `Not configured on this server. That is fine: the relay is offered over ${listWords(configured.map((t) => TRANSPORT_NAME[t]))}.`
          : "Not configured on this server: there is no relay (TURN), so calls connect only directly and may fail behind strict firewalls.",
      };
      continue;
    }
    if (result.ok) {
      const pair = result.pair;
      const via = pair ? `selected pair: local ${pair.localType} candidate, ${pair.protocol}${pair.relayProtocol ? ` (to the relay over ${pair.relayProtocol.toUpperCase()})` : ""}` : "";
      rows[transport] = {
        status: "works",
        text: `${name} works: calls connect even where a direct connection is impossible.${transport === "udp" ? "" : " A little slower than UDP, but reliable."}`,
        detail: [`Test message round trip ${ms(result.roundTripMs)}, connected in ${ms(result.connectMs)}`, via].filter(Boolean).join(" · "),
      };
      continue;
    }
    const others = working.filter((t) => t !== transport);
    const fallback = others.length
      ? ` Calls will still work through the relay over ${TRANSPORT_NAME[others[0]]}${transport === "udp" ? ", a little slower" : ""}.`
      : " Ask your network admin to allow it, or try another network (a phone hotspot, for example).";
    let text;
    if (result.errors?.some((e) => e.code === 401)) {
      text = `${name} refused our sign-in: the test's credentials may have expired. Reload the page and run the test again.`;
    } else if (result.failed) {
      text = `${name} could not be tested: ${result.failed}.${fallback}`;
    } else if (result.relayCandidates) {
      const next = others.length ? fallback : " Try another network (a phone hotspot, for example), or copy the results for support (button at the top).";
      text = `${name}: the relay server answered, but no data got through it within ${STEP_TIMEOUT_MS / 1000} seconds.${next}`;
    } else if (transport === "udp") {
      text = `Relay over UDP blocked: your firewall blocks UDP (no answer on ${openings(entries)}).${fallback}`;
    } else {
      text = `${name} blocked: your network blocks outbound ${openings(entries)}.${fallback}`;
    }
    const firstError = result.errors?.[0];
    rows[transport] = {
      status: "blocked",
      text,
      detail: firstError ? `Error ${firstError.code}${firstError.text ? `: ${firstError.text}` : ""}` : `No relay connection within ${STEP_TIMEOUT_MS / 1000} s`,
    };
  }
  return { rows, configured, working };
}

const NETWORK_ROWS = { host: "cc-host", srflx: "cc-srflx", udp: "cc-relay-udp", tcp: "cc-relay-tcp", tls: "cc-relay-tls" };
const NETWORK_CHECKING = {
  host: "Looking for your device's network addresses…",
  srflx: "Asking the server how it sees your network…",
  udp: "Sending a test message through the relay…",
  tcp: "Sending a test message through the relay…",
  tls: "Sending a test message through the relay…",
};

async function runNetwork() {
  const config = iceConfig(iceServers);
  // The TLS row only appears where turns: URLs are configured.
  $("#cc-relay-tls").hidden = config.relay.tls.length === 0;
  for (const [key, id] of Object.entries(NETWORK_ROWS)) setRow(id, { status: "running", text: NETWORK_CHECKING[key] });
  const guard = (promise) => promise.catch(failed);
  const [gathered, ...relayResults] = await Promise.all([
    guard(gather(iceServers)),
    ...TRANSPORTS.map((t) => (config.relay[t].length ? guard(relayRoundTrip(config.relay[t].map((e) => e.server))) : Promise.resolve(null))),
  ]);
  const relays = Object.fromEntries(TRANSPORTS.map((t, i) => [t, relayResults[i]]));
  const { rows, configured, working } = verdicts(config, gathered, relays);
  for (const [key, id] of Object.entries(NETWORK_ROWS)) setRow(id, rows[key]);
  state.network = { rows, configured, working, config, gathered, relays };
}

// ------------------------------------------------------------------ summary
function problems() {
  const issues = [];
  const notes = [];
  const { camera, microphone } = state.media;
  const failedToStart = (row) => row?.errorName && row.status !== "works";
  if (camera?.status === "waiting") {
    issues.push({ short: camera.short, text: camera.text });
  } else if (failedToStart(camera) && failedToStart(microphone) && camera.errorName === microphone.errorName) {
    issues.push(mediaProblem({ name: camera.errorName }, "camera and microphone")); // one cause, one sentence
  } else {
    for (const row of [camera, microphone]) if (row?.short && row.status !== "works") issues.push({ short: row.short, text: row.text });
  }
  if (microphone?.status === "quiet") notes.push(microphone.note);
  const network = state.network;
  if (network) {
    const { rows, configured, working, config } = network;
    if (rows.host.status !== "works" && !working.length) issues.push({ short: rows.host.short, text: rows.host.text });
    if (configured.length && !working.length) {
      const all = TRANSPORTS.flatMap((t) => config.relay[t]);
      issues.push({
        short: "our relay server cannot be reached from your network",
        text: `No relay at all: ask your network admin to allow outbound ${openings(all)}, or try another network (a phone hotspot, for example). Until then, calls connect only where a direct connection is possible.`,
      });
    } else if (configured.includes("udp") && !working.includes("udp") && working.length) {
      notes.push(`Relay over UDP is blocked on your network, so calls go through the relay over ${TRANSPORT_NAME[working[0]]}: a little slower, but they work.`);
    }
    if (!configured.length && relayWithheld) notes.push(RELAY_AFTER_BOOKING);
    else if (!configured.length) notes.push("This server has no relay (TURN) configured: calls connect only where a direct connection is possible, which can fail behind strict firewalls.");
  }
  return { issues, notes };
}

function renderSummary() {
  const summary = $("#cc-summary");
  const title = $("#cc-summary-title");
  const text = $("#cc-summary-text");
  const list = $("#cc-summary-issues");
  const mediaPending = state.media.camera?.status === "running" || state.media.microphone?.status === "running";
  if (state.running && (!state.network || mediaPending)) {
    summary.dataset.state = "running";
    title.textContent = "Checking your camera, microphone and connection…";
    text.textContent = "This takes about ten seconds.";
    list.hidden = true;
    return;
  }
  const { issues, notes } = problems();
  const lines = [...issues.map((i) => i.text), ...notes];
  list.replaceChildren(...lines.map((line) => Object.assign(document.createElement("li"), { textContent: line })));
  list.hidden = lines.length === 0;
  if (issues.length) {
    summary.dataset.state = "problem";
    title.textContent = `Calls may not work: ${issues[0].short}`;
    text.textContent = issues.length + notes.length > 1 ? "What we found, and what to do:" : "What to do:";
  } else {
    summary.dataset.state = notes.length ? "warn" : "ready";
    title.textContent = "Ready for calls";
    text.textContent = notes.length ? "Your camera, microphone and connection work. Good to know:" : "Your camera, microphone and connection all work. You're good to go.";
  }
}

function reportText() {
  const lines = [`PeerLearn call check, ${new Date().toISOString()}`, navigator.userAgent, "", `${$("#cc-summary-title").textContent}`];
  for (const item of document.querySelectorAll("#cc-summary-issues li")) lines.push(`- ${item.textContent}`);
  lines.push("");
  for (const row of document.querySelectorAll(".cc-row:not([hidden])")) {
    const detail = row.querySelector(".cc-row-detail")?.textContent;
    lines.push(`${row.querySelector("h3").textContent}: ${row.querySelector(".cc-badge").textContent}. ${row.querySelector(".cc-row-text").textContent}${detail ? ` (${detail})` : ""}`);
  }
  if (state.devices) {
    lines.push("", `Cameras: ${state.devices.cameras.join("; ") || "none"}`, `Microphones: ${state.devices.microphones.join("; ") || "none"}`, `Speakers: ${state.devices.speakers.join("; ") || "none"}`);
  }
  return lines.join("\n");
}

// ------------------------------------------------------------------ run
async function runAll() {
  if (state.running) return;
  state.running = true;
  state.network = null;
  const started = performance.now();
  $("#cc-summary").setAttribute("aria-busy", "true");
  $("#cc-rerun").disabled = true;
  $("#cc-copy").disabled = true;
  renderSummary();
  // The permission prompt may wait for the person; the verdict does not.
  const mediaStarted = startMedia().catch((error) => {
    state.media = { camera: mediaProblem(error, "camera"), microphone: mediaProblem(error, "microphone") };
    renderMedia();
  });
  await Promise.all([withTimeout(mediaStarted, STEP_TIMEOUT_MS, null), runNetwork()]);
  state.running = false;
  state.runs += 1;
  state.lastRunMs = performance.now() - started;
  root.dataset.runs = String(state.runs);
  $("#cc-summary").setAttribute("aria-busy", "false");
  $("#cc-rerun").disabled = false;
  $("#cc-copy").disabled = false;
  renderSummary();
}

$("#cc-rerun").addEventListener("click", () => {
  // The page's TURN credentials are short-lived: past their life, a reload fetches new ones.
  if (credentialTtlMs && Date.now() - loadedAt > credentialTtlMs - 60_000) location.reload();
  else runAll();
});
$("#cc-copy").addEventListener("click", async () => {
  const button = $("#cc-copy");
  try {
    await navigator.clipboard.writeText(reportText());
    button.textContent = "Copied";
  } catch {
    button.textContent = "Could not copy";
  }
  setTimeout(() => { button.textContent = "Copy results for support"; }, 2500);
});
$("#cc-play").addEventListener("click", playTestSound);
for (const id of ["#cc-camera-select", "#cc-mic-select"]) {
  $(id).addEventListener("change", () => startMedia().catch(() => {}));
}
navigator.mediaDevices?.addEventListener?.("devicechange", () => refreshDevices().catch(() => {}));
// Browsers may start audio suspended until the person interacts with the page.
document.addEventListener("pointerdown", () => media.audioContext?.resume().catch(() => {}), { once: true });

runAll();

// Local camera and microphone: what the page may send, kept current whatever order things happen in.
//
// A person may click Join before the browser has answered for the camera, deny the camera and grant
// it later, plug a camera in mid-call or pick another device. LocalMedia keeps one current track per
// kind (or none) and tells its listeners every time that changes; the call hands each change to
// every peer connection, so what the others receive never depends on when Join was clicked.

import { micMeterStart } from "../lib/mic-meter.js";

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 } };

export class LocalMedia extends EventTarget {
  constructor() {
    super();
    this.tracks = { audio: null, video: null };
    this.errors = { audio: null, video: null }; // the last refusal per kind (a DOMException), if any
    this.devices = { audio: "", video: "" }; // the chosen deviceId per kind ("" = the default)
    this.state = "idle"; // idle -> asking -> settled (whatever was granted)
    this.generation = 0; // a newer request wins over an older one still waiting for its answer
    this.audioContext = null;
    this.meterHandle = null; // the level bar's analyser, while it draws
    this.settled = new Promise((resolve) => { this.resolveSettled = resolve; });
    navigator.mediaDevices?.addEventListener?.("devicechange", () => this.fillGaps("devicechange"));
    this.watchPermissions();
  }

  get audioTrack() { return this.tracks.audio; }
  get videoTrack() { return this.tracks.video; }
  get ready() { return this.state === "settled"; }

  // Ask for both kinds; if the pair is refused, ask for each on its own, so a denied or missing
  // camera still leaves the microphone (and the other way round).
  async start() {
    const generation = ++this.generation;
    this.state = "asking";
    this.emit("asking");
    const wanted = { audio: this.constraint("audio"), video: this.constraint("video") };
    const got = { audio: null, video: null };
    const errors = { audio: null, video: null };
    try {
      const stream = await navigator.mediaDevices.getUserMedia(wanted);
      got.audio = stream.getAudioTracks()[0] || null;
      got.video = stream.getVideoTracks()[0] || null;
    } catch {
      for (const kind of ["audio", "video"]) {
        try {
          const stream = await navigator.mediaDevices.getUserMedia({ [kind]: wanted[kind] });
          got[kind] = stream.getTracks()[0] || null;
        } catch (error) {
          errors[kind] = error;
        }
      }
    }
    if (generation !== this.generation) {
      // A newer request (another device picked meanwhile) owns the outcome.
      for (const t of Object.values(got)) t?.stop();
      return;
    }
    this.errors = errors;
    for (const kind of ["audio", "video"]) this.use(kind, got[kind]);
    this.state = "settled";
    this.resolveSettled();
    this.emit("change");
  }

  // A device picked from a list: only that kind is asked for again, the other keeps going.
  async switchDevice(kind, deviceId) {
    this.devices[kind] = deviceId;
    const generation = ++this.generation;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ [kind]: this.constraint(kind) });
      const track = stream.getTracks()[0];
      if (generation !== this.generation) return track.stop();
      this.errors[kind] = null;
      this.use(kind, track);
    } catch (error) {
      if (generation !== this.generation) return;
      this.errors[kind] = error;
      if (!this.tracks[kind]) this.use(kind, null);
    }
    if (this.state !== "settled") {
      this.state = "settled";
      this.resolveSettled();
    }
    this.emit("change");
  }

  // A kind we have no track for (refused, unplugged, not there at first): ask again when the
  // browser says something changed. Nothing is asked while a request is still out.
  // ``kinds`` limits the asking to what the person turned on; each kind that comes is handed on at
  // once, so a microphone never waits for an unanswered camera prompt.
  async fillGaps(reason, kinds = ["audio", "video"]) {
    if (this.state !== "settled" || this.filling) return;
    const missing = kinds.filter((kind) => !this.tracks[kind]);
    if (!missing.length) return;
    this.filling = true;
    try {
      for (const kind of missing) {
        try {
          const stream = await navigator.mediaDevices.getUserMedia({ [kind]: this.constraint(kind) });
          const track = stream.getTracks()[0];
          if (this.tracks[kind] || this.state !== "settled") { track.stop(); continue; }
          this.errors[kind] = null;
          this.use(kind, track);
          this.emit("change", { reason });
        } catch (error) {
          this.errors[kind] = error;
        }
      }
    } finally {
      this.filling = false;
    }
  }

  async watchPermissions() {
    if (!navigator.permissions?.query) return;
    for (const name of ["camera", "microphone"]) {
      try {
        const status = await navigator.permissions.query({ name });
        status.addEventListener("change", () => { if (status.state === "granted") this.fillGaps("permission"); });
      } catch {
        // This browser cannot tell; device changes and the retry button still work.
      }
    }
  }

  constraint(kind) {
    const id = this.devices[kind];
    if (kind === "audio") return id ? { deviceId: { exact: id } } : true;
    return id ? { deviceId: { exact: id }, ...VIDEO } : { ...VIDEO };
  }

  use(kind, track) {
    const old = this.tracks[kind];
    if (old === track) return;
    this.tracks[kind] = track;
    old?.stop();
    if (track) {
      // Unplugged or revoked by the system: the kind is gone until it can be had again.
      track.addEventListener("ended", () => {
        if (this.tracks[kind] !== track) return;
        this.tracks[kind] = null;
        this.emit("change", { reason: "ended" });
      });
    }
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // The call is over: camera and microphone off, and nothing asks for them again.
  stop() {
    this.generation += 1;
    this.state = "stopped";
    this.meterHandle?.stop();
    for (const kind of ["audio", "video"]) this.use(kind, null);
    this.audioContext?.close().catch(() => {});
    this.audioContext = null;
  }

  static async devices() {
    const all = await navigator.mediaDevices.enumerateDevices();
    return { audio: all.filter((d) => d.kind === "audioinput"), video: all.filter((d) => d.kind === "videoinput") };
  }

  meter(element) {
    this.meterHandle?.stop();
    this.meterHandle = null;
    const track = this.audioTrack;
    if (!track || !window.AudioContext || this.state === "stopped") return;
    this.audioContext ||= new AudioContext();
    this.audioContext.resume?.().catch(() => {});
    this.meterHandle = micMeterStart(this.audioContext, track, (level) => {
      if (!element.checkVisibility?.() && element.offsetParent === null) return false; // hidden in the call: stop drawing
      element.style.setProperty("--level", `${level}%`);
      element.setAttribute("aria-valuenow", String(level));
      return true;
    });
  }
}

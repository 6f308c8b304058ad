// One RTCPeerConnection per remote peer, with the "perfect negotiation" pattern: both sides may
// offer at any time; on a collision the impolite side ignores the incoming offer and the polite
// side rolls back. Trickle ICE: candidates are sent as they are found.

// What we send rides on exactly one transceiver per kind, negotiated "sendrecv" from the first
// offer whether or not we have a track yet: a camera or microphone that comes later (permission
// answered late, a device plugged in, another device picked, a screen shared) is swapped in with
// replaceTrack, which needs no renegotiation and cannot be lost to a negotiation in flight.
import { selectedCandidatePair } from "../lib/candidate-pair.js";

const KINDS = ["audio", "video"];

export class PeerLink {
  constructor({ remote, polite, initiator, config, tracks, stream, send, onTrack, onState }) {
    this.remote = remote;
    this.polite = polite;
    // The newcomer makes the first offer; the others wait for it. This avoids an offer collision
    // on every join; perfect negotiation still settles any later one (ICE restart, a kind added).
    this.mayOffer = initiator;
    this.send = send;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.pendingCandidates = []; // candidates that arrive before the remote description
    this.queue = Promise.resolve(); // signals are handled strictly one after another
    this.pc = new RTCPeerConnection(config);
    this.remoteStream = new MediaStream();
    this.onState = onState;
    this.iceRestarts = 0;
    this.negotiations = 0; // completed offer/answer exchanges, for diagnostics and the tests
    this.last = null; // the previous getStats() totals, for per-interval rates
    this.tracks = { ...tracks }; // what we want to send per kind (null: nothing now, maybe later)
    this.stream = stream; // the one local stream id the other side groups our tracks under
    this.sending = { audio: null, video: null }; // our transceiver per kind

    // The offerer makes the transceivers; the answerer takes over the ones the offer brings.
    if (initiator) for (const kind of KINDS) this.addSender(kind);

    this.pc.ontrack = ({ track }) => {
      this.remoteStream.addTrack(track);
      track.onunmute = () => onTrack(this.remoteStream);
      onTrack(this.remoteStream);
    };
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.send({ candidate: candidate.toJSON() });
    };
    this.pc.onnegotiationneeded = async () => {
      if (!this.mayOffer) return;
      try {
        this.makingOffer = true;
        await this.pc.setLocalDescription();
        this.send({ description: { type: this.pc.localDescription.type, sdp: this.pc.localDescription.sdp } });
      } catch (error) {
        console.error("negotiation failed", error);
      } finally {
        this.makingOffer = false;
      }
    };
    this.pc.onconnectionstatechange = () => {
      this.onState(this.pc.connectionState);
      this.watch();
    };
    this.pc.oniceconnectionstatechange = () => {
      if (this.pc.iceConnectionState === "failed") this.restartIce();
    };
    this.watch();
  }

  // If a connection is not up within a few seconds (or drops for that long), the impolite side
  // restarts ICE. The polite side waits for it, so the two never restart against each other.
  watch() {
    clearTimeout(this.watchdog);
    if (this.pc.connectionState === "connected" || this.pc.connectionState === "closed") return;
    this.watchdog = setTimeout(() => {
      if (this.pc.connectionState !== "connected" && this.pc.connectionState !== "closed") this.restartIce();
      this.watch();
    }, 5000);
  }

  // An ICE restart is a renegotiation (new offer and answer), so it also proves signaling works.
  restartIce() {
    if (this.pc.connectionState === "closed") return false;
    if (this.pc.signalingState === "have-local-offer" && this.pc.localDescription) {
      // Our offer may have been lost while signaling was down: send it again (either side).
      this.send({ description: { type: "offer", sdp: this.pc.localDescription.sdp } });
      return true;
    }
    if (this.polite) return false; // the impolite side starts over; the polite one answers
    this.mayOffer = true;
    this.iceRestarts += 1;
    this.pc.restartIce();
    return true;
  }

  setConfiguration(config) {
    try {
      this.pc.setConfiguration(config); // fresh TURN credentials after a reconnect
    } catch (error) {
      console.warn("could not update the ICE configuration", error);
    }
  }

  // One interval's summary of getStats(): round trip, loss, bitrates, the selected candidate pair.
  async summary() {
    const report = await this.pc.getStats();
    const now = performance.now();
    const totals = { lost: 0, received: 0, bytesIn: 0, bytesOut: 0 };
    report.forEach((s) => {
      if (s.type === "inbound-rtp") {
        totals.lost += s.packetsLost || 0;
        totals.received += s.packetsReceived || 0;
        totals.bytesIn += s.bytesReceived || 0;
      } else if (s.type === "outbound-rtp") {
        totals.bytesOut += s.bytesSent || 0;
      }
    });
    const { pair: selected, local, remote } = selectedCandidatePair(report) || {};
    const previous = this.last;
    this.last = { ...totals, at: now };
    const seconds = previous ? (now - previous.at) / 1000 : 0;
    const lost = previous ? totals.lost - previous.lost : totals.lost;
    const received = previous ? totals.received - previous.received : totals.received;
    const rate = (bytes) => (seconds > 0 ? Math.max(0, (bytes * 8) / 1000 / seconds) : null);
    return {
      rtt_ms: selected?.currentRoundTripTime != null ? selected.currentRoundTripTime * 1000 : null,
      loss_pct: lost + received > 0 ? Math.min(100, Math.max(0, (100 * lost) / (lost + received))) : null,
      in_kbps: previous ? rate(totals.bytesIn - previous.bytesIn) : null,
      out_kbps: previous ? rate(totals.bytesOut - previous.bytesOut) : null,
      local: local?.candidateType || "",
      remote: remote?.candidateType || "",
      protocol: local?.protocol || "",
    };
  }

  handle(data) {
    this.queue = this.queue.then(() => this.process(data));
    return this.queue;
  }

  async process({ description, candidate }) {
    try {
      if (description) {
        const collision = description.type === "offer" && (this.makingOffer || this.pc.signalingState !== "stable");
        this.ignoreOffer = !this.polite && collision;
        if (this.ignoreOffer) return;
        await this.pc.setRemoteDescription(description);
        if (description.type === "offer") this.mayOffer = true;
        else this.negotiations += 1;
        for (const queued of this.pendingCandidates.splice(0)) {
          await this.pc.addIceCandidate(queued).catch((error) => console.warn("late candidate", error));
        }
        if (description.type === "offer") {
          await this.adoptOffered();
          await this.pc.setLocalDescription();
          this.send({ description: { type: this.pc.localDescription.type, sdp: this.pc.localDescription.sdp } });
          this.negotiations += 1;
        }
      } else if (candidate) {
        if (!this.pc.remoteDescription) {
          this.pendingCandidates.push(candidate);
          return;
        }
        try {
          await this.pc.addIceCandidate(candidate);
        } catch (error) {
          if (!this.ignoreOffer) throw error;
        }
      }
    } catch (error) {
      console.error("signal handling failed", error);
    }
  }

  // The kind's track to send now (null: nothing for now). No renegotiation where the kind is
  // already negotiated; a kind the call never carried is added by an offer of ours.
  async setTrack(kind, track) {
    this.tracks[kind] = track;
    const transceiver = this.sending[kind];
    if (transceiver) {
      try {
        await transceiver.sender.replaceTrack(track);
      } catch (error) {
        console.warn("could not send the new track", kind, error);
      }
    } else if (this.mayOffer && this.pc.connectionState !== "closed") {
      this.addSender(kind);
    }
    // Otherwise the other side has not offered yet: its offer's transceiver takes this track.
  }

  addSender(kind) {
    this.sending[kind] = this.pc.addTransceiver(this.tracks[kind] || kind, {
      direction: "sendrecv",
      streams: this.stream ? [this.stream] : [],
    });
  }

  // Answering: send on the transceiver the offer made for each kind, in both directions, with
  // whatever track we have now. A transceiver of ours that never made it into a negotiation (our
  // own offer rolled back in a collision) gives way to the offered one.
  async adoptOffered() {
    for (const kind of KINDS) {
      const mine = this.sending[kind];
      if (mine && mine.mid !== null && mine.direction !== "stopped") continue;
      const offered = this.pc.getTransceivers().find(
        (t) => t !== mine && t.mid !== null && t.direction !== "stopped" && t.receiver.track.kind === kind,
      );
      if (!offered) {
        if (!mine) this.addSender(kind); // the offer lacks the kind: our next offer brings it
        continue;
      }
      if (mine) {
        mine.sender.replaceTrack(null).catch(() => {});
        mine.stop();
      }
      this.sending[kind] = offered;
      offered.direction = "sendrecv";
      if (this.stream) offered.sender.setStreams?.(this.stream);
      await offered.sender.replaceTrack(this.tracks[kind]).catch((error) => console.warn("could not send", kind, error));
    }
  }

  sendingTrack(kind) {
    return this.sending[kind]?.sender.track || null;
  }

  close() {
    clearTimeout(this.watchdog);
    this.pc.close();
  }
}

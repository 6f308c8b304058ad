// One RTCPeerConnection per remote peer, with the "perfect negotiation" pattern: both sides may
// offer at any time; on a collision the impolite side ignores the incoming offer and the polite
// side rolls back. Trickle ICE: candidates are sent as they are found.

export class PeerLink {
  constructor({ remote, polite, initiator, config, localStream, send, onTrack, onState }) {
    this.remote = remote;
    this.polite = polite;
    // The newcomer makes the first offer; the others wait for it. This avoids an offer collision
    // on every join; perfect negotiation still settles any later one (screen share, ICE restart).
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

    const tracks = localStream ? localStream.getTracks() : [];
    for (const track of tracks) this.pc.addTrack(track, localStream);
    // Receive audio and video even if we have nothing to send.
    if (!tracks.some((t) => t.kind === "audio")) this.pc.addTransceiver("audio", { direction: "recvonly" });
    if (!tracks.some((t) => t.kind === "video")) this.pc.addTransceiver("video", { direction: "recvonly" });

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
    let pair = null;
    const byId = new Map();
    report.forEach((s) => {
      byId.set(s.id, s);
      if (s.type === "inbound-rtp") {
        totals.lost += s.packetsLost || 0;
        totals.received += s.packetsReceived || 0;
        totals.bytesIn += s.bytesReceived || 0;
      } else if (s.type === "outbound-rtp") {
        totals.bytesOut += s.bytesSent || 0;
      } else if (s.type === "transport" && s.selectedCandidatePairId) {
        pair = s.selectedCandidatePairId;
      }
    });
    if (!pair) report.forEach((s) => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = pair || s.id; });
    const selected = pair ? byId.get(pair) : null;
    const local = selected ? byId.get(selected.localCandidateId) : null;
    const remote = selected ? byId.get(selected.remoteCandidateId) : null;
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

  async replaceVideo(track) {
    // The video transceiver carries our camera (or screen); its sender may hold no track yet.
    const sender = this.pc.getTransceivers().find((t) => t.receiver.track.kind === "video")?.sender;
    if (sender) await sender.replaceTrack(track);
    else if (track) this.pc.addTrack(track);
  }

  close() {
    clearTimeout(this.watchdog);
    this.pc.close();
  }
}

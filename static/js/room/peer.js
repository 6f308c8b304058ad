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
      if (this.pc.iceConnectionState === "failed" && !this.polite) this.pc.restartIce();
    };
    this.watch();
  }

  // If a connection is not up within a few seconds (or drops), the impolite side restarts ICE.
  watch() {
    clearTimeout(this.watchdog);
    if (this.pc.connectionState === "connected" || this.pc.connectionState === "closed") return;
    this.watchdog = setTimeout(() => {
      if (this.pc.connectionState !== "connected" && this.pc.connectionState !== "closed" && !this.polite && this.mayOffer) {
        this.pc.restartIce();
      }
      this.watch();
    }, 6000);
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
        for (const queued of this.pendingCandidates.splice(0)) {
          await this.pc.addIceCandidate(queued).catch((error) => console.warn("late candidate", error));
        }
        if (description.type === "offer") {
          await this.pc.setLocalDescription();
          this.send({ description: { type: this.pc.localDescription.type, sdp: this.pc.localDescription.sdp } });
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

// Local camera and microphone: preview, device lists, a mic level meter, switching devices.

export class LocalMedia {
  constructor() {
    this.stream = null;
    this.audioContext = null;
    this.meterFrame = 0;
  }

  async start({ audioDeviceId, videoDeviceId } = {}) {
    this.stop();
    const constraints = {
      audio: audioDeviceId ? { deviceId: { exact: audioDeviceId } } : true,
      video: videoDeviceId ? { deviceId: { exact: videoDeviceId }, width: { ideal: 1280 }, height: { ideal: 720 } } : { width: { ideal: 1280 }, height: { ideal: 720 } },
    };
    try {
      this.stream = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      // Fall back to audio only, then to nothing: people can still join and watch.
      try {
        this.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      } catch {
        this.stream = new MediaStream();
      }
      this.error = error;
    }
    return this.stream;
  }

  stop() {
    cancelAnimationFrame(this.meterFrame);
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
  }

  get audioTrack() { return this.stream?.getAudioTracks()[0] || null; }
  get videoTrack() { return this.stream?.getVideoTracks()[0] || null; }

  static async devices() {
    const all = await navigator.mediaDevices.enumerateDevices();
    return { audio: all.filter((d) => d.kind === "audioinput"), video: all.filter((d) => d.kind === "videoinput") };
  }

  meter(element) {
    const track = this.audioTrack;
    if (!track || !window.AudioContext) return;
    this.audioContext ||= new AudioContext();
    const source = this.audioContext.createMediaStreamSource(new MediaStream([track]));
    const analyser = this.audioContext.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    const data = new Uint8Array(analyser.fftSize);
    const tick = () => {
      analyser.getByteTimeDomainData(data);
      let peak = 0;
      for (const v of data) peak = Math.max(peak, Math.abs(v - 128));
      const level = Math.min(100, Math.round((peak / 128) * 140));
      element.style.setProperty("--level", `${level}%`);
      element.setAttribute("aria-valuenow", String(level));
      this.meterFrame = requestAnimationFrame(tick);
    };
    tick();
  }
}

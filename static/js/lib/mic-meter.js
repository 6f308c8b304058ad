// The microphone's loudness, 0..100, once a frame: the call room's and the call check's level bars.

// Calls onLevel(level, now) on every animation frame until it returns false or stop() is called.
export function micMeterStart(audioContext, track, onLevel, { fftSize = 512 } = {}) {
  const source = audioContext.createMediaStreamSource(new MediaStream([track]));
  const analyser = audioContext.createAnalyser();
  analyser.fftSize = fftSize;
  source.connect(analyser);
  const data = new Uint8Array(analyser.fftSize);
  let frame = 0;
  const tick = (now) => {
    analyser.getByteTimeDomainData(data);
    let peak = 0;
    for (const value of data) peak = Math.max(peak, Math.abs(value - 128));
    if (onLevel(Math.min(100, Math.round((peak / 128) * 140)), now) === false) return;
    frame = requestAnimationFrame(tick);
  };
  frame = requestAnimationFrame(tick);
  return {
    stop() {
      cancelAnimationFrame(frame);
      source.disconnect();
    },
  };
}

// The candidate pair a peer connection sends on, from its getStats() report, with both ends.

// The transport's selected pair; where a browser does not name it, a nominated pair that succeeded,
// or else the first pair that succeeded. Null before ICE has connected.
export function selectedCandidatePair(report) {
  let pair = null;
  report.forEach((stats) => {
    if (!pair && stats.type === "transport" && stats.selectedCandidatePairId) pair = report.get(stats.selectedCandidatePairId) || null;
  });
  if (!pair) {
    const succeeded = [];
    report.forEach((stats) => { if (stats.type === "candidate-pair" && stats.state === "succeeded") succeeded.push(stats); });
    pair = succeeded.find((stats) => stats.nominated) || succeeded[0] || null;
  }
  if (!pair) return null;
  return { pair, local: report.get(pair.localCandidateId) || null, remote: report.get(pair.remoteCandidateId) || null };
}

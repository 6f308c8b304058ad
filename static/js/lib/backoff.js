// How long to wait before reconnecting a socket, after `attempt` failed tries in a row (0, 1, 2, ...).

// "Equal jitter": half the exponential delay, plus a random part of the other half, so tabs that lost
// the server together do not all come back at the same moment.
export function backoffDelay(attempt, { baseMs, capMs }) {
  const delay = Math.min(capMs, baseMs * 2 ** attempt);
  return delay / 2 + Math.random() * (delay / 2);
}

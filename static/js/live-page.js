// A page that follows the person's news: when a notification arrives (notifications.js dispatches
// "peerlearn:notification"), the page's [data-live-region] is fetched afresh and swapped in, so a
// request accepted, a new time proposed or a seat taken shows on the dashboard without a reload.
// The server renders the region as for any page load (no second template). A person typing in the
// region is never interrupted: the swap waits until they leave the field.
const region = document.querySelector("[data-live-region]");
const SETTLE_MS = 400; // several notices from one change (both sides, an invite) make one fetch

let timer = null;
let fetching = false;
let again = false;

function busyTyping() {
  const active = document.activeElement;
  return Boolean(active && region.contains(active) && active.matches("input, textarea, select"));
}

async function refresh() {
  timer = null;
  if (fetching) { again = true; return; }
  if (busyTyping()) {
    document.activeElement.addEventListener("blur", schedule, { once: true });
    return;
  }
  fetching = true;
  try {
    const response = await fetch(location.href, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } });
    if (!response.ok || response.redirected) return; // signed out or gone: notifications.js says so
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("[data-live-region]");
    if (fresh && !busyTyping()) {
      region.replaceChildren(...fresh.childNodes);
      region.dataset.refreshed = String((parseInt(region.dataset.refreshed, 10) || 0) + 1);
    }
  } catch {
    // offline for a moment: the next notification, or a reload, brings the page up to date
  } finally {
    fetching = false;
    if (again) { again = false; schedule(); }
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(refresh, SETTLE_MS);
}

if (region) document.addEventListener("peerlearn:notification", schedule);

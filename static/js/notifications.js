// Live notifications for every open tab of a person: the header bell's count and a toast, pushed
// over /ws/notifications/. The count is always the server's (each push carries it, and "Mark all as
// read" in any tab sends every tab the new count), never this tab's guess.
//
// A tab also follows who is signed in. A socket closed by a logout (4401) or refused when it
// reconnects does not retry blindly: the tab finds out who is signed in now, from the other tabs
// (each page says on load whom it was rendered for, over BroadcastChannel) or, failing that, from
// GET /live/identity/. The same person: reconnect. Anyone else, or nobody: a banner, and no socket.
// Runs on signed-out pages too, to tell the other tabs.
import { backoffDelay } from "./lib/backoff.js";

const RETRY = { baseMs: 500, capMs: 30000 }; // the socket's reconnect delays, with backoff and jitter

const banner = document.querySelector("[data-session-banner]");
const bell = document.querySelector("[data-notifications-socket]");
const counter = document.querySelector("[data-unread-count]");
const menuCounter = document.querySelector("[data-menu-count]"); // the same count on the phone's ☰ button
const menuLabel = document.querySelector("[data-menu-label]");
const toasts = document.querySelector("[data-toasts]");
const renderedFor = banner?.dataset.userId || null; // the user id this page shows, as text; null: signed out
const renderedName = banner?.dataset.userName || "";
const news = "BroadcastChannel" in window ? new BroadcastChannel("peerlearn-session") : null;

let socket = null; // the open or opening socket
let everOpened = false;
let retryTimer = null;
let attempt = 0;
let signedOut = false; // this page's person is not signed in here any more: no socket until they are
let countsHeard = 0; // counts from the socket; a slower fetch must not undo a newer one
let newsHeard = 0; // the same for news from other tabs
let checking = null;

const isCount = (value) => Number.isInteger(value) && value >= 0;

function showToast(notification) {
  if (!toasts) return;
  const toast = document.createElement("div");
  toast.className = "toast";
  toast.setAttribute("role", "status");
  const text = document.createElement(notification.link ? "a" : "p");
  if (notification.link) text.href = notification.link;
  text.textContent = notification.text; // never innerHTML: the text comes from users
  toast.append(text);
  toasts.append(toast);
  setTimeout(() => toast.remove(), 8000);
}

function setCount(count) {
  if (!counter || !bell) return;
  counter.textContent = String(count);
  counter.hidden = count === 0;
  bell.setAttribute("aria-label", count ? `Notifications, ${count} unread` : "Notifications");
  if (menuCounter) {
    menuCounter.textContent = String(count);
    menuCounter.hidden = count === 0;
  }
  if (menuLabel) menuLabel.textContent = count ? `Menu, ${count} unread notifications` : "Menu";
}

function showBanner(userId, name) {
  if (!banner) return;
  const text = document.createElement("p");
  text.className = "container";
  const link = document.createElement("a");
  if (userId === null) {
    text.append("You were signed out in another tab. ");
    link.href = `${banner.dataset.loginUrl}?next=${encodeURIComponent(location.pathname + location.search)}`;
    link.textContent = "Sign in again";
    text.append(link);
  } else {
    text.append(`You are now signed in as ${name || "someone else"} in another tab. `); // a text node, never markup
    link.href = location.pathname + location.search;
    link.textContent = "Reload to continue";
    text.append(link, ".");
  }
  banner.replaceChildren(text);
  banner.hidden = false;
}

function hideBanner() {
  if (!banner) return;
  banner.hidden = true;
  banner.replaceChildren();
}

function scheduleRetry() {
  if (retryTimer || socket || signedOut) return;
  const delay = backoffDelay(attempt, RETRY);
  attempt += 1;
  retryTimer = setTimeout(() => { retryTimer = null; connect(); }, delay);
}

function connect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (!bell || socket || signedOut) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // ?user=: the server refuses a socket that would open for another person than this page's.
  const url = `${scheme}://${location.host}${bell.dataset.notificationsSocket}?user=${encodeURIComponent(renderedFor)}`;
  const ws = new WebSocket(url);
  let opened = false;
  socket = ws;
  ws.addEventListener("open", () => {
    if (ws !== socket) return;
    opened = true;
    attempt = 0;
    bell.dataset.live = "true";
    if (everOpened) checkSignIn(); // back after a gap: pushes may have been missed, take the count afresh
    everOpened = true;
  });
  ws.addEventListener("message", (event) => {
    if (ws !== socket) return;
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    if (message?.type === "notification") {
      countsHeard += 1;
      setCount(isCount(message.unread) ? message.unread : (parseInt(counter?.textContent, 10) || 0) + 1);
      showToast(message.notification);
      document.dispatchEvent(new CustomEvent("peerlearn:notification", { detail: message.notification }));
    } else if (message?.type === "notifications-read" && isCount(message.unread)) {
      countsHeard += 1;
      setCount(message.unread);
    }
  });
  ws.addEventListener("close", (event) => {
    if (ws !== socket) return;
    socket = null;
    bell.dataset.live = "false";
    // Signed out (4401), or refused at the handshake (perhaps signed out meanwhile): ask who is
    // signed in before trying again, so a signed-out tab does not hammer the server.
    if (event.code === 4401 || !opened) checkSignIn();
    else scheduleRetry();
  });
}

function dropSocket() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (!socket) return;
  const ws = socket;
  socket = null;
  bell.dataset.live = "false";
  if (ws.readyState <= WebSocket.OPEN) ws.close(1000);
}

// Who is signed in here now: `userId` (text) or null. `soon`: fresh news or a person looking at the
// tab, so reconnect at once; otherwise reconnect with the backoff (this may be a refusal loop).
function settle(userId, name, { soon = false } = {}) {
  if (renderedFor === null || !bell) return; // a signed-out page has nothing to keep live
  if (userId === renderedFor) {
    signedOut = false;
    hideBanner();
    if (socket) return;
    if (soon) { attempt = 0; connect(); } else scheduleRetry();
    return;
  }
  signedOut = true;
  dropSocket();
  showBanner(userId, name);
}

function checkSignIn({ soon = false } = {}) {
  if (checking || !banner) return;
  const counts = countsHeard;
  const heard = newsHeard;
  checking = fetch(banner.dataset.identityUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
    .then((response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.json();
    })
    .then((state) => {
      if (heard !== newsHeard) return; // another tab's news came meanwhile, and it is at least as new
      const user = state?.user;
      const userId = user && Number.isInteger(user.id) ? String(user.id) : null;
      if (userId !== null && userId === renderedFor && isCount(state.unread) && counts === countsHeard) setCount(state.unread);
      settle(userId, typeof user?.name === "string" ? user.name : "", { soon });
    })
    .catch(() => scheduleRetry()) // the server is unreachable (restarting?): try the socket again later
    .finally(() => { checking = null; });
}

// A tab looked at again, or restored from the back/forward cache: a dead socket comes back now.
function revisited(event) {
  if (document.visibilityState !== "visible" || renderedFor === null || !bell) return;
  if (socket && socket.readyState > WebSocket.OPEN) { socket = null; bell.dataset.live = "false"; }
  if (event.type === "pageshow" && event.persisted) { checkSignIn({ soon: true }); return; } // its count may be old too
  if (socket) return;
  if (signedOut) { checkSignIn({ soon: true }); return; }
  attempt = 0;
  connect();
}

if (news) {
  news.addEventListener("message", (event) => {
    const message = event.data;
    if (message?.type !== "page") return;
    const userId = typeof message.user === "string" && /^[0-9]+$/.test(message.user) ? message.user : null;
    if (userId === renderedFor) {
      newsHeard += 1;
      settle(userId, typeof message.name === "string" ? message.name.slice(0, 200) : "", { soon: true });
      return;
    }
    // Someone else, or nobody: only a hint, since the other tab's page may be an old one shown again
    // (back/forward). The server says who is signed in now.
    checkSignIn({ soon: true });
  });
  news.postMessage({ type: "page", user: renderedFor, name: renderedName });
}

if (bell && renderedFor !== null && "WebSocket" in window) {
  connect();
  document.addEventListener("visibilitychange", revisited);
  window.addEventListener("pageshow", revisited);
  window.addEventListener("focus", revisited);
}

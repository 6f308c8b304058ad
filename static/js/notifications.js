// Live notifications: the header bell's count and a toast, pushed over /ws/notifications/.
// Reconnects with jittered exponential backoff when the socket drops.

const bell = document.querySelector("[data-notifications-socket]");
const counter = document.querySelector("[data-unread-count]");
const toasts = document.querySelector("[data-toasts]");

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

function bumpCount() {
  if (!counter) return;
  const count = (parseInt(counter.textContent, 10) || 0) + 1;
  counter.textContent = String(count);
  counter.hidden = false;
  bell.setAttribute("aria-label", `Notifications, ${count} unread`);
}

function connect(attempt = 0) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${bell.dataset.notificationsSocket}`);
  socket.addEventListener("open", () => { attempt = 0; bell.dataset.live = "true"; });
  socket.addEventListener("message", (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    if (message.type !== "notification") return;
    bumpCount();
    showToast(message.notification);
    document.dispatchEvent(new CustomEvent("peerlearn:notification", { detail: message.notification }));
  });
  socket.addEventListener("close", (event) => {
    bell.dataset.live = "false";
    if (event.code === 4401) return; // logged out: do not hammer the server
    const delay = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random());
    setTimeout(() => connect(attempt + 1), delay);
  });
}

if (bell && "WebSocket" in window) connect();

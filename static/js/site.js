// Small progressive enhancements shared by every page. No framework, no build step.

function setupNavToggle() {
  const toggle = document.querySelector(".nav-toggle");
  const nav = document.getElementById("site-nav");
  if (!toggle || !nav) return;
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", String(!open));
    nav.classList.toggle("open", !open);
  });
  // Escape closes the open menu and gives the focus back to the button, so a keyboard user is never
  // left inside a menu they cannot see out of. An open dialog keeps its own Escape.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented || toggle.getAttribute("aria-expanded") !== "true") return;
    if (document.querySelector("dialog[open]")) return;
    toggle.setAttribute("aria-expanded", "false");
    nav.classList.remove("open");
    toggle.focus();
  });
}

// Sign-up: default the time zone to the browser's, unless the person already picked one.
function defaultTimeZoneFromBrowser() {
  const select = document.querySelector("select[data-browser-timezone]");
  if (!select || select.dataset.touched) return;
  let zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    return;
  }
  const bound = select.closest("form")?.querySelector(".field-invalid");
  if (!zone || bound) return;
  if (select.value === "UTC" && [...select.options].some((o) => o.value === zone)) {
    select.value = zone;
  }
}

setupNavToggle();
defaultTimeZoneFromBrowser();

// Forms that ask before doing something hard to undo. The server asks too (a confirmation page) unless
// the form says it was confirmed here: without this script, nothing is undone by one click.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const sending = form.method === "post" && !form.hasAttribute("data-repeatable");
  if (sending && form.dataset.sent) {
    event.preventDefault(); // pressed again while the first press is on its way: the server answers once
    return;
  }
  if (form.dataset.confirm) {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    let confirmed = form.querySelector("input[name=confirmed]");
    if (!confirmed) {
      confirmed = Object.assign(document.createElement("input"), { type: "hidden", name: "confirmed" });
      form.append(confirmed);
    }
    confirmed.value = "yes";
  }
  if (!sending || event.defaultPrevented) return;
  // Sent once, however often the button is pressed; pressable again if the answer never comes.
  form.dataset.sent = "true";
  const buttons = form.querySelectorAll("button[type=submit], button:not([type])");
  for (const b of buttons) b.setAttribute("aria-disabled", "true");
  setTimeout(() => {
    delete form.dataset.sent;
    for (const b of buttons) b.removeAttribute("aria-disabled");
  }, 15000);
});

// A form whose changes another form on the page would lose (availability: weekly hours, then "Add this
// date"): once edited, sending another form or leaving the page asks first.
const guarded = document.querySelector("form[data-unsaved-warning]");
if (guarded) {
  let edited = false;
  guarded.addEventListener("input", () => { edited = true; });
  guarded.addEventListener("change", () => { edited = true; });
  guarded.addEventListener("submit", () => { edited = false; });
  document.addEventListener("submit", (event) => {
    if (!edited || event.target === guarded || event.defaultPrevented) return;
    if (window.confirm(guarded.dataset.unsavedWarning)) edited = false;
    else event.preventDefault();
  }, true);
  window.addEventListener("beforeunload", (event) => {
    if (edited) event.preventDefault();
  });
}

// The session form: a series' number of dates and end date show only once "Repeat" is chosen (or
// when they hold something, e.g. a value the server refused).
const repeat = document.querySelector("select[name=repeat]");
if (repeat) {
  const details = ["occurrences", "until"]
    .map((name) => repeat.form?.querySelector(`[name=${name}]`))
    .filter(Boolean);
  const show = () => {
    for (const input of details) input.closest(".field").hidden = !repeat.value && !input.value;
  };
  repeat.addEventListener("change", show);
  show();
}

// A page shown again from the back/forward cache: its forms can be sent again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll("form[data-sent]")) {
    delete form.dataset.sent;
    for (const b of form.querySelectorAll("[aria-disabled=true]")) b.removeAttribute("aria-disabled");
  }
});

// A live countdown for "the room opens at ...".
function startCountdowns() {
  for (const el of document.querySelectorAll("[data-countdown]")) {
    const target = new Date(el.dataset.countdown).getTime();
    const tick = () => {
      const left = Math.max(0, Math.round((target - Date.now()) / 1000));
      if (left === 0) { el.textContent = "The room is open: reload to join."; return; }
      const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = `Opens in ${h ? `${h} h ` : ""}${m} min ${String(s).padStart(2, "0")} s`;
      setTimeout(tick, 1000);
    };
    tick();
  }
}
startCountdowns();

// Read-only fields meant to be copied (the calendar feed address) select themselves when focused.
document.addEventListener("focusin", (event) => {
  if (event.target.matches?.("input[data-select-on-focus]")) event.target.select();
});

// A Copy button beside such a field, shown only where the browser lets a page write the clipboard.
for (const button of document.querySelectorAll("button[data-copy]")) {
  if (!navigator.clipboard?.writeText) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const field = document.getElementById(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(field.value);
      button.textContent = "Copied";
    } catch {
      field.select(); // the browser said no: leave it selected for Ctrl+C
      button.textContent = "Press Ctrl+C";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 2500);
  });
}

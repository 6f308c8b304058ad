// The phone menu (the ☰ button opens it; site.js): Escape closes it, and the focus goes back to the
// button, so a keyboard user is never left inside a menu they cannot see out of.
const toggle = document.querySelector(".nav-toggle");
const nav = document.getElementById("site-nav");

if (toggle && nav) {
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented || toggle.getAttribute("aria-expanded") !== "true") return;
    if (document.querySelector("dialog[open]")) return; // Escape belongs to the open dialog
    toggle.setAttribute("aria-expanded", "false");
    nav.classList.remove("open");
    toggle.focus();
  });
}

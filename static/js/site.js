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

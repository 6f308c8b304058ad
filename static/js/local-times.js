// Signed-out visitors have no time zone of their own: the server writes their times in UTC, each in a
// <time datetime="(ISO 8601)" data-local-format="(Django date format)"> (the `local_time` tag), and this
// module writes them again in the browser's zone, in the same format. Like the server, it adds the
// year after the month when the date is not in this year, and keeps UTC for an instant whose local
// date would fall outside the years 1 to 9999. Signed-in people's times come from the server, in
// their profile's zone, and carry no data-local-format.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTH_NAMES = new Set(["b", "E", "F", "M", "N"]);
const HAS_YEAR = new Set(["c", "o", "r", "u", "U", "y", "Y"]);

function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    return "";
  }
}

// The date and time of `date` in `zone`, as numbers and English short names; null if the zone
// cannot show it (an unknown zone, or a local date before the year 1 or after 9999).
function partsIn(date, zone) {
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      era: "short",
      weekday: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    }).formatToParts(date);
  } catch {
    return null;
  }
  const get = (type) => parts.find((p) => p.type === type)?.value ?? "";
  const year = Number(get("year"));
  if (get("era") !== "AD" || !(year >= 1 && year <= 9999)) return null;
  return {
    year,
    month: Number(get("month")),
    day: Number(get("day")),
    weekday: get("weekday"),
    hour: get("hour").padStart(2, "0"),
    minute: get("minute").padStart(2, "0"),
    zoneName: zoneName(date, zone),
  };
}

// "CEST", "EDT", "UTC" where the zone has such a name in English, otherwise "GMT+5:30".
function zoneName(date, zone) {
  let fallback = "";
  for (const locale of ["en-US", "en-GB"]) {
    try {
      const name = new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: "short" })
        .formatToParts(date)
        .find((p) => p.type === "timeZoneName")?.value;
      if (name && !name.startsWith("GMT")) return name;
      fallback ||= name || "";
    } catch {
      return zone;
    }
  }
  return fallback || zone;
}

// The format with " Y" after its month name when the date is not in this year (portal/dates.py).
export function formatWithYear(format, year, thisYear) {
  if (year === thisYear) return format;
  let monthAt = -1;
  let escaped = false;
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (escaped) escaped = false;
    else if (c === "\\") escaped = true;
    else if (HAS_YEAR.has(c)) return format;
    else if (MONTH_NAMES.has(c) && monthAt < 0) monthAt = i;
  }
  if (monthAt < 0) return format;
  return `${format.slice(0, monthAt + 1)} Y${format.slice(monthAt + 1)}`;
}

// The few Django format characters the site's templates use; any other letter is written as it is.
function render(format, p) {
  const tokens = {
    D: p.weekday,
    j: String(p.day),
    d: String(p.day).padStart(2, "0"),
    M: MONTHS[p.month - 1] ?? "",
    n: String(p.month),
    m: String(p.month).padStart(2, "0"),
    Y: String(p.year).padStart(4, "0"),
    H: p.hour,
    G: String(Number(p.hour)),
    i: p.minute,
    T: p.zoneName,
  };
  let out = "";
  let escaped = false;
  for (const c of format) {
    if (escaped) {
      out += c;
      escaped = false;
    } else if (c === "\\") {
      escaped = true;
    } else {
      out += tokens[c] ?? c;
    }
  }
  return out;
}

export function formatLocal(date, format, zone, now = new Date()) {
  const parts = partsIn(date, zone) ?? partsIn(date, "UTC");
  if (!parts) return null;
  const today = partsIn(now, zone) ?? partsIn(now, "UTC");
  return render(formatWithYear(format, parts.year, today?.year ?? parts.year), parts);
}

function localizeTimes(root = document) {
  const zone = browserZone();
  if (!zone) return;
  let changed = 0;
  for (const el of root.querySelectorAll("time[data-local-format][datetime]")) {
    const date = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    const text = formatLocal(date, el.dataset.localFormat, zone);
    if (text === null) continue;
    el.textContent = text;
    el.dataset.localZone = zone;
    changed++;
  }
  for (const note of root.querySelectorAll("[data-times-note]")) {
    if (changed || !root.querySelector("time[data-local-format]")) {
      note.textContent = `Times in your browser's time zone, ${zone}.`;
    }
  }
}

localizeTimes();

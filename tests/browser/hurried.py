"""A hurried person in Chromium (issue 21): the ways they press a button, and what one try saw.

A try opens one page as one person in a new browser context, presses one button in one pattern,
waits until every page load it started has ended, reads the page the person is left on, then,
once the server has gone quiet, counts rows in the database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.test import Client
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from tests.waiting import wait_until

GAP_MS = 80  # between the clicks (or key presses) of one hurried press
SLOW_LINK_LATENCY_MS = 400
PATTERNS = ("double click", "triple click", "Enter twice", "slow link", "no scripts")

# Words that must not greet a person whose action worked.
ERROR_WORDS = re.compile(r"already|not scheduled any more|This field is required|CSRF|Forbidden", re.IGNORECASE)
# What Django's CSRF refusal says, wherever on the page.
CSRF_FAILURE = re.compile(r"CSRF verification failed", re.IGNORECASE)
# Buttons that back out of a confirmation instead of confirming it.
BACK_OUT = re.compile(r"^\s*(no\b|keep\b|back\b|go back|not now|don.t\b|do not\b)", re.IGNORECASE)


@dataclass
class Plan:
    """One action, set up for one try: who presses what, where, and what must come of it."""

    user: object | None  # signed in through a session cookie; None: anonymous
    path: str
    button: Callable[[Page], Locator]
    success: str | Callable[[Page], str | None]  # the flash message, or a check that says what is wrong
    rows: Callable[[], list[tuple[str, int, int]]]  # (what, how many the database holds, how many it must)
    fill: Callable[[Page], None] = lambda page: None
    field: Callable[[Page], Locator] | None = None  # the text field Enter is pressed in; else the button
    confirms: bool = False  # destructive: without scripts the server asks first, on a page of its own


@dataclass
class Outcome:
    server_errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------- watching a page
class Watcher:
    """Every response of a page, the page loads (main-frame navigations) still in flight, and how
    many new pages the tab has committed."""

    def __init__(self, page: Page):
        self.page = page
        self.server_errors: list[str] = []
        self.refusals: list[str] = []
        self.in_flight: set = set()
        self.committed = 0
        page.on("request", self._request)
        page.on("requestfinished", self._done)
        page.on("requestfailed", self._done)
        page.on("response", self._response)
        page.on("framenavigated", self._navigated)

    def _is_page_load(self, request) -> bool:
        try:
            return request.is_navigation_request() and request.frame == self.page.main_frame
        except PlaywrightError:
            return False

    def _request(self, request) -> None:
        if request.redirected_from is not None:
            self.in_flight.discard(request.redirected_from)
        if self._is_page_load(request):
            self.in_flight.add(request)

    def _done(self, request) -> None:
        self.in_flight.discard(request)

    def _response(self, response) -> None:
        where = f"{response.request.method} {urlsplit(response.url).path}"
        if response.status >= 500:
            self.server_errors.append(f"{response.status} on {where}")
        elif response.status >= 400 and self._is_page_load(response.request):
            self.refusals.append(f"{response.status} on {where}")

    def _navigated(self, frame) -> None:
        if frame == self.page.main_frame:
            self.committed += 1

    def settle(self, since: int = 0, timeout_s: float = 15.0) -> None:
        """Wait for the page the press led to: a new page committed after ``since`` (a count of
        committed pages), no page load in flight for a moment, and the page shown parsed (not its
        scripts run: on the slow link that would take another round trip)."""
        deadline = time.monotonic() + timeout_s
        quiet_since = None
        while True:
            now = time.monotonic()
            if self.in_flight or self.committed <= since:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= 0.08:
                break
            if now > deadline:
                pending = [r.url for r in self.in_flight] or "none, and no new page came"
                raise TimeoutError(f"page loads in flight after {timeout_s}s: {pending}")
            self.page.wait_for_timeout(20)  # the poll interval; Playwright's, so its request events fire meanwhile
        self.page.wait_for_function("document.readyState !== 'loading'")


def server_quiet(timeout_s: float = 5.0) -> None:
    """Wait until no other connection to the test database runs a query or holds a transaction open,
    twice in a row: a request the browser gave up on (a first click that a second one cancelled)
    may still be at work on the server, and the counts must include what it did."""
    quiet = 0
    with connection.cursor() as cursor:

        def quiet_twice() -> bool:
            nonlocal quiet
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend' AND state IN ('active', 'idle in transaction')"
            )
            quiet = quiet + 1 if cursor.fetchone()[0] == 0 else 0
            return quiet >= 2

        with suppress(TimeoutError):  # a server still busy then shows in the counts the test asserts
            wait_until(quiet_twice, timeout=timeout_s, interval=0.01, what="a quiet test database")


# ------------------------------------------------------------------------------- the person
def session_cookie(user, base_url: str) -> dict:
    """A signed-in session for ``user`` without the login form (where signing in is not the action)."""
    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": base_url,
    }


def block_scripts(context) -> None:
    """The site's scripts never arrive: every press lands on plain HTML forms."""
    context.route(re.compile(r"/static/js/"), lambda route: route.abort())


def slow_link(context, page: Page) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": SLOW_LINK_LATENCY_MS, "downloadThroughput": -1, "uploadThroughput": -1},
    )


# A click (or Enter) of a burst that lands on the next page, because the button's page was already
# replaced, is the person's pointer on a page they have not seen yet: the hurried press was meant for
# the button, not for whatever the next page has in that spot. Every page of a try drops such input:
# input that reaches a page born after the burst began, while the burst lasts. Injected by the test
# (it runs when the site's scripts are blocked too); the burst is noted in the tab's sessionStorage.
DROP_STRAY_INPUT = """(() => {
  const born = Date.now();
  const drop = (event) => {
    if (event.type.startsWith("key") && event.key !== "Enter") return;
    let burst = null;
    try { burst = JSON.parse(sessionStorage.getItem("hurriedBurst")); } catch { return; }
    if (burst && born > burst.start && Date.now() < burst.until) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  };
  for (const type of ["pointerdown", "mousedown", "pointerup", "mouseup", "click", "keydown", "keypress", "keyup"]) {
    window.addEventListener(type, drop, true);
  }
})();"""
BURST_SLACK_MS = 400  # the test's own lag in sending the presses of a burst, on a busy machine


def _burst_begins(page: Page, presses: int) -> None:
    page.evaluate(
        "([length]) => sessionStorage.setItem('hurriedBurst', JSON.stringify({ start: Date.now(), until: Date.now() + length }))",
        [(presses - 1) * GAP_MS + BURST_SLACK_MS],
    )


def click_burst(page: Page, target: Locator, count: int) -> None:
    """``count`` mouse clicks where the button is, GAP_MS apart. (Real input: Chromium lets a click
    with a user gesture replace a pending form submission, and drops one that a script makes.)"""
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    _burst_begins(page, count)
    start = time.monotonic()
    for i in range(count):
        # Real time on purpose, pacing the clicks; a plain sleep: page.wait_for_timeout's round trip would stretch the gap.
        time.sleep(max(0.0, start + i * GAP_MS / 1000 - time.monotonic()))
        page.mouse.click(x, y)


def enter_twice(page: Page, focus: Locator) -> None:
    """Enter, and Enter again GAP_MS later, wherever the focus then is (a new page's, if it came)."""
    focus.focus()
    _burst_begins(page, 2)
    start = time.monotonic()
    page.keyboard.press("Enter")
    time.sleep(
        max(0.0, start + GAP_MS / 1000 - time.monotonic())
    )  # real time on purpose: the second press GAP_MS later
    page.keyboard.press("Enter")


def press(page: Page, pattern: str, button: Locator, text_field: Locator | None) -> None:
    if pattern == "triple click":
        click_burst(page, button, 3)
    elif pattern == "Enter twice":
        enter_twice(page, text_field if text_field is not None else button)
    else:  # double click, and the double click of "slow link" and "no scripts"
        click_burst(page, button, 2)


# ------------------------------------------------------------------------------- reading the page
@dataclass
class PageView:
    status: int
    messages: list[str]
    error_messages: list[str]
    form_errors: list[str]
    body: str
    heading: str
    path: str


READ_PAGE = """() => {
  const texts = (selector) => [...document.querySelectorAll(selector)].map((e) => e.innerText.replace(/\\s+/g, " ").trim());
  return {
    status: performance.getEntriesByType("navigation")[0]?.responseStatus ?? 0,
    messages: texts(".messages .message"),
    errorMessages: texts(".messages .message-error"),
    formErrors: texts(".form-errors, ul.errors"),
    body: document.body ? document.body.innerText : "",
    heading: document.querySelector("h1")?.innerText.trim() ?? "",
  };
}"""


def read_page(page: Page) -> PageView:
    seen = page.evaluate(READ_PAGE)
    return PageView(
        seen["status"],
        seen["messages"],
        seen["errorMessages"],
        seen["formErrors"],
        seen["body"],
        seen["heading"],
        urlsplit(page.url).path,
    )


def flash_messages(page: Page) -> list[str]:
    return read_page(page).messages


def page_status(page: Page) -> int:
    return read_page(page).status


def signed_in(page: Page) -> bool:
    return page.get_by_role("button", name="Log out").count() > 0


def page_problems(view: PageView) -> list[str]:
    """What no page a person is left on may show: an error status, an error message, a form error,
    words of refusal, Django's CSRF refusal."""
    problems = []
    if view.status >= 400:
        problems.append(f"ended on a {view.status} page at {view.path} (“{view.heading}”)")
    problems += [f"error message “{text}”" for text in view.error_messages]
    problems += [f"form error “{text}”" for text in view.form_errors]
    problems += [
        f"message “{text}”" for text in view.messages if ERROR_WORDS.search(text) and text not in view.error_messages
    ]
    if CSRF_FAILURE.search(view.body):
        problems.append("“CSRF verification failed”")
    return problems


def success_problem(page: Page, plan: Plan, view: PageView) -> str | None:
    if callable(plan.success):
        return plan.success(page)
    if any(plan.success in text for text in view.messages):
        return None
    seen = "; ".join(view.messages) or f"no message; page “{view.heading}” at {view.path}"
    return f"no “{plan.success}” (saw: {seen})"


def confirmation_button(page: Page, action_path: str) -> Locator | None:
    """On a server confirmation page, the button that confirms: a submit button, not one that backs
    out, of a POST form in the page's main part that posts where the original form posted."""
    for form in page.locator("main form").all():
        if (form.get_attribute("method") or "").lower() != "post":
            continue
        if urlsplit(form.evaluate("f => f.action")).path != action_path:
            continue
        for button in form.locator("button[type=submit], button:not([type]), input[type=submit]").all():
            if not BACK_OUT.match(button.inner_text() or button.get_attribute("value") or ""):
                return button
    return None


# ------------------------------------------------------------------------------- one try
def run_try(browser, base_url: str, plan: Plan, pattern: str) -> Outcome:
    """Open the page, press the button the hurried way, and tell what came of it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    outcome = Outcome()
    watcher = None
    try:
        if plan.user is not None:
            context.add_cookies([session_cookie(plan.user, base_url)])
        if pattern == "no scripts":
            block_scripts(context)
        context.add_init_script(DROP_STRAY_INPUT)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # "Give up your seat?": yes, that was the point
        watcher = Watcher(page)
        page.goto(base_url + plan.path, wait_until="domcontentloaded")  # with the site's scripts run
        plan.fill(page)
        button = plan.button(page)
        expect(button).to_be_visible()
        action_path = urlsplit(button.evaluate("b => b.form ? b.form.action : ''")).path
        text_field = plan.field(page) if plan.field else None
        if pattern == "slow link":
            slow_link(context, page)
        shown = watcher.committed
        press(page, pattern, button, text_field)
        watcher.settle(since=shown)
        view = read_page(page)
        if plan.confirms and success_problem(page, plan, view):
            confirm = confirmation_button(page, action_path)
            if confirm is not None:  # the server asked first: confirming is part of the action
                if pattern != "no scripts":
                    page.wait_for_load_state("domcontentloaded")
                shown = watcher.committed
                press(page, pattern, confirm, None)
                watcher.settle(since=shown)
                view = read_page(page)
        problem = success_problem(page, plan, view)
        outcome.wrong = [*page_problems(view), *([problem] if problem else [])]
    except (PlaywrightError, TimeoutError, AssertionError) as error:
        outcome.wrong.append(f"the try broke: {str(error).splitlines()[0][:200]}")
    finally:
        context.close()
    if watcher is not None:
        outcome.server_errors = watcher.server_errors
        outcome.wrong[:0] = watcher.refusals
    server_quiet()
    for what, found, wanted in plan.rows():
        if found > wanted:
            outcome.duplicates.append(f"{found} {what}, not {wanted}")
        elif found < wanted:
            outcome.wrong.append(f"{found} {what}, not {wanted}")
    return outcome


def log_in_here(page: Page, email: str, password: str) -> None:
    """Fill and send the login form of the page the person is on."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()

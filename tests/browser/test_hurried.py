"""Issue 21: a hurried person. Every state-changing button of the site, pressed the way someone in a
hurry presses it (double and triple clicks, Enter twice, on a slow link, before the scripts load),
must do its thing once and say so: no duplicate rows, no 5xx, no error where success was due.

Each try starts from fresh rows (new people, new sessions) made through the ORM, in a new browser
context; the action itself goes through the page. The server is this module's own Daphne: its allauth
rate limits count only these tries, and it is asked to write emails to a folder, so that sign-up and
password reset can be held to one email each (when the settings let the environment choose the
email backend; otherwise the run says the emails went uncounted).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import Locator, Page

from conftest import PASSWORD, make_user
from mentoring.models import (
    Booking,
    CalendarFeed,
    Feedback,
    LearnerProfile,
    Notification,
    NotInterested,
    Report,
    Session,
    Skill,
    WaitlistEntry,
)
from mentoring.services.profiles import learner_profile_update
from mentoring.services.sessions import session_create
from portal.accounts.models import User
from tests.browser.hurried import (
    PATTERNS,
    Plan,
    Watcher,
    flash_messages,
    log_in_here,
    page_problems,
    read_page,
    run_try,
    session_cookie,
    signed_in,
)
from tests.servers import DaphneProcess, database_url

pytestmark = pytest.mark.browser

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
MAIL_SEPARATOR = "-" * 79


# --------------------------------------------------------------------------- the server
@dataclass
class Site:
    url: str
    server: DaphneProcess
    mail_dir: Path  # the server writes each email there (EMAIL_FILE_PATH, portal/settings/test.py)

    def emails_to(self, address: str) -> int:
        """Emails the server has sent to ``address`` (Django's file backend: one file per connection,
        messages separated by a line of 79 dashes)."""
        pattern = re.compile(rf"^To: .*{re.escape(address)}", re.MULTILINE | re.IGNORECASE)
        count = 0
        for path in self.mail_dir.iterdir():
            for message in path.read_text(errors="replace").split(MAIL_SEPARATOR):
                count += bool(pattern.search(message))
        return count


@pytest.fixture(scope="module")
def hurried_server(django_db_setup, django_db_blocker, tmp_path_factory):
    mail_dir = tmp_path_factory.mktemp("hurried-mail")
    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    env = {
        "DATABASE_URL": url,
        "EMAIL_BACKEND": FILE_BACKEND,
        "EMAIL_FILE_PATH": str(mail_dir),
        "PYTHONUNBUFFERED": "1",  # its log holds a 5xx's traceback by the time the try reads it
        "SHUTDOWN_DRAIN_SECONDS": "0",  # no load balancer to tell at the end
        "FORM_MIN_FILL_SECONDS": "0",  # the contact form's spam check: a test fills it at once
        "FORM_SUBMISSIONS_PER_HOUR": "1000",  # every try sends it from the same address
    }
    server = DaphneProcess(env=env).start()
    yield Site(server.url, server, mail_dir)
    server.stop()


@pytest.fixture
def site(live_db, hurried_server) -> Site:
    return hurried_server


# --------------------------------------------------------------------------- fresh rows for one try
def _people(n: int) -> tuple[User, User]:
    mentor = make_user(f"mentor{n}@hurried.example", f"Mentor {n}", "mentor")
    learner = make_user(f"learner{n}@hurried.example", f"Learner {n}", "learner")
    return mentor, learner


def _session(
    mentor: User, title: str, *, capacity: int = 2, starts_in: timedelta = timedelta(days=2), skills=()
) -> Session:
    return session_create(
        mentor=mentor,
        title=title,
        description="Bring your questions.",
        skills=list(skills),
        starts_at=timezone.now() + starts_in,
        duration_minutes=60,
        capacity=capacity,
    )


def _book(session: Session, learner: User) -> Booking:
    """A seat taken as the booking service takes it, without its notification (not under test)."""
    Session.objects.filter(pk=session.pk).update(booked_count=F("booked_count") + 1)
    return Booking.objects.create(session=session, learner=learner)


def _emails(site: Site, address: str, *, exactly: int | None = None) -> list[tuple[str, int, int]]:
    """Rows for the emails sent to ``address``: exactly so many, or (``exactly=None``, a notification
    that may or may not be emailed) no more than one."""
    found = site.emails_to(address)
    if exactly is None:
        return [(f"emails to {address} beyond the first", max(found - 1, 0), 0)]
    return [(f"emails to {address}", found, exactly)]


def _button(name: str) -> Callable[[Page], Locator]:
    return lambda page: page.get_by_role("button", name=name, exact=True)


def _label(text: str) -> Callable[[Page], Locator]:
    return lambda page: page.get_by_label(text)


def _fill_report(page: Page) -> None:
    page.get_by_label("Reason").select_option("technical")
    page.get_by_label("What happened?").fill("The sound kept dropping out.")


def _signed_in_check(page: Page) -> str | None:
    if signed_in(page):
        return None
    return f"not signed in: ended at {urlsplit(page.url).path} ({'; '.join(flash_messages(page)) or 'no message'})"


# Each action: (name, set-up for try number n -> Plan). Rows are (what, how many there are, how many must be).
def book(site: Site, n: int) -> Plan:
    mentor, learner = _people(n)
    session = _session(mentor, f"Hurried {n}: booking")
    return Plan(
        user=learner,
        path=f"/sessions/{session.pk}/",
        button=_button("Book a seat"),
        success=f"You are booked on “{session.title}”",
        rows=lambda: [
            ("active bookings", Booking.objects.filter(session=session, learner=learner, status="active").count(), 1),
            (
                "booking_made notifications to the mentor",
                Notification.objects.filter(user=mentor, kind="booking_made").count(),
                1,
            ),
            *_emails(site, mentor.email),
        ],
    )


def join_waitlist(site: Site, n: int) -> Plan:
    mentor, learner = _people(n)
    other = make_user(f"other{n}@hurried.example", f"Other {n}", "learner")
    session = _session(mentor, f"Hurried {n}: full", capacity=1)
    _book(session, other)
    return Plan(
        user=learner,
        path=f"/sessions/{session.pk}/",
        button=_button("Join the waitlist"),
        success="You are on the waitlist",
        rows=lambda: [
            (
                "waiting waitlist entries",
                WaitlistEntry.objects.filter(session=session, learner=learner, status="waiting").count(),
                1,
            ),
            ("waitlist entries", WaitlistEntry.objects.filter(session=session, learner=learner).count(), 1),
        ],
    )


def leave_waitlist(site: Site, n: int) -> Plan:
    mentor, learner = _people(n)
    other = make_user(f"other{n}@hurried.example", f"Other {n}", "learner")
    session = _session(mentor, f"Hurried {n}: full", capacity=1)
    _book(session, other)
    WaitlistEntry.objects.create(session=session, learner=learner)
    return Plan(
        user=learner,
        path=f"/sessions/{session.pk}/",
        button=_button("Leave the waitlist"),
        success="You left the waitlist.",
        confirms=True,
        rows=lambda: [
            (
                "waitlist entries left",
                WaitlistEntry.objects.filter(session=session, learner=learner, status="left").count(),
                1,
            ),
            ("waitlist entries", WaitlistEntry.objects.filter(session=session, learner=learner).count(), 1),
        ],
    )


def _cancel_booking(site: Site, n: int, where: str) -> Plan:
    mentor, learner = _people(n)
    session = _session(mentor, f"Hurried {n}: cancel from the {where}")
    _book(session, learner)
    if where == "session page":
        path, button = f"/sessions/{session.pk}/", _button("Cancel my booking")
    else:
        path, button = "/dashboard/", _button(f"Cancel your seat on “{session.title}”")
    return Plan(
        user=learner,
        path=path,
        button=button,
        success=f"Your seat on “{session.title}” is cancelled.",
        confirms=True,
        rows=lambda: [
            (
                "cancelled bookings",
                Booking.objects.filter(session=session, learner=learner, status="cancelled").count(),
                1,
            ),
            ("bookings", Booking.objects.filter(session=session, learner=learner).count(), 1),
            (
                "booking_cancelled notifications to the mentor",
                Notification.objects.filter(user=mentor, kind="booking_cancelled").count(),
                1,
            ),
            *_emails(site, mentor.email),
        ],
    )


def cancel_booking(site: Site, n: int) -> Plan:
    return _cancel_booking(site, n, "session page")


def cancel_from_dashboard(site: Site, n: int) -> Plan:
    return _cancel_booking(site, n, "dashboard")


def create_session(site: Site, n: int) -> Plan:
    mentor = make_user(f"mentor{n}@hurried.example", f"Mentor {n}", "mentor")
    title = f"Hurried {n}: new session"
    starts = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT10:00")  # the mentor's zone is UTC

    def fill(page: Page) -> None:
        page.get_by_label("Title").fill(title)
        page.get_by_label("Description").fill("Bring a view that grew too big.")
        page.get_by_label("Starts").fill(starts)
        page.get_by_label("Duration").select_option("60")
        page.get_by_label("Seats").select_option("2")

    return Plan(
        user=mentor,
        path="/sessions/new/",
        fill=fill,
        button=_button("Publish session"),
        field=_label("Title"),
        success="Your session is published.",
        rows=lambda: [("sessions with that title", Session.objects.filter(mentor=mentor, title=title).count(), 1)],
    )


def edit_session(site: Site, n: int) -> Plan:
    mentor, learner = _people(n)
    session = _session(mentor, f"Hurried {n}: moved")
    _book(session, learner)
    moved = (session.starts_at + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    return Plan(
        user=mentor,
        path=f"/sessions/{session.pk}/edit/",
        fill=lambda page: page.get_by_label("Starts").fill(moved),
        button=_button("Save changes"),
        field=_label("Title"),
        success="Session updated.",
        rows=lambda: [
            (
                "session_changed notifications to the learner",
                Notification.objects.filter(user=learner, kind="session_changed").count(),
                1,
            ),
            *_emails(site, learner.email),
        ],
    )


def cancel_session(site: Site, n: int) -> Plan:
    mentor, learner = _people(n)
    session = _session(mentor, f"Hurried {n}: called off")
    _book(session, learner)
    return Plan(
        user=mentor,
        path=f"/sessions/{session.pk}/",
        button=_button("Cancel session"),
        success="Session cancelled",
        confirms=True,
        rows=lambda: [
            ("cancelled sessions", Session.objects.filter(pk=session.pk, status="cancelled").count(), 1),
            (
                "session_cancelled notifications to the learner",
                Notification.objects.filter(user=learner, kind="session_cancelled").count(),
                1,
            ),
            *_emails(site, learner.email),
        ],
    )


def report_session(site: Site, n: int) -> Plan:
    mentor, learner = _people(n)
    session = _session(mentor, f"Hurried {n}: reported")
    _book(session, learner)
    return Plan(
        user=learner,
        path=f"/sessions/{session.pk}/report/",
        fill=_fill_report,
        button=_button("Send report"),
        success="Thank you. Our moderators will look at your report.",
        rows=lambda: [("reports", Report.objects.filter(reporter=learner).count(), 1)],
    )


def report_mentor(site: Site, n: int) -> Plan:
    mentor, learner = _people(n)
    return Plan(
        user=learner,
        path=f"/mentors/{mentor.pk}/report/",
        fill=_fill_report,
        button=_button("Send report"),
        success="Thank you. Our moderators will look at your report.",
        rows=lambda: [("reports", Report.objects.filter(reporter=learner, reported_user=mentor).count(), 1)],
    )


def mark_all_read(site: Site, n: int) -> Plan:
    learner = make_user(f"learner{n}@hurried.example", f"Learner {n}", "learner")
    for text in ("A seat freed up.", "Your session moved."):
        Notification.objects.create(user=learner, kind="reminder", text=text)
    return Plan(
        user=learner,
        path="/notifications/",
        button=_button("Mark all as read"),
        success="All notifications marked as read.",
        rows=lambda: [
            ("notifications", Notification.objects.filter(user=learner).count(), 2),
            ("notifications read", Notification.objects.filter(user=learner, is_read=True).count(), 2),
        ],
    )


def new_calendar_link(site: Site, n: int) -> Plan:
    learner = make_user(f"learner{n}@hurried.example", f"Learner {n}", "learner")
    return Plan(
        user=learner,
        path="/calendar/",
        button=_button("Make a new link"),
        success="Your calendar link was replaced.",
        confirms=True,
        rows=lambda: [("calendar feeds", CalendarFeed.objects.filter(user=learner).count(), 1)],
    )


def save_profile(site: Site, n: int) -> Plan:
    learner = make_user(f"learner{n}@hurried.example", f"Learner {n}", "learner")
    return Plan(
        user=learner,
        path="/profile/",
        fill=lambda page: page.get_by_label("Your name").fill(f"Renamed {n}"),
        button=_button("Save profile"),
        field=_label("Your name"),
        success="Your profile is saved.",
        rows=lambda: [
            ("learner profiles", LearnerProfile.objects.filter(user=learner).count(), 1),
            ("users with the new name", User.objects.filter(pk=learner.pk, display_name=f"Renamed {n}").count(), 1),
        ],
    )


def rate_session(site: Site, n: int) -> Plan:
    mentor, learner = _people(n)
    starts = timezone.now() - timedelta(hours=3)
    # A finished session, written directly: the services (rightly) refuse to create one.
    session = Session.objects.create(
        mentor=mentor,
        title=f"Hurried {n}: finished",
        starts_at=starts,
        duration_minutes=60,
        ends_at=starts + timedelta(minutes=60),
        capacity=2,
        booked_count=1,
        status=Session.Status.COMPLETED,
    )
    Booking.objects.create(session=session, learner=learner)

    def fill(page: Page) -> None:
        page.locator("input[name=rating][value='4']").check()
        page.get_by_label("Comment").fill("Clear and patient.")

    return Plan(
        user=learner,
        path=f"/sessions/{session.pk}/feedback/",
        fill=fill,
        button=_button("Save feedback"),
        success="Thank you! Your feedback is saved.",
        rows=lambda: [("feedback", Feedback.objects.filter(session=session, learner=learner).count(), 1)],
    )


def not_interested(site: Site, n: int) -> Plan:
    mentor, learner = _people(n)
    skill = Skill.objects.get_or_create(slug="hurried-skill", defaults={"name": "Hurried skill"})[0]
    learner_profile_update(user=learner, interests=[skill], goals="")
    # Soon and matching the learner's interest: first among the dashboard's suggestions.
    session = _session(mentor, f"Hurried {n}: suggested", starts_in=timedelta(hours=3), skills=[skill])
    return Plan(
        user=learner,
        path="/dashboard/",
        button=_button(f"Not interested in “{session.title}”"),
        success="Got it: we will not suggest that again.",
        rows=lambda: [("not-interested marks", NotInterested.objects.filter(user=learner, session=session).count(), 1)],
    )


def sign_up(site: Site, n: int) -> Plan:
    email = f"new{n}@hurried.example"

    def fill(page: Page) -> None:
        page.get_by_label("Your name").fill(f"Newcomer {n}")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Repeat password").fill(PASSWORD)

    return Plan(
        user=None,
        path="/accounts/signup/",
        fill=fill,
        button=_button("Sign Up"),
        field=_label("Repeat password"),
        success=_signed_in_check,
        rows=lambda: [("users", User.objects.filter(email=email).count(), 1), *_emails(site, email, exactly=1)],
    )


def sign_in(site: Site, n: int) -> Plan:
    learner = make_user(f"learner{n}@hurried.example", f"Learner {n}", "learner")

    def fill(page: Page) -> None:
        page.get_by_label("Email").fill(learner.email)
        page.get_by_label("Password").fill(PASSWORD)

    return Plan(
        user=None,
        path="/accounts/login/",
        fill=fill,
        button=_button("Sign In"),
        field=_label("Password"),
        success=_signed_in_check,
        rows=lambda: [],
    )


def reset_password(site: Site, n: int) -> Plan:
    learner = make_user(f"learner{n}@hurried.example", f"Learner {n}", "learner")

    def success(page: Page) -> str | None:
        if page.get_by_text("We have sent you an email").count():
            return None
        return f"no “We have sent you an email” (page “{page.title()}” at {urlsplit(page.url).path})"

    return Plan(
        user=None,
        path="/accounts/password/reset/",
        fill=lambda page: page.get_by_label("Email").fill(learner.email),
        button=_button("Reset My Password"),
        field=_label("Email"),
        success=success,
        rows=lambda: _emails(site, learner.email, exactly=1),
    )


def log_out(site: Site, n: int) -> Plan:
    learner = make_user(f"learner{n}@hurried.example", f"Learner {n}", "learner")

    def success(page: Page) -> str | None:
        if signed_in(page):
            return "still signed in"
        if not any("You have signed out." in text for text in flash_messages(page)):
            return f"no “You have signed out.” (saw: {'; '.join(flash_messages(page)) or 'no message'} at {urlsplit(page.url).path})"
        return None

    return Plan(user=learner, path="/dashboard/", button=_button("Log out"), success=success, rows=lambda: [])


def send_contact_form(site: Site, n: int) -> Plan:
    from wagtail.contrib.forms.models import FormSubmission

    from cms_pages.demo import demo_contact_seed
    from cms_pages.selectors import home_page_get

    demo_contact_seed(home_page_get())  # once per test: it leaves a page that is there alone
    email = f"writer{n}@hurried.example"

    def fill(page: Page) -> None:
        page.get_by_label("Your name").fill(f"Writer {n}")
        page.get_by_label("Your email").fill(email)
        page.get_by_label("Message").fill("When does the next Python group start?")

    def thanked(page: Page) -> str | None:
        if "Thank you, your message is on its way" in page.locator("main").inner_text():
            return None
        return f"no thanks: “{read_page(page).heading}” at {urlsplit(page.url).path}"

    return Plan(
        user=None,
        path="/contact/",
        fill=fill,
        button=_button("Send"),
        field=_label("Your email"),
        success=thanked,
        rows=lambda: [
            ("contact messages", sum(s.form_data.get("your_email") == email for s in FormSubmission.objects.all()), 1)
        ],
    )


def act_on_report(site: Site, n: int) -> Plan:
    from mentoring.models import ModerationAction

    mentor, learner = _people(n)
    moderator = make_user(f"moderator{n}@hurried.example", f"Moderator {n}", is_staff=True, is_superuser=True)
    report = Report.objects.create(reporter=learner, reported_user=mentor, reason="behaviour", text="Rude in the chat.")

    def fill(page: Page) -> None:
        page.get_by_label("Warn the reported person").check()
        page.get_by_label("Reason (shown to the reported person)").fill("Please keep the chat kind.")

    def said_done(page: Page) -> str | None:
        done = page.locator("ul.messagelist li.success").all_inner_texts()
        other = page.locator("ul.messagelist li.warning, ul.messagelist li.error, .errornote").all_inner_texts()
        if other or not any("Warn the reported person: done for 1 report(s)" in text for text in done):
            return f"admin said {done + other or 'nothing'} at {urlsplit(page.url).path}"
        return None

    return Plan(
        user=moderator,
        path=f"/admin/mentoring/report/{report.pk}/act/",
        fill=fill,
        button=_button("Do it and resolve"),  # Enter goes to the button: the reason is a text area
        success=said_done,
        rows=lambda: [
            ("warnings", ModerationAction.objects.filter(target=mentor, kind="warn").count(), 1),
            (
                "notifications to the reporter",
                Notification.objects.filter(user=learner, kind="report_resolved").count(),
                1,
            ),
        ],
    )


ACTIONS: list[tuple[str, Callable[[Site, int], Plan]]] = [
    ("Book a seat", book),
    ("Join the waitlist", join_waitlist),
    ("Leave the waitlist", leave_waitlist),
    ("Cancel my booking", cancel_booking),
    ("Cancel (dashboard)", cancel_from_dashboard),
    ("Create session", create_session),
    ("Edit session", edit_session),
    ("Cancel session", cancel_session),
    ("Report a problem", report_session),
    ("Report this mentor", report_mentor),
    ("Act on a report (moderator)", act_on_report),
    ("Send the contact form", send_contact_form),
    ("Mark all as read", mark_all_read),
    ("Make a new calendar link", new_calendar_link),
    ("Save profile", save_profile),
    ("Rate a session", rate_session),
    ("Not interested", not_interested),
    ("Sign up", sign_up),
    ("Sign in", sign_in),
    ("Password reset", reset_password),
    ("Log out", log_out),
]


def _last_exception(log: str) -> str:
    lines = [line for line in log.splitlines() if re.match(r"^[\w.]+(Error|Exception|Violation)\b.*:", line)]
    return f" [{lines[-1][:160]}]" if lines else ""


# --------------------------------------------------------------------------- the matrix
# One test per action (each tries every pattern), so that pytest-xdist spreads them over its workers.
# Every try gets fresh people and rows: the numbers go on across the module's tests, whose Daphne
# process and mail folder they share.
_TRY_NUMBERS = itertools.count(1)


@pytest.mark.parametrize("name, setup", ACTIONS, ids=[name for name, _ in ACTIONS])
def test_a_hurried_person_gets_each_thing_once_with_a_true_message(site, chromium, name, setup):
    failures: list[str] = []
    duplicated = server_errors = wrong = 0
    for pattern in PATTERNS:
        plan = setup(site, next(_TRY_NUMBERS))
        log_start = len(site.server.log_text())
        outcome = run_try(chromium, site.url, plan, pattern)
        if outcome.server_errors:
            server_errors += 1
            cause = _last_exception(site.server.log_text()[log_start:])
            failures.append(f"({name}, {pattern}): 5xx: {', '.join(outcome.server_errors)}{cause}")
        if outcome.duplicates:
            duplicated += 1
            failures.append(f"({name}, {pattern}): duplicate: {', '.join(outcome.duplicates)}")
        if outcome.wrong:
            wrong += 1
            failures.append(f"({name}, {pattern}): wrong: {'; '.join(outcome.wrong)}")
    print(
        f"\n[hurried] {name} x {len(PATTERNS)} patterns ({', '.join(PATTERNS)}): "
        f"duplicates {duplicated}, 5xx {server_errors}, wrong messages {wrong}"
    )
    assert (duplicated, server_errors, wrong) == (0, 0, 0), "\n".join(failures)


# --------------------------------------------------------------------------- two tabs
def _two_tabs(chromium, site: Site, user: User | None):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    if user is not None:
        context.add_cookies([session_cookie(user, site.url)])
    tabs = [context.new_page(), context.new_page()]
    for tab in tabs:
        tab.on("dialog", lambda dialog: dialog.accept())
    return context, tabs


def test_the_same_seat_booked_in_two_tabs_is_booked_once_and_both_tabs_say_so(site, chromium):
    mentor, learner = _people(901)  # numbers of their own: the emails folder outlives each test
    session = _session(mentor, "Two tabs")
    context, tabs = _two_tabs(chromium, site, learner)
    said = {}
    try:
        for tab in tabs:
            tab.goto(f"{site.url}/sessions/{session.pk}/", wait_until="domcontentloaded")
        for label, tab in zip("AB", tabs, strict=True):
            watcher = Watcher(tab)
            tab.get_by_role("button", name="Book a seat").click()
            watcher.settle()
            view = read_page(tab)
            true = any("You are booked" in text for text in view.messages) or "You have a seat" in view.body
            said[label] = [*watcher.server_errors, *page_problems(view)] + (
                [] if true else [f"neither “You are booked” nor “You have a seat” (messages: {view.messages})"]
            )
    finally:
        context.close()
    active = Booking.objects.filter(session=session, learner=learner, status="active").count()
    assert (active, said) == (1, {"A": [], "B": []})


def test_cancel_after_signing_out_in_another_tab_leads_back_to_the_action_after_signing_in(site, chromium):
    mentor, learner = _people(902)
    session = _session(mentor, "Signed out elsewhere")
    _book(session, learner)
    context, (tab_a, tab_b) = _two_tabs(chromium, site, learner)
    try:
        tab_a.goto(f"{site.url}/sessions/{session.pk}/", wait_until="domcontentloaded")
        tab_b.goto(f"{site.url}/dashboard/", wait_until="domcontentloaded")
        watcher_b = Watcher(tab_b)
        tab_b.get_by_role("button", name="Log out").click()
        watcher_b.settle()

        watcher_a = Watcher(tab_a)
        tab_a.get_by_role("button", name="Cancel my booking").click()
        watcher_a.settle()
        asked_to_sign_in = tab_a.get_by_role("button", name="Sign In").count() > 0
        if asked_to_sign_in:
            shown = watcher_a.committed
            log_in_here(tab_a, learner.email, PASSWORD)
            watcher_a.settle(since=shown)
        view = read_page(tab_a)
        problems = [*watcher_a.server_errors, *watcher_a.refusals, *page_problems(view)]
        # A confirmation page or the session page: either offers the action again.
        offered = tab_a.locator("main").get_by_role("button", name=re.compile(r"cancel|give up", re.IGNORECASE)).count()
        done = any("is cancelled" in text for text in view.messages)
    finally:
        context.close()
    where = f"{view.path} (status {view.status}, “{view.heading}”, messages {view.messages})"
    assert asked_to_sign_in, f"tab A was not asked to sign in: {where}"
    assert not problems and (offered or done), (
        f"after signing in again the person is at {where}: {problems or 'no cancel button'}"
    )


def test_a_login_form_left_open_while_signing_in_elsewhere_still_signs_the_person_in(site, chromium):
    learner = make_user("learner903@hurried.example", "Learner 903", "learner")
    context, (tab_a, tab_b) = _two_tabs(chromium, site, None)
    try:
        for tab in (tab_a, tab_b):
            tab.goto(f"{site.url}/accounts/login/", wait_until="domcontentloaded")
        watcher_b = Watcher(tab_b)
        log_in_here(tab_b, learner.email, PASSWORD)
        watcher_b.settle()
        assert signed_in(tab_b)

        watcher_a = Watcher(tab_a)
        log_in_here(tab_a, learner.email, PASSWORD)
        watcher_a.settle()
        view = read_page(tab_a)
        problems = [*watcher_a.refusals, *watcher_a.server_errors, *page_problems(view)]
        shown_signed_in = signed_in(tab_a)
    finally:
        context.close()
    where = f"{view.path} (status {view.status}, “{view.heading}”)"
    assert not problems and shown_signed_in, f"tab A's login ended at {where}: {problems or 'not signed in'}"

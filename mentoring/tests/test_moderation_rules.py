"""What moderation must not do: act on every report when the list was filtered ("select all"), let
staff who may only view act (or act on a superuser, or on a report about themselves), shorten a
running suspension, act twice on a person named by several reports, or write the audit twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.utils import timezone

from conftest import make_user
from mentoring.models import ModerationAction, Notification, Report
from mentoring.services import MentoringError
from mentoring.services.moderation import report_act, report_staff_notify, user_deactivate, user_suspend
from portal.accounts.models import User

pytestmark = pytest.mark.django_db

REPORTS_ADMIN = "/admin/mentoring/report/"


def _report(reporter, person_id, reason, text) -> Report:
    # As the site files one (report_create), about anyone: a learner is reported from a session.
    return Report.objects.create(reporter=reporter, reported_user_id=person_id, reason=reason, text=text)


def _people(count: int, prefix: str):
    return [make_user(f"{prefix}{n}@example.com", f"{prefix.title()} {n}") for n in range(count)]


def _staff(email: str, *perms: str) -> User:
    user = make_user(email, email.split("@")[0].title(), is_staff=True)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return User.objects.get(pk=user.pk)  # permissions are cached per instance


def test_select_all_on_a_filtered_list_only_resolves_what_the_filter_shows(client, mentor, admin_user):
    spammers = _people(12, "spammer")
    others = _people(3, "rude")
    for person in spammers:
        _report(mentor, person.pk, "spam", "Spam links")
    for person in others:
        _report(mentor, person.pk, "behaviour", "Rude")
    client.force_login(admin_user)
    query = "?reason__exact=spam"
    listed = client.get(REPORTS_ADMIN + query)
    assert listed.text.count("Spam links") == 12 and "Rude" not in listed.text

    # "Select all 12", Act on…: the form posts back to the filtered list.
    on_page = list(Report.objects.filter(reason="spam").values_list("pk", flat=True))
    picked = {"action": "act_on_reports", "_selected_action": on_page[:2], "select_across": "1"}
    form = client.post(REPORTS_ADMIN + query, {**picked, "index": "0"})
    assert form.status_code == 200
    assert f'action="{REPORTS_ADMIN}?reason__exact=spam"' in form.text
    # Deactivating (or anything done to people) over "all matching" is refused; nothing changes.
    refused = client.post(REPORTS_ADMIN + query, {**picked, "apply": "yes", "decision": "deactivate"})
    assert refused.status_code == 200 and "Only “Resolve only” applies" in refused.text
    assert User.objects.filter(is_active=False).count() == 0 and not ModerationAction.objects.exists()
    # Resolving all matching: the 12 spam reports, not the others.
    resolved = client.post(REPORTS_ADMIN + query, {**picked, "apply": "yes", "decision": "resolve"})
    assert resolved.status_code == 302
    spam_resolved = Report.objects.filter(reason="spam", status=Report.Status.RESOLVED).count()
    others_open = Report.objects.filter(reason="behaviour", status=Report.Status.OPEN).count()
    assert (spam_resolved, others_open) == (12, 3)
    print(
        f"\n[moderation] select all on ?reason=spam: deactivate refused (0 deactivated), "
        f"resolve {spam_resolved}/12 spam, {others_open}/3 others left open"
    )


def test_only_staff_who_may_change_act_never_on_a_superuser_or_themselves(client, learner, mentor, admin_user):
    viewer = _staff("viewer@example.com", "view_report", "view_user")
    moderator = _staff("mod@example.com", "view_report", "change_report", "view_user", "change_user")
    about_learner = _report(mentor, learner.pk, "spam", "Spam")
    about_admin = _report(mentor, admin_user.pk, "behaviour", "Boss")
    about_moderator = _report(mentor, moderator.pk, "behaviour", "Mod")
    refused = 0

    # A view-only staff member: no action in the list, a refusal by post, and from the services.
    client.force_login(viewer)
    listed = client.get(REPORTS_ADMIN)
    assert listed.status_code == 200 and "act_on_reports" not in listed.text
    post = {"action": "act_on_reports", "_selected_action": [about_learner.pk], "apply": "yes", "decision": "resolve"}
    client.post(REPORTS_ADMIN, post)
    users = client.get("/admin/accounts/user/")
    assert users.status_code == 200 and "deactivate_users" not in users.text
    client.post("/admin/accounts/user/", {"action": "deactivate_users", "_selected_action": [learner.pk]})
    for call in (
        lambda: report_act(report_id=about_learner.pk, staff=viewer, decision="resolve"),
        lambda: user_deactivate(user_id=learner.pk, staff=viewer),
        lambda: user_suspend(user_id=learner.pk, staff=viewer, days=2, reason="x"),
    ):
        with pytest.raises(MentoringError):
            call()
        refused += 1
    learner.refresh_from_db()
    about_learner.refresh_from_db()
    assert learner.is_active and about_learner.status == Report.Status.OPEN

    # A moderator (not a superuser): not on a superuser, not on a report about themselves.
    for report, decision in [(about_admin, "suspend"), (about_admin, "deactivate"), (about_moderator, "resolve")]:
        with pytest.raises(MentoringError):
            report_act(report_id=report.pk, staff=moderator, decision=decision, days=2, reason="Rude")
        refused += 1
    client.force_login(moderator)
    untick = client.get(f"/admin/accounts/user/{admin_user.pk}/change/")
    assert untick.status_code == 200
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.suspended_until is None and not ModerationAction.objects.exists()
    # What they may do, they do; the superuser may act on the moderator's report.
    report_act(report_id=about_learner.pk, staff=moderator, decision="suspend", days=2, reason="Spam")
    report_act(report_id=about_moderator.pk, staff=admin_user, decision="warn", reason="Be kind")
    assert User.objects.get(pk=learner.pk).is_suspended()

    # A new report is told only to staff who may view reports (the superuser included).
    mail.outbox.clear()
    Notification.objects.all().delete()
    _staff("nobody@example.com")  # staff without the permission
    report = _report(learner, mentor.pk, "spam", "Again")
    told = report_staff_notify(report=report)
    told_to = sorted(Notification.objects.filter(kind="report_filed").values_list("user__email", flat=True))
    assert told_to == sorted([admin_user.email, viewer.email, moderator.email]) and told == 3
    print(f"\n[moderation] view-only, superuser and self refused {refused}/6; new report told to {told}/3 readers")


def test_a_second_suspension_never_shortens_the_first_and_a_batch_acts_once_per_person(learner, mentor, admin_user):
    now = timezone.now()
    user_suspend(user_id=mentor.pk, staff=admin_user, days=30, reason="Long one", now=now)
    shorter = user_suspend(user_id=mentor.pk, staff=admin_user, days=2, reason="Short one", now=now)
    mentor.refresh_from_db()
    assert mentor.suspended_until == now + timedelta(days=30) and mentor.suspension_reason == "Long one"
    assert shorter.until == now + timedelta(days=30)
    longer = user_suspend(user_id=mentor.pk, staff=admin_user, days=60, reason="Longer", now=now)
    mentor.refresh_from_db()
    assert mentor.suspended_until == longer.until == now + timedelta(days=60)

    from mentoring.services.moderation import reports_act

    reports = [_report(mentor, learner.pk, "spam", f"Spam {n}") for n in range(3)]
    ModerationAction.objects.all().delete()
    done, refused = reports_act(
        report_ids=[r.pk for r in reports], staff=admin_user, decision="warn", reason="No spam, please"
    )
    warnings = ModerationAction.objects.filter(kind="warn").count()
    told = Notification.objects.filter(user=learner, kind="moderation").count()
    assert (len(done), refused, warnings, told) == (3, [], 1, 1)
    assert Report.objects.filter(status=Report.Status.RESOLVED).count() == 3

    # Sent twice (a double submit): answered as done, nothing done, recorded or told again.
    again, refused_again = reports_act(
        report_ids=[r.pk for r in reports], staff=admin_user, decision="warn", reason="No spam, please"
    )
    assert [r.repeated for r in again] == [True] * 3 and refused_again == []
    assert ModerationAction.objects.filter(kind__in=["warn", "resolve"]).count() == 4
    assert Notification.objects.filter(user=learner, kind="moderation").count() == 1
    # Someone else's later decision on a resolved report is refused; resolving it again changes nothing.
    other_staff = make_user("second@example.com", "Second Admin", is_staff=True, is_superuser=True)
    late, refused_late = reports_act(report_ids=[reports[0].pk], staff=other_staff, decision="warn", reason="Again")
    assert late == [] and refused_late == [f"Report {reports[0].pk}: This report was resolved already."]
    assert reports_act(report_ids=[reports[0].pk], staff=other_staff, decision="resolve") == ([], [])
    print(
        f"\n[moderation] 30 days then 2 days: 30 kept, then 60 extends; 3 reports about one person: "
        f"{warnings} warning, {told} notification; sent again: {len(again)} answered as done, 0 done again"
    )


def test_a_suspension_that_begins_at_the_second_factor_step_refuses_the_login(client, learner, admin_user):
    from conftest import PASSWORD
    from portal.accounts.tests.test_mfa import activate_totp, verified
    from tests.totp import totp

    secret = activate_totp(client, verified(learner))
    asked = client.post("/accounts/login/", {"login": learner.email, "password": PASSWORD})
    assert asked.status_code == 302 and asked["Location"] == "/accounts/2fa/authenticate/"
    # Suspended while the code is being typed: the right code does not log them in.
    user_suspend(user_id=learner.pk, staff=admin_user, days=3, reason="Spam in every chat")
    refused = client.post("/accounts/2fa/authenticate/", {"code": totp(secret, step_offset=1)})
    assert refused.status_code == 403 and "Spam in every chat" in refused.text
    assert "_auth_user_id" not in client.session and client.get("/dashboard/").status_code == 302
    print("\n[moderation] suspended between password and code: right code refused (403, reason shown), logged out")


def test_no_booking_or_new_session_slips_through_a_deactivation_or_a_suspension(
    learner, other_learner, mentor, admin_user
):
    from mentoring.models import Booking, Session
    from mentoring.selectors import mentor_is_listed, mentors_directory, sessions_open_for_booking, sessions_upcoming
    from mentoring.services.bookings import booking_cancel, booking_create, waitlist_join
    from mentoring.services.sessions import session_create
    from mentoring.tests.factories import make_session

    session = make_session(mentor, capacity=1)
    stale_learner = User.objects.get(pk=learner.pk)  # read before the deactivation, as a request would
    stale_mentor = User.objects.get(pk=mentor.pk)
    user_deactivate(user_id=learner.pk, staff=admin_user)
    refusals = []
    with pytest.raises(MentoringError) as closed:
        booking_create(session_id=session.pk, learner=stale_learner)
    refusals.append(closed.value.code)

    # A suspended learner does not book, nor get a seat from the waitlist (the next one does).
    suspended = make_user("susp@example.com", "Sus Pended")
    third = make_user("third@example.com", "Third Learner")
    first = booking_create(session_id=session.pk, learner=other_learner)
    waitlist_join(session_id=session.pk, learner=suspended)
    waitlist_join(session_id=session.pk, learner=third)
    user_suspend(user_id=suspended.pk, staff=admin_user, days=2, reason="Spam")
    with pytest.raises(MentoringError) as held:
        booking_create(session_id=make_session(mentor, starts_in=timedelta(days=5)).pk, learner=suspended)
    refusals.append(held.value.code)
    booking_cancel(booking_id=first.pk, learner=other_learner)
    seated = list(Booking.objects.filter(session=session, status="active").values_list("learner__email", flat=True))
    assert seated == [third.email]

    # A suspended mentor is not listed, not bookable, and offers no new session.
    assert mentor_is_listed(mentor_id=mentor.pk)
    later = make_session(mentor, starts_in=timedelta(days=6))
    assert sessions_upcoming().filter(pk=later.pk).exists() and sessions_open_for_booking().filter(pk=later.pk).exists()
    user_suspend(user_id=mentor.pk, staff=admin_user, days=2, reason="Late")
    assert not mentor_is_listed(mentor_id=mentor.pk) and not mentors_directory().filter(user=mentor).exists()
    # ... and their sessions leave the public lists (search, sitemap, session list, choosers) with them.
    assert Session.objects.get(pk=later.pk).status == Session.Status.SCHEDULED  # kept, for after the suspension
    assert not sessions_upcoming().filter(mentor=mentor).exists()
    assert not sessions_open_for_booking().filter(mentor=mentor).exists()
    with pytest.raises(MentoringError) as unavailable:
        booking_create(session_id=later.pk, learner=other_learner)
    refusals.append(unavailable.value.code)
    with pytest.raises(MentoringError) as no_offer:
        session_create(
            mentor=stale_mentor,
            title="After",
            starts_at=timezone.now() + timedelta(days=9),
            duration_minutes=60,
            capacity=2,
        )
    refusals.append(no_offer.value.code)
    assert not Session.objects.filter(title="After").exists()
    assert refusals == ["inactive", "suspended", "mentor_unavailable", "suspended"]
    print(
        f"\n[moderation] after deactivation/suspension refused {len(refusals)}/4 ({', '.join(refusals)}); "
        "waitlist skipped the suspended learner; suspended mentor unlisted"
    )


def _form_fields(html: str, form_id_part: str = "") -> dict[str, list[str]]:
    """What a browser would send for the page's form as it stands (checked boxes, selected options)."""
    from html.parser import HTMLParser

    fields: dict[str, list[str]] = {}

    class Parser(HTMLParser):
        select = None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            name = a.get("name")
            if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
                if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                    return
                fields.setdefault(name, []).append(a.get("value", "on"))
            elif tag == "select":
                self.select = name
            elif tag == "option" and self.select and "selected" in a:
                fields.setdefault(self.select, []).append(a.get("value", ""))

        def handle_endtag(self, tag):
            if tag == "select":
                self.select = None

    Parser().feed(html)
    return fields


def test_unticking_active_in_wagtails_user_admin_deactivates_through_the_service(client, learner, mentor, admin_user):
    from mentoring.models import Booking
    from mentoring.services.bookings import booking_create
    from mentoring.tests.factories import make_session

    booking = booking_create(session_id=make_session(mentor, capacity=2).pk, learner=learner)
    client.force_login(admin_user)
    url = f"/cms/users/edit/{learner.pk}/"
    page = client.get(url)
    assert page.status_code == 200
    data = _form_fields(page.text)
    assert data.pop("is_active") == ["on"]
    saved = client.post(url, data)
    assert saved.status_code == 302, saved.text[:2000]
    learner.refresh_from_db()
    booking.refresh_from_db()
    assert not learner.is_active and booking.status == Booking.Status.CANCELLED
    recorded = ModerationAction.objects.filter(kind="deactivate", actor=admin_user, target=learner).count()
    assert recorded == 1
    print(f"\n[moderation] Wagtail user admin untick active: deactivated, booking cancelled, recorded {recorded}/1")


def test_a_deactivation_keeps_its_reason_tells_the_person_and_cancels_in_the_staffs_name(
    client, learner, mentor, admin_user, django_capture_on_commit_callbacks
):
    from mentoring.models import Booking
    from mentoring.services.bookings import booking_create
    from mentoring.tests.factories import make_session

    soon = make_session(mentor, starts_in=timedelta(hours=3), capacity=2)
    booking = booking_create(session_id=soon.pk, learner=learner)
    Booking.objects.filter(pk=booking.pk).update(created_at=timezone.now() - timedelta(days=3))  # past the grace
    report = _report(mentor, learner.pk, "behaviour", "Threats")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        report_act(report_id=report.pk, staff=admin_user, decision="deactivate", reason="Threatened a mentor")
    action = ModerationAction.objects.get(kind="deactivate")
    assert action.reason == "Threatened a mentor" and action.target == learner
    emailed = [m for m in mail.outbox if learner.email in m.to and "Threatened a mentor" in m.body]
    assert len(emailed) == 1

    # Cancelled by the staff: not late, and not "You cancelled".
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and not booking.cancelled_late
    to_learner = Notification.objects.get(user=learner, kind="booking_cancelled").text
    to_mentor = Notification.objects.get(user=mentor, kind="booking_cancelled").text
    assert to_learner.startswith("The PeerLearn team cancelled your seat") and "late" not in to_learner
    assert to_mentor.startswith(f"The PeerLearn team cancelled {learner.display_name}'s seat")
    assert "late" not in to_mentor

    # Deactivated again, with nothing left: no second record.
    user_deactivate(user_id=learner.pk, staff=admin_user)
    assert ModerationAction.objects.filter(kind="deactivate").count() == 1

    # Unticking your own "active" box in the user admin: refused before anything is saved.
    client.force_login(admin_user)
    url = f"/admin/accounts/user/{admin_user.pk}/change/"
    data = _form_fields(client.get(url).text)
    assert data.pop("is_active") == ["on"]
    refused = client.post(url, data)
    admin_user.refresh_from_db()
    assert refused.status_code == 200 and "cannot moderate your own account" in refused.text
    assert admin_user.is_active
    print(
        f"\n[moderation] deactivation reason kept and emailed ({len(emailed)}/1); booking cancelled by staff "
        f"(late={booking.cancelled_late}); second deactivation recorded 0 more; own untick refused in the form"
    )


def test_staff_lift_a_suspension_early_and_the_person_signs_in_and_is_told(client, learner, mentor, admin_user):
    from conftest import PASSWORD

    user_suspend(user_id=mentor.pk, staff=admin_user, days=30, reason="Rude in a call")
    viewer = _staff("viewer@example.com", "view_user")
    client.force_login(viewer)
    seen = client.post("/admin/accounts/user/", {"action": "lift_suspensions", "_selected_action": [mentor.pk]})
    mentor.refresh_from_db()
    assert mentor.is_suspended(), "a staff member who may only view lifted a suspension"
    assert seen.status_code in (200, 302) and not ModerationAction.objects.filter(kind="lift").exists()

    client.force_login(admin_user)
    answer = client.post(
        "/admin/accounts/user/",
        {"action": "lift_suspensions", "_selected_action": [mentor.pk, learner.pk]},
        follow=True,
    )
    assert "Lifted 1 suspension(s)." in answer.text  # the learner was not suspended: nothing to lift
    mentor.refresh_from_db()
    assert not mentor.is_suspended()
    [lift] = ModerationAction.objects.filter(kind="lift")
    assert (lift.actor, lift.target) == (admin_user, mentor)
    assert Notification.objects.filter(user=mentor, kind="moderation", text__contains="lifted your suspension").exists()
    client.logout()
    signed_in = client.post("/accounts/login/", {"login": mentor.email, "password": PASSWORD})
    assert signed_in.status_code == 302 and client.get("/dashboard/").status_code == 200
    # A later suspension works as before.
    user_suspend(user_id=mentor.pk, staff=admin_user, days=2, reason="Again")
    mentor.refresh_from_db()
    assert mentor.is_suspended()
    print(
        "\n[moderation] lifted early: view-only refused, 1 of 2 lifted (1 not suspended), told, signs in, suspendable again"
    )

"""Moderation through the site and the Django admin: a report reaches the staff (bell and email),
staff act on it from the admin (here: a suspension), the reporter hears back, the suspended person's
logins end and a new login is refused with the reason and the end in their own zone, and the
suspension lifts itself once its time has passed. Hostile input in the admin's form changes nothing."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.utils import timezone

from conftest import PASSWORD, make_user
from mentoring.models import Feedback, ModerationAction, Notification, Report
from mentoring.services.bookings import booking_create
from mentoring.services.feedback import report_create
from mentoring.tests.factories import make_session, past_session
from portal.accounts.models import User

pytestmark = pytest.mark.django_db

REPORTS_ADMIN = "/admin/mentoring/report/"
LOGIN_URL = "/accounts/login/"
REASON = "Repeatedly rude to learners in calls."


def _act(client, report, **fields):
    data = {"action": "act_on_reports", "_selected_action": [report.pk], "apply": "yes", **fields}
    return client.post(REPORTS_ADMIN, data)


def _nothing_changed(report, person) -> bool:
    report.refresh_from_db()
    person.refresh_from_db()
    return (
        report.status == Report.Status.OPEN and person.suspended_until is None and not ModerationAction.objects.exists()
    )


def test_a_report_reaches_staff_and_a_suspension_refuses_login_with_its_reason_until_it_lifts(
    client, learner, mentor, admin_user, django_capture_on_commit_callbacks
):
    second_staff = make_user("sam@example.com", "Sam Staff", "learner", is_staff=True, is_superuser=True)
    session = make_session(mentor, capacity=2)
    booking_create(session_id=session.pk, learner=learner)
    mentor_browser = client.__class__()
    mentor_browser.force_login(mentor)  # a login made before the suspension
    assert mentor_browser.get("/dashboard/").status_code == 200

    # 1. The learner reports the mentor: both staff members are told, on the site and by email.
    client.force_login(learner)
    with django_capture_on_commit_callbacks(execute=True):
        filed = client.post(
            f"/sessions/{session.pk}/report/", {"reason": "behaviour", "reported_user": str(mentor.pk), "text": "Rude"}
        )
    assert filed.status_code == 302
    report = Report.objects.get()
    bell = Notification.objects.filter(kind=Notification.Kind.REPORT_FILED)
    assert sorted(bell.values_list("user__email", flat=True)) == [admin_user.email, second_staff.email]
    assert all(n.link == f"/admin/mentoring/report/{report.pk}/change/" for n in bell)
    emailed = sorted(to for message in mail.outbox for to in message.to if "report" in message.subject.lower())
    assert emailed == [admin_user.email, second_staff.email]
    staff_told = f"{min(bell.count(), len(emailed))}/2"

    # 2. Staff open it: read-only, no Save button, an action to take from the report itself.
    client.force_login(admin_user)
    detail = client.get(f"{REPORTS_ADMIN}{report.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.text and 'name="_continue"' not in detail.text
    assert "Act on this report…" in detail.text
    form = client.get(f"{REPORTS_ADMIN}{report.pk}/act/")  # where the report's page links to
    assert form.status_code == 200 and "Suspend the reported person" in form.text
    assert f'name="_selected_action" value="{report.pk}"' in form.text
    assert client.post(f"{REPORTS_ADMIN}{report.pk}/act/").status_code == 403  # the form posts to the list
    assert client.get(f"{REPORTS_ADMIN}999999/act/").status_code == 404

    # 3. Hostile input: a form error each, nothing stored changes.
    hostile = [
        ({"decision": "suspend", "days": "-1", "reason": REASON}, "greater than or equal to 1"),
        ({"decision": "suspend", "days": str(10**9), "reason": REASON}, "less than or equal to 3650"),
        ({"decision": "suspend", "days": "3", "reason": "Rude\x1b[31m"}, "control characters"),
        ({"decision": "suspend", "days": "3", "reason": ""}, "Give the reason"),
        ({"decision": "suspend", "days": "", "reason": REASON}, "Say how many days"),
        ({"decision": "explode", "days": "3", "reason": REASON}, "Select a valid choice"),
    ]
    # NUL is refused for the whole site before any view (PostgreSQL cannot store it): a 400 page.
    nul = _act(client, report, decision="suspend", days="3", reason="Rude\x00")
    assert nul.status_code == 400 and _nothing_changed(report, mentor)
    refused = 1
    for fields, error in hostile:
        response = _act(client, report, **fields)
        assert response.status_code == 200 and error in response.text, fields
        assert _nothing_changed(report, mentor), fields
        refused += 1

    # 4. The suspension: three days, with the reason; the reporter hears back with the note.
    with django_capture_on_commit_callbacks(execute=True):
        done = _act(client, report, decision="suspend", days="3", reason=REASON, note="Thanks, we dealt with it.")
    assert done.status_code == 302
    report.refresh_from_db()
    mentor.refresh_from_db()
    assert report.status == Report.Status.RESOLVED and report.resolved_by == admin_user
    assert mentor.is_suspended() and mentor.suspension_reason == REASON
    assert timedelta(days=3) - timedelta(minutes=1) < mentor.suspended_until - timezone.now() <= timedelta(days=3)
    kinds = list(ModerationAction.objects.order_by("pk").values_list("kind", "actor", "target"))
    assert kinds == [("suspend", admin_user.pk, mentor.pk), ("resolve", admin_user.pk, mentor.pk)]
    assert LogEntry.objects.filter(object_id=str(report.pk), change_message__contains="Suspend").exists()
    reply = Notification.objects.get(user=learner, kind=Notification.Kind.REPORT_RESOLVED)
    assert "Thanks, we dealt with it." in reply.text
    # Handled: the staff alerts about it are read, for the one who acted and for the other staff member.
    assert not bell.filter(is_read=False).exists() and bell.count() == 2
    assert Notification.objects.filter(user=mentor, kind=Notification.Kind.MODERATION, text__contains=REASON).exists()
    assert any(mentor.email in m.to and REASON in m.body for m in mail.outbox)
    suspended_now = client.get("/admin/accounts/user/", {"suspended": "now"})
    assert mentor.email in suspended_now.text and learner.email not in suspended_now.text

    # 5. The login made before it has ended; a new one is refused with the reason and the end.
    assert mentor_browser.get("/dashboard/").status_code == 302
    client.logout()
    wrong = client.post(LOGIN_URL, {"login": mentor.email, "password": "not-the-password-1"})
    assert REASON not in wrong.text  # only the person (who knows the password) is told why
    refused_login = client.post(LOGIN_URL, {"login": mentor.email, "password": PASSWORD})
    local = mentor.suspended_until.astimezone(ZoneInfo("America/New_York"))
    until = f"{local:%A} {local.day} {local:%B %Y, %H:%M} (America/New_York)"
    assert refused_login.status_code == 403
    assert REASON in refused_login.text and until in refused_login.text
    assert "_auth_user_id" not in client.session

    # 6. Its time passes (moved back, as the clock would): the same login works, by itself.
    User.objects.filter(pk=mentor.pk).update(suspended_until=timezone.now() - timedelta(minutes=1))
    lifted = client.post(LOGIN_URL, {"login": mentor.email, "password": PASSWORD})
    assert lifted.status_code == 302 and client.get("/dashboard/").status_code == 200
    assert mentor_browser.get("/dashboard/").status_code == 302  # the old login stays ended

    print(
        f"\n[moderation] report filed, staff notified {staff_told} (bell and email), "
        f"hostile inputs refused {refused}/{len(hostile) + 1}, suspended 3 days, old login ended, "
        f"login refused with reason and end ({until}), lifted after period: ok"
    )


def test_warn_and_hide_feedback_from_a_report_and_what_cannot_be_done_is_refused(
    client, learner, other_learner, mentor, admin_user
):
    session = past_session(mentor, capacity=3)
    from mentoring.tests.factories import make_booking

    make_booking(session, learner)
    make_booking(session, other_learner)
    rude = Feedback.objects.create(session=session, learner=other_learner, rating=1, comment="Insults")
    about_feedback = report_create(
        reporter=mentor,
        reason="behaviour",
        text="Insulting feedback",
        session_id=session.pk,
        reported_user_id=other_learner.pk,
    )
    about_session = report_create(reporter=learner, reason="technical", text="No sound", session_id=session.pk)
    client.force_login(admin_user)

    # A report is part of the record: its page is a view (no Delete), and neither it nor the list deletes.
    page = client.get(f"{REPORTS_ADMIN}{about_feedback.pk}/change/")
    assert page.status_code == 200 and "View report" in page.text and "Change report" not in page.text
    assert f"{about_feedback.pk}/delete/" not in page.text
    assert client.get(f"{REPORTS_ADMIN}{about_feedback.pk}/delete/").status_code == 403
    assert 'value="delete_selected"' not in client.get(REPORTS_ADMIN).text
    assert Report.objects.filter(pk=about_feedback.pk).exists()

    # A report that names nobody cannot warn anyone: refused, still open.
    refused = client.post(
        REPORTS_ADMIN,
        {
            "action": "act_on_reports",
            "_selected_action": [about_session.pk],
            "apply": "yes",
            "decision": "warn",
            "reason": "Stop",
        },
        follow=True,
    )
    assert "names no person to act on" in refused.text
    about_session.refresh_from_db()
    assert about_session.status == Report.Status.OPEN

    hidden = _act(client, about_feedback, decision="hide_feedback")
    assert hidden.status_code == 302
    rude.refresh_from_db()
    assert rude.hidden
    about_feedback.refresh_from_db()
    assert about_feedback.status == Report.Status.RESOLVED
    # Resolved: no second action on it.
    again = client.post(
        REPORTS_ADMIN,
        {
            "action": "act_on_reports",
            "_selected_action": [about_feedback.pk],
            "apply": "yes",
            "decision": "warn",
            "reason": "Stop",
        },
        follow=True,
    )
    assert "resolved already" in again.text
    assert not Notification.objects.filter(user=other_learner, kind=Notification.Kind.MODERATION).exists()

    warned = _act(client, about_session, decision="resolve", note="It was a browser setting.")
    assert warned.status_code == 302

    # The queue: open first, filtered by status, reason and age; the audit trail lists every step.
    Report.objects.filter(pk=about_session.pk).update(created_at=timezone.now() - timedelta(days=10))
    old = client.get(REPORTS_ADMIN, {"age": "older"})
    assert "No sound" in old.text and "Insulting feedback" not in old.text
    today = client.get(REPORTS_ADMIN, {"age": "day", "reason__exact": "behaviour"})
    assert "Insulting feedback" in today.text and "No sound" not in today.text
    trail = client.get("/admin/mentoring/moderationaction/")
    assert trail.status_code == 200 and "Hid feedback" in trail.text
    assert ModerationAction.objects.filter(kind="resolve").count() == 2
    print(
        "\n[moderation] hide feedback 1/1, warn without a person refused, second action on a resolved report refused, queue filters: ok"
    )

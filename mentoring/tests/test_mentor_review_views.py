"""Mentor onboarding over HTTP: sign-up, what learners see of an unreviewed mentor, the admin's review
actions, the mentor's dashboard and a changed profile going back to review."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail

from conftest import make_user
from mentoring.models import Booking, MentorProfile, Notification, WaitlistEntry
from mentoring.services.profiles import mentor_profile_review
from mentoring.services.recommendations import session_candidates
from mentoring.tests.factories import make_session, skill
from portal.accounts.models import User

pytestmark = pytest.mark.django_db

ADMIN_PROFILES = "/admin/mentoring/mentorprofile/"
PENDING_BANNER = "Your profile is waiting for review: learners cannot see it yet. We usually answer within a day."


def sign_up_mentor(client, email="nina@example.com", name="Nina Newcomer") -> User:
    response = client.post(
        "/accounts/signup/",
        {
            "display_name": name,
            "email": email,
            "password1": "compiler-cobol-1959",
            "password2": "compiler-cobol-1959",
            "role": "mentor",
            "time_zone": "Europe/Berlin",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    return User.objects.get(email=email)


def profile_of(user) -> MentorProfile:
    return MentorProfile.objects.get(user=user)


@pytest.fixture
def newcomer(db):
    return make_user("nina@example.com", "Nina Newcomer", "mentor", approved=False)


def test_a_mentor_who_signs_up_waits_for_review_unseen_and_unbookable(client, admin_user, learner, mentor):
    newcomer = sign_up_mentor(client)

    assert profile_of(newcomer).review_status == MentorProfile.Review.PENDING
    [notice] = Notification.objects.filter(kind=Notification.Kind.PROFILE_SUBMITTED)
    assert notice.user == admin_user and "Nina Newcomer" in notice.text
    assert notice.link == f"{ADMIN_PROFILES}{profile_of(newcomer).pk}/change/"
    dashboard = client.get("/dashboard/")
    assert PENDING_BANNER in dashboard.text
    # What the mentor makes meanwhile is kept, and marked.
    python = skill("Python")
    session = make_session(newcomer, title="Spark for beginners", skills=[python], capacity=2)
    dashboard = client.get("/dashboard/")
    assert "Spark for beginners" in dashboard.text and "Not listed until approved" in dashboard.text
    own_profile = client.get(f"/mentors/{newcomer.pk}/")
    assert own_profile.status_code == 200 and "Not listed yet" in own_profile.text
    own_session = client.get(f"/sessions/{session.pk}/")
    assert own_session.status_code == 200 and "Not listed until approved" in own_session.text

    client.logout()
    for viewer in (None, learner):
        if viewer:
            client.force_login(viewer)
        directory = client.get("/mentors/")
        assert "Nina Newcomer" not in directory.text and "Maya Mentor" in directory.text
        assert "Nina Newcomer" not in client.get("/mentors/?q=nina").text
        assert client.get(f"/mentors/{newcomer.pk}/").status_code == 404
        assert "Spark for beginners" not in client.get("/sessions/").text
        assert "Spark for beginners" not in client.get("/sessions/?q=spark").text
        assert "Spark for beginners" not in client.get(f"/sessions/?skill={python.slug}").text
        assert client.get(f"/sessions/{session.pk}/").status_code == 404
        assert client.get(f"/sessions/{session.pk}/calendar.ics").status_code == 404
        assert "Nina Newcomer" not in client.get("/search/?q=nina").text

    # The learner is signed in: booking or waiting is refused with the reason, and nothing is made.
    booked = client.post(f"/sessions/{session.pk}/book/", follow=True)
    assert booked.redirect_chain[-1][0] == "/sessions/"
    assert "This mentor&#x27;s profile is not yet reviewed." in booked.text
    waited = client.post(f"/sessions/{session.pk}/waitlist/", follow=True)
    assert "This mentor&#x27;s profile is not yet reviewed." in waited.text
    assert not Booking.objects.filter(session=session).exists()
    assert not WaitlistEntry.objects.filter(session=session).exists()
    learner.learner_profile.interests.set([python])
    assert session not in session_candidates(user=learner)
    recommendations = client.get("/api/recommendations/?kind=mentors").json()["results"]
    assert newcomer.pk not in [item["id"] for item in recommendations]

    client.force_login(admin_user)  # staff may look before deciding
    assert client.get(f"/mentors/{newcomer.pk}/").status_code == 200
    assert client.get(f"/sessions/{session.pk}/").status_code == 200


def test_signing_up_as_a_learner_tells_staff_nothing(client, admin_user):
    response = client.post(
        "/accounts/signup/",
        {
            "display_name": "Lena Learner",
            "email": "lena@example.com",
            "password1": "compiler-cobol-1959",
            "password2": "compiler-cobol-1959",
            "role": "learner",
            "time_zone": "UTC",
        },
    )
    assert response.status_code == 302
    assert not Notification.objects.filter(kind=Notification.Kind.PROFILE_SUBMITTED).exists()


def test_staff_approve_from_the_changelist_and_the_mentor_is_listed_and_told(
    client, admin_user, newcomer, learner, django_capture_on_commit_callbacks
):
    session = make_session(newcomer, title="Spark for beginners", capacity=2)
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ADMIN_PROFILES, {"action": "approve_profiles", "_selected_action": [profile_of(newcomer).pk]}, follow=True
        )

    assert response.status_code == 200
    assert "Approved 1 mentor profile; the mentor was notified." in response.text
    profile = profile_of(newcomer)
    # In the profile's History, like any change made in the admin.
    assert LogEntry.objects.filter(object_id=str(profile.pk), change_message="Review: approved").exists()
    assert profile.review_status == MentorProfile.Review.APPROVED and profile.reviewed_by == admin_user
    notice = Notification.objects.get(user=newcomer, kind=Notification.Kind.PROFILE_REVIEWED)
    assert "approved" in notice.text
    [email] = [m for m in mail.outbox if m.to == ["nina@example.com"]]
    assert "Your mentor profile is approved" in email.body and f"/mentors/{newcomer.pk}/" in email.body

    client.force_login(learner)
    assert "Nina Newcomer" in client.get("/mentors/").text
    assert client.get(f"/mentors/{newcomer.pk}/").status_code == 200
    assert "Spark for beginners" in client.get("/sessions/").text
    client.post(f"/sessions/{session.pk}/book/")
    assert Booking.objects.filter(session=session, learner=learner, status=Booking.Status.ACTIVE).exists()

    # Approving again: nothing new.
    client.force_login(admin_user)
    client.post(ADMIN_PROFILES, {"action": "approve_profiles", "_selected_action": [profile.pk]})
    assert Notification.objects.filter(user=newcomer, kind=Notification.Kind.PROFILE_REVIEWED).count() == 1


def test_staff_request_changes_on_an_intermediate_page_and_the_mentor_resubmits(
    client, admin_user, newcomer, django_capture_on_commit_callbacks
):
    profile = profile_of(newcomer)
    client.force_login(admin_user)
    selected = {"action": "request_changes", "_selected_action": [profile.pk]}

    ask = client.post(ADMIN_PROFILES, selected)
    assert ask.status_code == 200
    assert "What should the mentor change?" in ask.text and "Nina Newcomer" in ask.text
    assert 'name="apply"' in ask.text

    empty = client.post(ADMIN_PROFILES, {**selected, "apply": "yes", "message": "   "})
    assert empty.status_code == 200
    assert "Tell the mentor what to change: the message is required." in empty.text
    nul = client.post(ADMIN_PROFILES, {**selected, "apply": "yes", "message": "Fix\x00it"})
    assert nul.status_code == 400  # the site refuses NUL in any form, before any view
    bell = client.post(ADMIN_PROFILES, {**selected, "apply": "yes", "message": "Fix\x07it"})
    assert bell.status_code == 200 and "errorlist" in bell.text
    huge = client.post(ADMIN_PROFILES, {**selected, "apply": "yes", "message": "x" * 5000})
    assert huge.status_code == 200 and "errorlist" in huge.text
    profile.refresh_from_db()
    assert profile.review_status == MentorProfile.Review.PENDING and profile.reviewed_at is None

    message = "Please add your skills and a line about your <b>experience</b>."
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(ADMIN_PROFILES, {**selected, "apply": "yes", "message": message}, follow=True)
    assert sent.redirect_chain[-1][0] == ADMIN_PROFILES
    assert "Asked 1 mentor for changes, with your message." in sent.text
    profile.refresh_from_db()
    assert (profile.review_status, profile.review_message) == (MentorProfile.Review.CHANGES, message)
    assert any(m.to == ["nina@example.com"] and "add your skills" in m.body for m in mail.outbox)

    client.force_login(newcomer)
    dashboard = client.get("/dashboard/")
    assert "Staff asked for changes before your profile is listed." in dashboard.text
    assert "line about your &lt;b&gt;experience&lt;/b&gt;." in dashboard.text  # shown as text
    assert 'href="/profile/"' in dashboard.text

    python = skill("Python")
    saved = client.post(
        "/profile/",
        {
            "display_name": "Nina Newcomer",
            "time_zone": "Europe/Berlin",
            "role-headline": "Data engineer, Spark and dbt",
            "role-bio": "Ten years of pipelines.",
            "role-skills": [python.pk],
            "role-years_experience": "10",
            "role-accepting_bookings": "on",
        },
        follow=True,
    )
    assert "Staff review it before learners can see it." in saved.text
    assert profile_of(newcomer).review_status == MentorProfile.Review.PENDING
    [notice] = Notification.objects.filter(kind=Notification.Kind.PROFILE_SUBMITTED)
    assert notice.user == admin_user and "review it again" in notice.text
    assert PENDING_BANNER in client.get("/dashboard/").text


def test_the_review_fields_are_read_only_in_the_change_form(client, admin_user, newcomer):
    profile = profile_of(newcomer)
    client.force_login(admin_user)
    page = client.get(f"{ADMIN_PROFILES}{profile.pk}/change/")
    assert page.status_code == 200
    assert 'name="review_status"' not in page.text and "Waiting for review" in page.text
    client.post(
        f"{ADMIN_PROFILES}{profile.pk}/change/",
        {
            "user": newcomer.pk,
            "headline": "Edited by staff",
            "bio": "",
            "years_experience": "1",
            "accepting_bookings": "on",
            "review_status": "approved",
        },
    )
    profile.refresh_from_db()
    assert profile.headline == "Edited by staff" and profile.review_status == MentorProfile.Review.PENDING


def test_the_changelist_puts_pending_first_and_filters_by_review(client, admin_user, mentor, newcomer):
    asked = make_user("omar@example.com", "Omar Asked", "mentor", approved=False)
    mentor_profile_review(
        profile_id=profile_of(asked).pk, reviewer=admin_user, decision="changes", message="Add a headline."
    )
    client.force_login(admin_user)

    everyone = client.get(ADMIN_PROFILES)
    assert everyone.status_code == 200
    names = [p.user.display_name for p in everyone.context["cl"].result_list]
    assert names == ["Nina Newcomer", "Omar Asked", "Maya Mentor"]
    assert "Changes requested" in everyone.text

    pending = client.get(f"{ADMIN_PROFILES}?review_status__exact=pending")
    assert [p.user_id for p in pending.context["cl"].result_list] == [newcomer.pk]
    approved = client.get(f"{ADMIN_PROFILES}?review_status__exact=approved")
    assert [p.user_id for p in approved.context["cl"].result_list] == [mentor.pk]
    assert client.get(f"{ADMIN_PROFILES}?review_status__exact=nonsense").status_code == 200

    index = client.get("/admin/")
    assert "1 mentor profile waiting for review" in index.text
    assert f'href="{ADMIN_PROFILES}?review_status__exact=pending"' in index.text


def test_outsiders_cannot_use_the_review_actions(client, outsider, mentor, newcomer):
    client.force_login(outsider)
    response = client.post(
        ADMIN_PROFILES, {"action": "approve_profiles", "_selected_action": [profile_of(newcomer).pk]}
    )
    assert response.status_code == 302 and "/login" in response["Location"]
    client.force_login(mentor)
    client.post(
        ADMIN_PROFILES,
        {"action": "request_changes", "_selected_action": [profile_of(newcomer).pk], "apply": "yes", "message": "x"},
    )
    assert profile_of(newcomer).review_status == MentorProfile.Review.PENDING
    assert not Notification.objects.filter(kind=Notification.Kind.PROFILE_REVIEWED).exists()


def test_a_learner_booked_before_changes_were_asked_still_sees_the_session(client, mentor, learner, admin_user):
    session = make_session(mentor, title="Booked before", capacity=2, starts_in=timedelta(days=2))
    client.force_login(learner)
    client.post(f"/sessions/{session.pk}/book/")
    mentor_profile_review(profile_id=profile_of(mentor).pk, reviewer=admin_user, decision="changes", message="Bio?")

    assert client.get(f"/sessions/{session.pk}/").status_code == 200
    assert "Booked before" in client.get("/dashboard/").text
    assert "Booked before" not in client.get("/sessions/").text

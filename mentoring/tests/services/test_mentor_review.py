"""Mentor onboarding: staff review a new mentor's profile before it is listed or bookable."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command

from conftest import make_user
from mentoring.errors import MentoringError, NotFound
from mentoring.models import Booking, MentorProfile, Notification, WaitlistEntry
from mentoring.selectors import (
    mentor_get_public,
    mentor_is_listed,
    mentor_profiles_pending_count,
    mentors_directory,
    session_get_public,
    sessions_open_for_booking,
    sessions_upcoming,
)
from mentoring.services.bookings import booking_create, waitlist_join
from mentoring.services.profiles import mentor_profile_review, mentor_profile_update, mentor_signup_submit
from mentoring.tests.factories import make_session
from portal.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(db):
    return make_user("nina@example.com", "Nina Newcomer", "mentor", approved=False)


def profile_of(user) -> MentorProfile:
    return MentorProfile.objects.get(user=user)


def edit_profile(user, headline="Data engineer, Spark and dbt"):
    return mentor_profile_update(
        user=user, headline=headline, bio="", skills=[], languages=[], years_experience=5, accepting_bookings=True
    )


def test_a_new_mentor_is_pending_and_unlisted_and_their_sessions_are_not_bookable(newcomer, learner):
    session = make_session(newcomer, capacity=1)  # kept while pending

    assert profile_of(newcomer).review_status == MentorProfile.Review.PENDING
    assert not mentor_is_listed(mentor_id=newcomer.pk)
    assert newcomer.pk not in mentors_directory().values_list("user_id", flat=True)
    assert session not in sessions_open_for_booking() and session not in sessions_upcoming()
    assert mentor_profiles_pending_count() == 1
    with pytest.raises(MentoringError) as refused:
        booking_create(session_id=session.pk, learner=learner)
    assert (refused.value.code, refused.value.message) == ("not_reviewed", "This mentor's profile is not yet reviewed.")
    with pytest.raises(MentoringError) as refused:
        waitlist_join(session_id=session.pk, learner=learner)
    assert refused.value.code == "not_reviewed"
    assert not Booking.objects.exists() and not WaitlistEntry.objects.exists()


def test_who_sees_an_unreviewed_mentor_and_their_session(newcomer, learner, outsider, admin_user):
    session = make_session(newcomer)
    for viewer in (None, learner, outsider):
        with pytest.raises(NotFound):
            mentor_get_public(user_id=newcomer.pk, user=viewer)
        with pytest.raises(NotFound):
            session_get_public(session_id=session.pk, user=viewer)
    for viewer in (newcomer, admin_user):
        assert mentor_get_public(user_id=newcomer.pk, user=viewer).user_id == newcomer.pk
        assert session_get_public(session_id=session.pk, user=viewer).pk == session.pk


def test_approving_lists_the_mentor_and_notifies_them_once(
    newcomer, learner, admin_user, django_capture_on_commit_callbacks
):
    session = make_session(newcomer)
    with django_capture_on_commit_callbacks(execute=True):
        profile = mentor_profile_review(
            profile_id=profile_of(newcomer).pk, reviewer=admin_user, decision="approve", message="Welcome aboard!"
        )

    assert profile.review_status == MentorProfile.Review.APPROVED
    assert profile.reviewed_by == admin_user and profile.reviewed_at is not None
    assert mentor_is_listed(mentor_id=newcomer.pk)
    assert session in sessions_open_for_booking()
    notice = Notification.objects.get(user=newcomer, kind=Notification.Kind.PROFILE_REVIEWED)
    assert "approved" in notice.text and "Welcome aboard!" in notice.text
    assert notice.link == f"/mentors/{newcomer.pk}/"
    [email] = [m for m in mail.outbox if m.to == [newcomer.email]]
    assert "approved" in email.body and "Profile reviewed" in email.subject
    assert booking_create(session_id=session.pk, learner=learner).status == Booking.Status.ACTIVE

    reviewed_at = profile.reviewed_at
    again = mentor_profile_review(profile_id=profile.pk, reviewer=admin_user, decision="approve", message="")
    assert again.reviewed_at == reviewed_at  # approving again is idempotent
    assert Notification.objects.filter(user=newcomer, kind=Notification.Kind.PROFILE_REVIEWED).count() == 1


def test_requesting_changes_needs_a_message_and_keeps_the_mentor_unlisted(newcomer, admin_user):
    profile = profile_of(newcomer)
    for blank in ("", "   \n "):
        with pytest.raises(MentoringError) as refused:
            mentor_profile_review(profile_id=profile.pk, reviewer=admin_user, decision="changes", message=blank)
        assert refused.value.code == "message_required"
    profile.refresh_from_db()
    assert profile.review_status == MentorProfile.Review.PENDING and profile.reviewed_at is None

    mentor_profile_review(
        profile_id=profile.pk, reviewer=admin_user, decision="changes", message="Add a headline and your skills."
    )
    profile.refresh_from_db()
    assert profile.review_status == MentorProfile.Review.CHANGES
    assert profile.review_message == "Add a headline and your skills."
    assert not mentor_is_listed(mentor_id=newcomer.pk)
    notice = Notification.objects.get(user=newcomer, kind=Notification.Kind.PROFILE_REVIEWED)
    assert "Add a headline and your skills." in notice.text and notice.link == "/dashboard/"

    # The same request sent twice (a double submit) is one request.
    mentor_profile_review(
        profile_id=profile.pk, reviewer=admin_user, decision="changes", message="Add a headline and your skills."
    )
    assert Notification.objects.filter(user=newcomer, kind=Notification.Kind.PROFILE_REVIEWED).count() == 1


def test_a_long_message_is_kept_whole_on_the_profile_and_shortened_in_the_notification(newcomer, admin_user):
    message = "Please say more about your experience. " * 50  # ~1950 characters
    mentor_profile_review(profile_id=profile_of(newcomer).pk, reviewer=admin_user, decision="changes", message=message)
    assert profile_of(newcomer).review_message == message.strip()
    notice = Notification.objects.get(user=newcomer, kind=Notification.Kind.PROFILE_REVIEWED)
    assert len(notice.text) <= 300 and notice.text.endswith("reviewed again.")


@pytest.mark.parametrize(
    ("decision", "message", "code"),
    [
        ("delete", "", "decision"),
        ("", "", "decision"),
        ("changes", "Fix\x00this", "message_text"),
        ("changes", "x" * 2001, "message_length"),
    ],
)
def test_bad_review_input_is_refused_and_changes_nothing(newcomer, admin_user, decision, message, code):
    profile = profile_of(newcomer)
    with pytest.raises(MentoringError) as refused:
        mentor_profile_review(profile_id=profile.pk, reviewer=admin_user, decision=decision, message=message)
    assert refused.value.code == code
    profile.refresh_from_db()
    assert profile.review_status == MentorProfile.Review.PENDING and profile.reviewed_by is None
    assert not Notification.objects.filter(kind=Notification.Kind.PROFILE_REVIEWED).exists()


def test_only_active_staff_review_and_an_unknown_profile_is_not_found(newcomer, mentor, outsider, admin_user):
    for reviewer in (outsider, mentor, newcomer):
        with pytest.raises(MentoringError) as refused:
            mentor_profile_review(profile_id=profile_of(newcomer).pk, reviewer=reviewer, decision="approve")
        assert refused.value.code == "not_staff"
    assert profile_of(newcomer).review_status == MentorProfile.Review.PENDING
    with pytest.raises(NotFound):
        mentor_profile_review(profile_id=10**9, reviewer=admin_user, decision="approve")


def test_staff_can_ask_an_approved_mentor_for_changes_which_unlists_them(mentor, admin_user, learner):
    session = make_session(mentor)
    mentor_profile_review(profile_id=profile_of(mentor).pk, reviewer=admin_user, decision="changes", message="Photo?")
    assert mentor.pk not in mentors_directory().values_list("user_id", flat=True)
    assert session not in sessions_upcoming()
    with pytest.raises(MentoringError) as refused:
        booking_create(session_id=session.pk, learner=learner)
    assert refused.value.code == "not_reviewed"


def test_sign_up_submission_tells_every_active_staff_member_once(newcomer, admin_user):
    other_staff = make_user("sam@example.com", "Sam Staff", "learner", is_staff=True)
    make_user("old@example.com", "Former Staff", "learner", is_staff=True, is_active=False)

    mentor_signup_submit(user=newcomer)

    notices = Notification.objects.filter(kind=Notification.Kind.PROFILE_SUBMITTED)
    assert sorted(n.user_id for n in notices) == sorted([admin_user.pk, other_staff.pk])
    profile = profile_of(newcomer)
    assert all(n.link == f"/admin/mentoring/mentorprofile/{profile.pk}/change/" for n in notices)
    assert all("Nina Newcomer" in n.text for n in notices)
    assert mentor_signup_submit(user=make_user("l2@example.com", "A Learner")) is None


def test_editing_after_changes_were_asked_sends_the_profile_back_to_review(newcomer, admin_user):
    profile = profile_of(newcomer)
    edit_profile(newcomer)  # pending: stays pending, nobody is told again
    assert profile_of(newcomer).review_status == MentorProfile.Review.PENDING
    assert not Notification.objects.filter(kind=Notification.Kind.PROFILE_SUBMITTED).exists()

    mentor_profile_review(profile_id=profile.pk, reviewer=admin_user, decision="changes", message="Add skills.")
    edit_profile(newcomer, headline="Data engineer with skills")

    assert profile_of(newcomer).review_status == MentorProfile.Review.PENDING
    [notice] = Notification.objects.filter(kind=Notification.Kind.PROFILE_SUBMITTED)
    assert notice.user == admin_user and "review it again" in notice.text

    edit_profile(newcomer, headline="Once more")  # pending again: no second notification
    assert Notification.objects.filter(kind=Notification.Kind.PROFILE_SUBMITTED).count() == 1


def test_an_approved_mentor_editing_stays_approved(mentor, admin_user):
    edit_profile(mentor)
    assert profile_of(mentor).review_status == MentorProfile.Review.APPROVED
    assert not Notification.objects.filter(kind=Notification.Kind.PROFILE_SUBMITTED).exists()


def test_demo_mentors_are_approved_and_a_later_review_by_staff_stands():
    call_command("seed_demo", verbosity=0)
    demo = MentorProfile.objects.filter(user__email__endswith="@peerlearn.local")
    assert demo.count() == 3 and all(p.review_status == MentorProfile.Review.APPROVED for p in demo)
    assert not Notification.objects.filter(kind=Notification.Kind.PROFILE_SUBMITTED).exists()

    admin = User.objects.get(email="admin@peerlearn.local")
    first = demo.order_by("pk").first()
    mentor_profile_review(profile_id=first.pk, reviewer=admin, decision="changes", message="Demo: add a photo.")
    call_command("seed_demo", verbosity=0)
    assert MentorProfile.objects.get(pk=first.pk).review_status == MentorProfile.Review.CHANGES

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from portal.accounts.models import User

from ..models import CalendarFeed, Language, LearnerProfile, MentorProfile, Notification, Skill, new_calendar_token
from . import MentoringError, NotFound
from .notifications import notify
from .recommendations import recommendations_forget
from .text import text_multi_line, text_one_line

REVIEW_MESSAGE_MAX = 2000
# A notification's text holds 300 characters; the whole message is on the mentor's dashboard.
REVIEW_MESSAGE_IN_NOTIFICATION = 180


def profile_ensure(*, user: User) -> MentorProfile | LearnerProfile:
    """The role's profile for a user, created if missing (sign-up, seed_demo, role changes)."""
    if user.role == User.Role.MENTOR:
        return MentorProfile.objects.get_or_create(user=user)[0]
    return LearnerProfile.objects.get_or_create(user=user)[0]


@transaction.atomic
def mentor_profile_update(
    *,
    user: User,
    headline: str,
    bio: str,
    skills: Iterable[Skill],
    languages: Iterable[Language],
    years_experience: int,
    accepting_bookings: bool,
) -> MentorProfile:
    headline, bio = text_one_line(headline, label="Headline"), text_multi_line(bio, label="Bio")
    profile = MentorProfile.objects.select_for_update().get_or_create(user=user)[0]
    profile.headline = headline
    profile.bio = bio
    profile.years_experience = years_experience
    profile.accepting_bookings = accepting_bookings
    fields = ["headline", "bio", "years_experience", "accepting_bookings"]
    resubmitted = profile.review_status == MentorProfile.Review.CHANGES
    if resubmitted:
        # Staff asked for changes and the mentor made them: the profile waits for review again.
        profile.review_status = MentorProfile.Review.PENDING
        fields.append("review_status")
    profile.save(update_fields=fields)
    profile.skills.set(skills)
    profile.languages.set(languages)
    if resubmitted:
        _staff_notify_submitted(profile=profile, again=True)
    return profile


@transaction.atomic
def learner_profile_update(*, user: User, interests: Iterable[Skill], goals: str) -> LearnerProfile:
    goals = text_multi_line(goals, label="Goals")
    profile = LearnerProfile.objects.select_for_update().get_or_create(user=user)[0]
    profile.goals = goals
    profile.save(update_fields=["goals"])
    profile.interests.set(interests)
    recommendations_forget(user_id=user.pk)
    return profile


# --------------------------------------------------------------------------- mentor review
def mentor_signup_submit(*, user: User) -> MentorProfile | None:
    """A mentor who just signed up: their profile waits for staff review, and every active staff
    member is told once. Anyone else (a learner): nothing to review, ``None``."""
    if user.role != User.Role.MENTOR:
        return None
    profile = MentorProfile.objects.get_or_create(user=user)[0]
    if profile.review_status != MentorProfile.Review.PENDING:
        return profile
    _staff_notify_submitted(profile=profile, again=False)
    return profile


def _staff_notify_submitted(*, profile: MentorProfile, again: bool) -> None:
    mentor = profile.user
    text = (
        f"{mentor.display_name} ({mentor.email}) changed their mentor profile as asked: review it again."
        if again
        else f"New mentor {mentor.display_name} ({mentor.email}) signed up: review their profile."
    )
    link = reverse("admin:mentoring_mentorprofile_change", args=[profile.pk])
    for staff in User.objects.filter(is_staff=True, is_active=True).exclude(pk=mentor.pk).order_by("pk"):
        notify(user=staff, kind=Notification.Kind.PROFILE_SUBMITTED, text=text, link=link)


REVIEW_DECISIONS = {"approve": MentorProfile.Review.APPROVED, "changes": MentorProfile.Review.CHANGES}


@transaction.atomic
def mentor_profile_review(*, profile_id: int, reviewer: User, decision: str, message: str = "") -> MentorProfile:
    """Staff's answer to a mentor's profile: ``"approve"`` lists it (and makes its sessions bookable),
    ``"changes"`` keeps it unlisted and asks the mentor, with ``message`` (required), what to change.
    The mentor is notified with the message. Approving an approved profile, or asking again for the
    same changes, changes nothing and notifies nobody."""
    if not (reviewer.is_active and reviewer.is_staff):
        raise MentoringError("Only staff review mentor profiles.", code="not_staff")
    status = REVIEW_DECISIONS.get(decision)
    if status is None:
        raise MentoringError("Choose to approve the profile or to request changes.", code="decision")
    message = text_multi_line(message or "", label="Message", code="message_text")
    if len(message) > REVIEW_MESSAGE_MAX:
        raise MentoringError(f"Keep the message under {REVIEW_MESSAGE_MAX} characters.", code="message_length")
    if status == MentorProfile.Review.CHANGES and not message:
        raise MentoringError("Tell the mentor what to change: the message is required.", code="message_required")
    profile = MentorProfile.objects.select_for_update().select_related("user").filter(pk=profile_id).first()
    if profile is None:
        raise NotFound("No such mentor profile.")
    if profile.review_status == status and (
        status == MentorProfile.Review.APPROVED or profile.review_message == message
    ):
        return profile
    profile.review_status = status
    profile.review_message = message
    profile.reviewed_at = timezone.now()
    profile.reviewed_by = reviewer
    profile.save(update_fields=["review_status", "review_message", "reviewed_at", "reviewed_by"])
    quoted = Truncator(message).chars(REVIEW_MESSAGE_IN_NOTIFICATION)
    if status == MentorProfile.Review.APPROVED:
        text = "Your mentor profile is approved: learners can now find you and book your sessions."
        text += f" Staff wrote: “{quoted}”" if quoted else ""
        link = reverse("mentor_detail", args=[profile.user_id])
    else:
        text = f"Before your mentor profile is listed, staff ask you to change this: “{quoted}” Edit your profile, then it is reviewed again."
        link = reverse("dashboard")
    notify(user=profile.user, kind=Notification.Kind.PROFILE_REVIEWED, text=text, link=link)
    return profile


def calendar_feed_get(*, user: User) -> CalendarFeed:
    return CalendarFeed.objects.get_or_create(user=user)[0]


def calendar_feed_regenerate(*, user: User) -> CalendarFeed:
    feed = calendar_feed_get(user=user)
    feed.token = new_calendar_token()
    feed.save(update_fields=["token"])
    return feed

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from portal.accounts.models import User

from ..models import CalendarFeed, Language, LearnerProfile, MentorProfile, Skill, new_calendar_token
from .recommendations import recommendations_forget
from .text import text_multi_line, text_one_line


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
    profile.save(update_fields=["headline", "bio", "years_experience", "accepting_bookings"])
    profile.skills.set(skills)
    profile.languages.set(languages)
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


def calendar_feed_get(*, user: User) -> CalendarFeed:
    return CalendarFeed.objects.get_or_create(user=user)[0]


def calendar_feed_regenerate(*, user: User) -> CalendarFeed:
    feed = calendar_feed_get(user=user)
    feed.token = new_calendar_token()
    feed.save(update_fields=["token"])
    return feed

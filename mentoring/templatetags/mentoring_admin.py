"""``{% load mentoring_admin %}`` in the Django admin's templates: ``{% mentor_reviews_pending as count %}``."""

from __future__ import annotations

from django import template

from ..selectors import mentor_profiles_pending_count

register = template.Library()


@register.simple_tag
def mentor_reviews_pending() -> int:
    """How many mentor profiles wait for staff review."""
    return mentor_profiles_pending_count()

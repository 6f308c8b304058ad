"""The open demo call reads as a real session (issue 14): no developer instructions in its description,
and a re-seed replaces the old instructions only where nobody changed them."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from mentoring.demo import DEMO_CALL_DESCRIPTION, OLD_DEMO_CALL_DESCRIPTIONS, demo_mentoring_seed
from mentoring.models import Session

pytestmark = pytest.mark.django_db


def _demo_calls():
    return Session.objects.filter(mentor__email="mentor1@peerlearn.local", title__startswith="Live now")


def test_the_demo_call_describes_the_session_not_the_demo():
    call_command("seed_demo", verbosity=0)
    descriptions = set(Session.objects.values_list("description", flat=True))
    for old in OLD_DEMO_CALL_DESCRIPTIONS:
        assert old not in descriptions
    assert not any("log in as" in d.lower() or "learner1" in d or "mentor1" in d for d in descriptions)
    if _demo_calls().exists():  # created, not borrowed from an existing clash
        assert set(_demo_calls().values_list("description", flat=True)) == {DEMO_CALL_DESCRIPTION}


def test_a_reseed_updates_the_old_text_and_keeps_an_edited_one():
    call_command("seed_demo", verbosity=0)
    session = Session.objects.filter(mentor__email="mentor1@peerlearn.local").order_by("pk").first()
    other = Session.objects.filter(mentor__email="mentor1@peerlearn.local").exclude(pk=session.pk).first()
    Session.objects.filter(pk=session.pk).update(description=OLD_DEMO_CALL_DESCRIPTIONS[0])
    edited = OLD_DEMO_CALL_DESCRIPTIONS[0] + " Also: bring coffee."
    Session.objects.filter(pk=other.pk).update(description=edited)

    demo_mentoring_seed()
    demo_mentoring_seed()  # idempotent

    session.refresh_from_db()
    other.refresh_from_db()
    assert session.description == DEMO_CALL_DESCRIPTION
    assert other.description == edited

"""The mentor directory's language filter offers the languages listed mentors speak, with counts."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import make_user
from mentoring.forms import DirectoryFilterForm
from mentoring.models import Language, MentorProfile

pytestmark = pytest.mark.django_db


def _mentor(email: str, codes: list[str], *, active: bool = True):
    user = make_user(email, email.split("@")[0].title(), "mentor", is_active=active)
    profile, _ = MentorProfile.objects.get_or_create(user=user)
    profile.languages.set(Language.objects.filter(code__in=codes))
    return user


@pytest.fixture
def languages():
    for code, name in [("en", "English"), ("de", "German"), ("ko", "Korean"), ("yo", "Yoruba"), ("fr", "French")]:
        Language.objects.get_or_create(code=code, defaults={"name": name})


def test_only_languages_in_use_are_offered_with_counts(languages, learner):
    _mentor("ana@example.com", ["en", "de"])
    _mentor("ben@example.com", ["en"])
    _mentor("gone@example.com", ["fr"], active=False)  # not listed: French is spoken by nobody listed
    # Korean and Yoruba are in the table (a demo list, an admin) but no listed mentor speaks them.
    choices = [label for value, label in DirectoryFilterForm().fields["language"].choices]
    print(f"languages offered {len(choices) - 1} of {Language.objects.count()}")
    assert choices == ["Any language", "English (2)", "German (1)"]

    page = Client().get("/mentors/").content.decode()
    assert "English (2)" in page and "German (1)" in page
    assert "Korean" not in page and "Yoruba" not in page and "French" not in page


def test_filtering_by_a_language_in_use_lists_its_speakers(languages):
    _mentor("ana@example.com", ["en", "de"])
    _mentor("ben@example.com", ["en"])
    page = Client().get("/mentors/", {"language": "de"}).content.decode()
    assert "Ana" in page and "Ben" not in page
    assert '<option value="de" selected>German (1)</option>' in page


def test_the_language_list_costs_a_fixed_number_of_queries(languages, django_assert_max_num_queries):
    for n in range(6):
        _mentor(f"m{n}@example.com", ["en", "de", "yo"][: n % 3 + 1])
    with django_assert_max_num_queries(2):  # the count list() asks for, and the rows
        choices = list(DirectoryFilterForm().fields["language"].choices)
    assert [(str(value), label) for value, label in choices[1:]] == [
        ("en", "English (6)"),
        ("de", "German (4)"),
        ("yo", "Yoruba (2)"),
    ]

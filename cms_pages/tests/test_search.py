"""Site search finds upcoming public sessions too, marks whole words only, and no query breaks it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cms_pages.models import StandardPage
from cms_pages.search import highlight
from cms_pages.selectors import home_page_get
from conftest import make_user
from mentoring.models import Session
from mentoring.tests.factories import make_session, past_session


@pytest.mark.django_db
def test_search_finds_upcoming_public_sessions_only(client, mentor):
    found = make_session(mentor, title="Python testing with pytest")
    hidden = {
        "cancelled": make_session(mentor, title="Cancelled pytest clinic", starts_in=timedelta(days=2)),
        "private": make_session(mentor, title="Private pytest 1:1", starts_in=timedelta(days=3)),
        "past": past_session(mentor, title="Past pytest session"),
        "unlisted mentor": make_session(
            make_user("new@example.com", "Nina New", "mentor", approved=False), title="Unreviewed pytest talk"
        ),
    }
    Session.objects.filter(pk=hidden["cancelled"].pk).update(status=Session.Status.CANCELLED)
    Session.objects.filter(pk=hidden["private"].pk).update(private=True)

    response = client.get("/search/?q=pytest")
    assert response.status_code == 200
    assert [s.pk for s in response.context["sessions"]] == [found.pk]
    assert "Python testing with pytest" in response.text
    for why, session in hidden.items():
        assert session.title not in response.text, why
    # Every word must match somewhere (title, description, mentor, skills), in any order.
    assert [s.pk for s in client.get("/search/?q=pytest+maya").context["sessions"]] == [found.pk]
    assert client.get("/search/?q=pytest+cobol").context["sessions"] == []


def test_highlight_marks_whole_words_only():
    assert str(highlight("Observability: what it means", "it")) == "Observability: what <mark>it</mark> means"
    assert "<mark>" not in highlight("observability", "it")
    assert str(highlight("It is IT", "it")) == "<mark>It</mark> is <mark>IT</mark>"
    assert str(highlight("C++ & c", "c++")) == "<mark>C++</mark> &amp; c"
    assert str(highlight("a <b> < lt", "lt")) == "a &lt;b&gt; &lt; <mark>lt</mark>"  # entities never split


@pytest.mark.django_db
def test_search_page_marks_whole_words(client):
    page = StandardPage(title="Observability basics", slug="observability", intro="What it means to observe")
    home_page_get().add_child(instance=page)
    page.save_revision().publish()
    text = client.get("/search/?q=observability+it").text
    assert "<mark>Observability</mark> basics" in text and "What <mark>it</mark> means" in text
    assert "Observabil<mark>" not in text and "<mark>it</mark>y" not in text


HOSTILE = [
    "x" * 10_000,
    ".*[(\\",
    "(?P<x>",
    "a & b | !c :* ( ) ' \"",
    "<script>alert(1)</script>",
    "%ED%A0%80",  # a lone surrogate, URL-encoded as UTF-8 would
    "\ud800pytest",  # and as a Python string
    "\U0001f600 emoji",
]


@pytest.mark.django_db
def test_hostile_queries_get_a_page_not_an_error(client, mentor):
    make_session(mentor, title="Python testing with pytest")
    statuses = {}
    for query in HOSTILE:
        from urllib.parse import quote

        raw = query if query.startswith("%") else quote(query, safe="", errors="surrogatepass")
        response = client.get("/search/", QUERY_STRING=f"q={raw}")
        statuses[query[:20]] = response.status_code
        assert response.status_code == 200, query[:40]
        assert "<script>alert(1)</script>" not in response.text
    # NUL cannot be stored or searched: a clear 400, as everywhere on the site.
    assert client.get("/search/", QUERY_STRING="q=a%00b").status_code == 400
    assert str(highlight("\ud800 x", "\ud800")) == "\ud800 x"  # single characters are not marked
    print(f"[search] hostile queries: {len(statuses) + 1}, 5xx 0")

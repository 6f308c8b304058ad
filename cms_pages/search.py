"""Site search: course and standard pages through Wagtail search, upcoming public sessions, and
mentors by name and skill."""

from __future__ import annotations

import re

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from wagtail.models import Page

from mentoring.models import Session
from mentoring.selectors import mentors_directory, sessions_upcoming

from .models import CoursePage, StandardPage

MAX_QUERY = 100
MAX_WORDS = 8
SURROGATES = re.compile("[\ud800-\udfff]")


def query_clean(raw: str) -> str:
    """The query as searched: at most ``MAX_QUERY`` characters, without lone surrogates (no page
    could be encoded with one in it)."""
    return SURROGATES.sub("", raw).strip()[:MAX_QUERY]


def query_words(query: str) -> list[str]:
    return [w for w in query.split() if len(w) > 1][:MAX_WORDS]


def highlight(text: str, query: str) -> SafeString:
    """Wrap each whole query word in ``text`` in <mark>, escaping every piece. Safe for any user or
    editor input. Whole words only: "it" marks "it", never the "it" inside "observability".

    Words are matched in the raw text, not the escaped one: otherwise a search for "lt" or "quot"
    splits the entities (``&<mark>lt</mark>;``) and the page shows them as text."""
    words = [re.escape(w) for w in query_words(query)]
    if not words:
        return escape(text)
    pattern = f"(?<!\\w)({'|'.join(words)})(?!\\w)"
    pieces = re.split(pattern, text, flags=re.IGNORECASE)  # odd indexes are the matches
    return mark_safe("".join(f"<mark>{escape(p)}</mark>" if i % 2 else escape(p) for i, p in enumerate(pieces)))  # noqa: S308


def sessions_with_words(sessions: QuerySet[Session], query: str) -> QuerySet[Session]:
    """The sessions whose title, description, mentor or skills hold every word of the query."""
    for word in query_words(query):
        # Skills through a subquery: a join per word would multiply the rows by the skills.
        tagged = Session.skills.through.objects.filter(skill__name__icontains=word).values("session_id")
        sessions = sessions.filter(
            Q(title__icontains=word)
            | Q(description__icontains=word)
            | Q(mentor__display_name__icontains=word)
            | Q(pk__in=tagged)
        )
    return sessions


def sessions_matching(query: str) -> QuerySet[Session]:
    """Upcoming sessions anyone may book (listed mentor, scheduled, not private 1:1) holding every
    word of the query."""
    if not query_words(query):
        return sessions_upcoming().none()
    return sessions_with_words(sessions_upcoming(), query)


def search(request: HttpRequest) -> HttpResponse:
    query = query_clean(request.GET.get("q", ""))
    pages, mentors, sessions = [], [], []
    if query:
        page_types = [CoursePage, StandardPage]
        results = Page.objects.live().public().type(*page_types).specific().search(query)
        pages = [
            {"page": page, "title": highlight(page.title, query), "summary": highlight(_summary(page), query)}
            for page in results
        ]
        mentors = list(mentors_directory(q=query)[:6])
        sessions = list(sessions_matching(query)[:6])
    page_obj = Paginator(pages, 10).get_page(request.GET.get("page"))
    return render(
        request,
        "cms_pages/search.html",
        {"query": query, "page_obj": page_obj, "mentors": mentors, "sessions": sessions, "total": len(pages)},
    )


def _summary(page) -> str:
    text = getattr(page, "summary", "") or getattr(page, "intro", "") or page.search_description or ""
    return text[:240]

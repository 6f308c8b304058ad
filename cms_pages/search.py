"""Site search: course and standard pages through Wagtail search, plus mentors by name and skill."""

from __future__ import annotations

import re

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from wagtail.models import Page

from mentoring.selectors import mentors_directory

from .models import CoursePage, StandardPage

MAX_QUERY = 100


def highlight(text: str, query: str) -> SafeString:
    """Wrap each query word of ``text`` in <mark>, escaping every piece. Safe for any user or editor input.

    Words are matched in the raw text, not the escaped one: otherwise a search for "lt" or "quot"
    splits the entities (``&<mark>lt</mark>;``) and the page shows them as text."""
    words = [re.escape(w) for w in query.split() if len(w) > 1][:8]
    if not words:
        return escape(text)
    pieces = re.split(f"({'|'.join(words)})", text, flags=re.IGNORECASE)  # odd indexes are the matches
    return mark_safe("".join(f"<mark>{escape(p)}</mark>" if i % 2 else escape(p) for i, p in enumerate(pieces)))  # noqa: S308


def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    pages, mentors = [], []
    if query:
        page_types = [CoursePage, StandardPage]
        results = Page.objects.live().public().type(*page_types).specific().search(query)
        pages = [
            {"page": page, "title": highlight(page.title, query), "summary": highlight(_summary(page), query)}
            for page in results
        ]
        mentors = list(mentors_directory(q=query)[:6])
    page_obj = Paginator(pages, 10).get_page(request.GET.get("page"))
    return render(
        request,
        "cms_pages/search.html",
        {"query": query, "page_obj": page_obj, "mentors": mentors, "total": len(pages)},
    )


def _summary(page) -> str:
    text = getattr(page, "summary", "") or getattr(page, "intro", "") or page.search_description or ""
    return text[:240]

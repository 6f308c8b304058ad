"""A Wagtail chooser for mentoring sessions, so editors can pin sessions on pages: each row says when
(in the editor's time zone), with whom and how many seats are left, and the list is searchable by
title, description, mentor or skill."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.chooser import ChooseResultsView, ChooseView
from wagtail.admin.viewsets.chooser import ChooserViewSet


class SessionFilterForm(BaseFilterForm):
    q = forms.CharField(
        label="Search term",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Title, mentor or skill"}),
    )

    def filter(self, objects):
        from .search import query_clean, sessions_with_words

        objects = super().filter(objects)
        query = query_clean(self.cleaned_data.get("q") or "")
        if query:
            objects = sessions_with_words(objects, query)
            self.is_searching, self.search_query = True, query
        return objects


def _when(session) -> str:
    return date_format(timezone.localtime(session.starts_at), "D j M Y, H:i T")


def _seats(session) -> str:
    if session.is_full:
        return f"Full ({session.capacity})"
    return f"{session.seats_left} of {session.capacity} left"


class UpcomingSessionsMixin:
    filter_form_class = SessionFilterForm

    def get_object_list(self):
        # What a page may show: upcoming, public, of a listed mentor (never a private 1:1 or an
        # unapproved mentor's session, which the public page would leave out anyway).
        from mentoring.selectors import sessions_upcoming

        return sessions_upcoming()

    @property
    def columns(self):
        return [
            self.title_column,
            Column("starts_at", label="When", accessor=_when),
            Column("mentor", label="Mentor", accessor=lambda s: s.mentor.display_name),
            Column("seats", label="Seats", accessor=_seats),
        ]


class SessionChooseView(UpcomingSessionsMixin, ChooseView):
    pass


class SessionChooseResultsView(UpcomingSessionsMixin, ChooseResultsView):
    pass


class SessionChooserViewSet(ChooserViewSet):
    model = "mentoring.Session"
    icon = "date"
    choose_one_text = "Choose a session"
    choose_another_text = "Choose another session"
    edit_item_text = "View session"
    choose_view_class = SessionChooseView
    choose_results_view_class = SessionChooseResultsView


session_chooser_viewset = SessionChooserViewSet("session_chooser")
SessionChooserBlock = session_chooser_viewset.get_block_class(
    name="SessionChooserBlock", module_path="cms_pages.choosers"
)

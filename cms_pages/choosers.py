"""A Wagtail chooser for mentoring sessions, so editors can pin sessions on pages."""

from __future__ import annotations

from django.utils import timezone
from wagtail.admin.views.generic.chooser import ChooseResultsView, ChooseView
from wagtail.admin.viewsets.chooser import ChooserViewSet


class UpcomingSessionsMixin:
    def get_object_list(self):
        from mentoring.models import Session

        return (
            Session.objects.filter(status=Session.Status.SCHEDULED, starts_at__gt=timezone.now())
            .select_related("mentor")
            .order_by("starts_at")
        )


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

from wagtail import hooks
from wagtail.admin.ui.tables import LiveStatusTagColumn, UpdatedAtColumn
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from .choosers import session_chooser_viewset
from .models import FAQ, Person, SiteChrome, Testimonial


@hooks.register("register_admin_viewset")
def register_session_chooser():
    return session_chooser_viewset


class SiteChromeViewSet(SnippetViewSet):
    """Settings → Menus and footer: drafts, preview, moderators' approval (the "Moderators approval"
    workflow, assigned in migration 0007), history and locking, like pages."""

    model = SiteChrome
    icon = "list-ul"
    menu_label = "Menus and footer"
    add_to_settings_menu = True
    list_display = ["__str__", UpdatedAtColumn(), LiveStatusTagColumn()]  # "Live" or "Draft", as for pages


class TestimonialViewSet(SnippetViewSet):
    model = Testimonial
    icon = "openquote"
    list_display = ["name", "role"]
    search_fields = ["quote", "name"]


class FAQViewSet(SnippetViewSet):
    model = FAQ
    icon = "help"
    list_display = ["question"]
    search_fields = ["question"]


class PersonViewSet(SnippetViewSet):
    model = Person
    icon = "group"
    list_display = ["name", "role", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "role"]


class ReusableContentGroup(SnippetViewSetGroup):
    menu_label = "Reusable content"
    menu_icon = "snippet"
    items = (TestimonialViewSet, FAQViewSet, PersonViewSet)


register_snippet(SiteChromeViewSet)
register_snippet(ReusableContentGroup)


@hooks.register("register_admin_menu_item")
def register_analytics_menu_item():
    """Staff reach the mentoring analytics (/admin/analytics/) from Wagtail's menu too."""
    from django.urls import reverse
    from wagtail.admin.menu import MenuItem

    class StaffMenuItem(MenuItem):
        def is_shown(self, request):
            return request.user.is_staff

    return StaffMenuItem("Analytics", reverse("analytics"), icon_name="table", order=10000)

from wagtail import hooks

from .choosers import session_chooser_viewset


@hooks.register("register_admin_viewset")
def register_session_chooser():
    return session_chooser_viewset

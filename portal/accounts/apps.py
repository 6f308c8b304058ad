from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "People and roles"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from .services import login_begun, login_ended

        # Every login and logout path (the site's, Wagtail's, Django admin's, tests' force_login) goes
        # through django.contrib.auth's login and logout, and these signals are their common hooks.
        user_logged_in.connect(login_begun, dispatch_uid="peerlearn-login-id")
        user_logged_out.connect(login_ended, dispatch_uid="peerlearn-close-sockets-on-logout")

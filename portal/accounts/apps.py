from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from .services import login_ended

        # Every logout path (the site's, Wagtail's, Django admin's) goes through django.contrib.auth's
        # logout, and this signal is its only common hook.
        user_logged_out.connect(login_ended, dispatch_uid="peerlearn-close-sockets-on-logout")

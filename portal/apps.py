from django.apps import AppConfig, apps


class PortalConfig(AppConfig):
    """The project package as an app: site-wide hooks that belong to no feature app."""

    name = "portal"
    verbose_name = "PeerLearn site"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .sites import sites_follow_site_url

        # After every migrate (deploys, `make run`, a test database) the site records follow SITE_URL.
        # post_migrate is sent once per app that has models: hook on django.contrib.sites' turn.
        post_migrate.connect(
            sites_follow_site_url, sender=apps.get_app_config("sites"), dispatch_uid="peerlearn-sites-follow-site-url"
        )

from django.core.management.base import BaseCommand, CommandError

from cms_pages.sites import site_sync_from_settings


class Command(BaseCommand):
    help = "Set the default Wagtail site's host and port from SITE_URL (run after migrate on every deploy)."

    def handle(self, *args, **options):
        site = site_sync_from_settings()
        if site is None:
            raise CommandError("There is no default Wagtail site yet: run migrate first.")
        self.stdout.write(f"Default site: {site.hostname}:{site.port}")

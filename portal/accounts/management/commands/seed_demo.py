from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cms_pages.demo import demo_catalog_seed, demo_pages_seed
from cms_pages.sites import site_sync_from_settings
from mentoring.demo import demo_mentoring_seed
from portal.accounts.demo import DEMO_USERS, demo_users_seed
from portal.sites import sites_sync_from_settings


class Command(BaseCommand):
    help = "Create demo accounts and content for local use. Safe to run again: it only adds what is missing."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DJANGO_ENV=production.")

    def handle(self, *args, force: bool = False, **options):
        if os.environ.get("DJANGO_ENV") == "production" and not force:
            raise CommandError(
                "seed_demo refuses to run with DJANGO_ENV=production (demo passwords are public). Use --force if you mean it."
            )
        password = os.environ.get("DEMO_PASSWORD") or "peerlearn-demo"
        created_users = demo_users_seed(password=password)
        sites_sync_from_settings()
        site_sync_from_settings()
        pages = demo_pages_seed()
        mentoring = demo_mentoring_seed()
        catalog = demo_catalog_seed()
        self.stdout.write(
            f"Demo users: {len(created_users)} created, {len(DEMO_USERS) - len(created_users)} already there."
        )
        self.stdout.write(
            f"Pages: home {'filled' if pages['home'] else 'kept'}, about {'created' if pages['about'] else 'kept'}."
        )
        self.stdout.write(
            "Mentoring: {skills} skills, {sessions} sessions, {bookings} bookings, {feedback} feedback added.".format(
                **mentoring
            )
        )
        self.stdout.write(f"Course catalog: {catalog['courses']} courses added (at /courses/).")
        self.stdout.write(
            f"Log in at {settings.SITE_URL}/accounts/login/ as admin@peerlearn.local, editor@peerlearn.local, "
            f"mentor1..3@peerlearn.local or learner1..5@peerlearn.local with the password {password!r} "
            "(demo accounts: for local use only)."
        )

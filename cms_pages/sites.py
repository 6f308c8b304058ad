"""Wagtail's default Site follows ``SITE_URL`` (sitemaps, canonical and share links are built from it).

``portal/sites.py`` does the same for Django's Site record; this half lives here because the project
does not import the CMS app (the "cms-edge" import contract). Both run after every ``migrate`` and in
``seed_demo``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from wagtail.models import Site


def site_sync_from_settings(*, using: str = DEFAULT_DB_ALIAS) -> Site | None:
    """Point the default Wagtail site at ``SITE_URL``. Skipped (``None``) while Wagtail's table does not
    exist (a partial migrate) or there is no default site yet (a flushed database)."""
    if Site._meta.db_table not in connections[using].introspection.table_names():
        return None
    site = Site.objects.using(using).filter(is_default_site=True).first()
    if site is None:
        return None
    url = urlsplit(settings.SITE_URL)
    port = url.port or (443 if url.scheme == "https" else 80)
    if (site.hostname, site.port) != (url.hostname, port):
        site.hostname, site.port = url.hostname or "localhost", port
        site.save(using=using, update_fields=["hostname", "port"])
    return site


def site_follow_site_url(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """``post_migrate``: every ``migrate`` (each deploy, each ``make run``) leaves Wagtail's site on ``SITE_URL``."""
    site_sync_from_settings(using=using)

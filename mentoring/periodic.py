"""Background work that runs every minute: reminders, completing ended sessions, scheduled publishing,
no-shows, and retraining the recommendation model once it is a day old.

``manage.py run_periodic`` runs it in a loop (``make run`` starts one next to Daphne; production
runs one such process, or ``run_periodic --once`` from cron). Every job is safe to run from
several processes at once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from django.utils import timezone

from portal.once import form_submissions_forget

from .services.calls import sessions_mark_no_shows
from .services.reminders import reminders_send
from .services.sessions import sessions_complete_ended

logger = logging.getLogger(__name__)

def _publish_scheduled(now) -> int:
    """Wagtail's scheduled publishing (go-live and expiry dates set by editors). Returns how many were due."""
    from django.core.management import call_command
    from wagtail.models import Page, Revision

    due = Revision.objects.filter(approved_go_live_at__lt=now).count()
    due += Page.objects.filter(live=True, expire_at__lt=now).count()
    if due:
        call_command("publish_scheduled")
    return due


def _retrain_recommender(now) -> int:
    """Train a new recommendation model when the latest is older than RECOMMENDER_RETRAIN_HOURS (or
    there is none). Returns 1 when it wrote one."""
    from datetime import datetime, timedelta

    from django.conf import settings

    from .recommender import artifact
    from .recommender.db import from_database
    from .recommender.training import train_and_save

    directory = Path(settings.RECOMMENDER_DIR)
    try:
        metadata = artifact.read_metadata(directory, artifact.latest_version(directory))
        if now - datetime.fromisoformat(metadata["trained_at"]) < timedelta(hours=settings.RECOMMENDER_RETRAIN_HOURS):
            return 0
    except (artifact.ArtifactError, KeyError, ValueError):
        pass  # none yet, or unreadable: train a fresh one
    # After an attempt that wrote nothing (too little data, a failure), wait an hour before the next.
    marker = directory / "last-attempt"
    if marker.exists() and now.timestamp() - marker.stat().st_mtime < 3600:
        return 0
    directory.mkdir(parents=True, exist_ok=True)
    marker.touch()
    os.utime(marker, (now.timestamp(), now.timestamp()))
    result = train_and_save(from_database(now=now), directory)
    if result.skipped:
        return 0
    logger.info("trained recommendation model %s in %.1f s", result.version, result.seconds)
    return 1


JOBS: dict[str, Callable] = {
    "reminders": lambda now: reminders_send(now=now),
    "complete_sessions": lambda now: sessions_complete_ended(now=now),
    "publish_scheduled": _publish_scheduled,
    "no_shows": lambda now: sessions_mark_no_shows(now=now),
    "retrain_recommender": _retrain_recommender,
    "forget_form_submissions": lambda now: form_submissions_forget(now),
}


def periodic_run_once() -> dict[str, int]:
    now = timezone.now()
    results: dict[str, int] = {}
    for name, job in JOBS.items():
        try:
            results[name] = job(now)
        except Exception:  # one failing job must not stop the others or the loop
            logger.exception("periodic job %s failed", name)
            results[name] = -1
    return results

"""Quick work that runs every minute: reminders, completing ended sessions, scheduled publishing,
no-shows, forgetting old form outcomes, expiring unanswered 1:1 requests, and queueing a retraining of
the recommendation model once it is a day old (the training itself is a task, :mod:`mentoring.tasks`,
run by ``manage.py run_worker``).

``manage.py run_periodic`` runs it in a loop (``make run`` starts one next to Daphne and the worker;
production runs one such process, or ``run_periodic --once`` from cron). Every job is safe to run
from several processes at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.utils import timezone

from portal.once import form_submissions_forget

from .services.calls import sessions_mark_no_shows
from .services.recommendations import recommender_retrain_claim
from .services.reminders import reminders_send
from .services.requests import requests_expire
from .services.reschedule import reschedules_expire
from .services.sessions import sessions_complete_ended
from .tasks import retrain_recommender

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


def _queue_retraining(now) -> int:
    """Queue a retraining for the worker when the model is due one; 1 when queued. Training takes
    minutes: it never runs here, where reminders must go out on the minute."""
    if not recommender_retrain_claim(now=now):
        return 0
    retrain_recommender.enqueue(requested_at=now.isoformat())
    return 1


JOBS: dict[str, Callable] = {
    "reminders": lambda now: reminders_send(now=now),
    "complete_sessions": lambda now: sessions_complete_ended(now=now),
    "publish_scheduled": _publish_scheduled,
    "no_shows": lambda now: sessions_mark_no_shows(now=now),
    "queue_retraining": _queue_retraining,
    "forget_form_submissions": lambda now: form_submissions_forget(now),
    "expire_reschedules": lambda now: reschedules_expire(now=now),
    "expire_requests": lambda now: requests_expire(now=now),
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

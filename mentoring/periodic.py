"""Background work that runs every minute: reminders and completing ended sessions.

``manage.py run_periodic`` runs it in a loop (``make run`` starts one next to Daphne; production
runs one such process, or ``run_periodic --once`` from cron). Every job is safe to run from
several processes at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.utils import timezone

from .services.reminders import reminders_send
from .services.sessions import sessions_complete_ended

logger = logging.getLogger(__name__)

JOBS: dict[str, Callable] = {
    "reminders": lambda now: reminders_send(now=now),
    "complete_sessions": lambda now: sessions_complete_ended(now=now),
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

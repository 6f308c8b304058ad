"""Background tasks (django-tasks): work too slow for a request or for the minute-by-minute loop.

They run on the ``background`` backend (the database queue, ``TASKS`` in settings), executed by
``manage.py run_worker``; :mod:`mentoring.periodic` queues them when due.
"""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from .services.recommendations import recommender_retrain

BACKEND = "background"


@task(backend=BACKEND)
def retrain_recommender(*, requested_at: str) -> str | None:
    """Train a new recommendation model unless one was trained since ``requested_at`` (ISO 8601);
    the new version, if one was written."""
    result = recommender_retrain(requested_at=datetime.fromisoformat(requested_at))
    return result.version if result is not None else None

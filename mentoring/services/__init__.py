"""Writes on the mentoring domain. Each public function is keyword-only and named <thing>_<action>."""

from __future__ import annotations

from datetime import timedelta

from mentoring.errors import MentoringError, NotFound, SessionFull

__all__ = ["SAME_SUBMISSION_WINDOW", "MentoringError", "NotFound", "SessionFull"]

# How long an identical submission counts as the same one sent again (a double click, a retry on a slow
# link, a second tab): it gets the first one's result instead of a second effect or a refusal.
SAME_SUBMISSION_WINDOW = timedelta(minutes=10)

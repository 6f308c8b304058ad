"""Writes on the mentoring domain. Each public function is keyword-only and named <thing>_<action>."""

from __future__ import annotations

from datetime import timedelta

# How long an identical submission counts as the same one sent again (a double click, a retry on a slow
# link, a second tab): it gets the first one's result instead of a second effect or a refusal.
SAME_SUBMISSION_WINDOW = timedelta(minutes=10)


class MentoringError(Exception):
    """A refusal with a message meant for the person who asked (shown as-is in the page)."""

    def __init__(self, message: str, *, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.code = code


class SessionFull(MentoringError):
    def __init__(self):
        super().__init__("This session is full. You can join its waitlist and get the next free seat.", code="full")

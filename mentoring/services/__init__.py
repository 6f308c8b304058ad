"""Writes on the mentoring domain. Each public function is keyword-only and named <thing>_<action>."""

from __future__ import annotations


class MentoringError(Exception):
    """A refusal with a message meant for the person who asked (shown as-is in the page)."""

    def __init__(self, message: str, *, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.code = code


class SessionFull(MentoringError):
    def __init__(self):
        super().__init__("This session is full. You can join its waitlist and get the next free seat.", code="full")

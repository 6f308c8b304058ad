"""The domain's errors. Views never catch these by hand: ``mentoring.web.domain_errors`` turns them into
a 404 page or a message for the person who asked; the call consumer maps them to its own close codes."""

from __future__ import annotations


class NotFound(Exception):
    """The thing does not exist, or the person asking may not know that it does (the same answer for both)."""

    def __init__(self, message: str = "Not found."):
        super().__init__(message)
        self.message = message


class MentoringError(Exception):
    """A refusal with a message meant for the person who asked (shown as-is in the page)."""

    def __init__(self, message: str, *, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.code = code


class SessionFull(MentoringError):
    def __init__(self):
        super().__init__("This session is full. You can join its waitlist and get the next free seat.", code="full")

"""Free text on its way into the database: trimmed, and refused with a clear message when it holds
control characters (``portal.validators``). Forms check first; these keep other callers honest."""

from __future__ import annotations

from portal.validators import multi_line_problem, normalize_newlines, one_line_problem

from . import MentoringError


def text_one_line(value: str, *, label: str, code: str = "control_characters") -> str:
    """A title, a headline: trimmed; a line break or any other control character is refused."""
    value = value.strip()
    if problem := one_line_problem(value):
        raise MentoringError(f"{label}: {problem}", code=code)
    return value


def text_multi_line(value: str, *, label: str, code: str = "control_characters") -> str:
    """A description, a bio: trimmed, CRLF stored as LF; newlines and tabs kept, other controls refused."""
    value = normalize_newlines(value).strip()
    if problem := multi_line_problem(value):
        raise MentoringError(f"{label}: {problem}", code=code)
    return value

"""Text people type that other people see: no invisible control characters.

A one-line field (a title, a name, a headline) has no business holding a line break, a carriage
return, NUL, an escape sequence or DEL: they break calendar files and email headers, and fake lines
in emails and notifications. A multi-line field (a description, an agenda) keeps newlines and tabs
and refuses the rest. Lone surrogates (half of a UTF-16 pair) are not text at all: they cannot even
be encoded as UTF-8. The same check runs in the forms (a clear message at the field) and in the
services (so a direct POST or another caller cannot store it).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# C0 controls (U+0000-U+001F), DEL (U+007F), and lone surrogates (U+D800-U+DFFF).
_ONE_LINE_REFUSED = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_MULTI_LINE_REFUSED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")  # \t and \n stay

ONE_LINE_MESSAGE = "Use one line of plain text: no line breaks, tabs or invisible control characters."
MULTI_LINE_MESSAGE = "Use plain text: line breaks are fine, but not invisible control characters."


def one_line_problem(value: str) -> str | None:
    """The message for a one-line text with a control character, or ``None`` when it is fine."""
    return ONE_LINE_MESSAGE if _ONE_LINE_REFUSED.search(value) else None


def multi_line_problem(value: str) -> str | None:
    """The message for a multi-line text with a control character other than newline and tab.
    Windows line ends (CRLF) are fine: normalise them with ``normalize_newlines`` first."""
    return MULTI_LINE_MESSAGE if _MULTI_LINE_REFUSED.search(value) else None


def normalize_newlines(value: str) -> str:
    """Browsers submit textareas with CRLF line ends; we store LF."""
    return value.replace("\r\n", "\n")


def validate_one_line(value: str) -> None:
    """A Django validator for one-line fields (form fields and model fields)."""
    if one_line_problem(value):
        raise ValidationError(ONE_LINE_MESSAGE, code="control_characters")


def validate_multi_line(value: str) -> None:
    """A Django validator for multi-line fields: newlines and tabs allowed, other controls refused."""
    if multi_line_problem(normalize_newlines(value)):
        raise ValidationError(MULTI_LINE_MESSAGE, code="control_characters")


def squash_to_one_line(value: str) -> str:
    """Free text folded into one line of a message someone else reads (a cancellation reason in a
    notification): runs of whitespace become one space, other control characters go."""
    return _ONE_LINE_REFUSED.sub("", " ".join(value.split()))

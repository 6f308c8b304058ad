"""Waiting for a condition, never for a fixed time: the one polling loop of the test helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, timeout: float, interval: float = 0.05, what: str = "") -> T:
    """Call ``condition`` every ``interval`` seconds until it returns something truthy, and return that.

    After ``timeout`` seconds raise ``TimeoutError`` naming ``what`` and the last value seen. An
    exception ``condition`` raises goes straight through (e.g. "the server process exited")."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what or condition!r}: not within {timeout} s (last: {value!r})")
        time.sleep(interval)

"""What every benchmark reports with: progress lines on stderr and percentiles."""

from __future__ import annotations

import math
import sys
import time

_STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[bench {time.monotonic() - _STARTED:5.1f}s] {message}", file=sys.stderr, flush=True)


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]

"""Wall-clock helper shared by the bench scripts (`python bench/NAME.py` puts bench/ on the path)."""

from __future__ import annotations

import time


def best_time(fn, repeat: int = 3, budget: float = float("inf")):
    """Best wall time of up to ``repeat`` calls of ``fn`` (stopping early once a call takes
    more than ``budget`` seconds), and the last call's result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        if dt > budget:
            break
    return best, out

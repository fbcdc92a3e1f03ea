"""What the benchmarks share: best_of(n, fn), the best wall time of n runs of fn."""

import time


def best_of(n, fn):
    """(the shortest of n runs of fn() in seconds, what the last run returned)."""
    best = None
    result = None
    for _ in range(n):
        t0 = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return best, result

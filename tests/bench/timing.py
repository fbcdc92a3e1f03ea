"""What the benchmarks share: best_of(n, fn), the best wall time of n runs of fn, and line(),
the one format of a result line."""

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


def line(name, value, unit, goal=None, peer=None, note=None):
    """Print one result in the format of shared/DESIGN.md: `bench NAME: VALUE UNIT (goal G)
    peer PEER: VALUE UNIT; NOTE`."""
    text = "bench %s: %s %s" % (name, value, unit)
    if goal:
        text += " (goal %s)" % goal
    if peer:
        text += " peer %s: %s %s" % peer
    if note:
        text += "; " + note
    print(text, flush=True)

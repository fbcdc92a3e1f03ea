# Bytes a step allocates on the MicroPython heap, for the tests that a steady-state path
# allocates nothing. CPython has no counter: has_counter() is False there; allocated() runs the
# step and answers None. CPython and MicroPython.
#
# step is called with no arguments, the collector off. Make it a def (or a bound method), not a
# lambda over many names: MicroPython's call of a closure over more than 5 names (its free
# names plus arguments) puts their array on the heap, which counts as the step's allocation.
import gc


def has_counter():
    return hasattr(gc, "mem_alloc")


def allocated(step):
    """Bytes the heap handed out while step() ran; None where there is no counter."""
    if not has_counter():
        step()
        return None
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        step()
        return gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()

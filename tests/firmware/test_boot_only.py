# The modules only the boot needs (parsing the config, checking the profile, building the unit,
# safe mode) leave the heap once the unit runs: after main.main() on a board profile they are not
# in sys.modules nor attributes of their packages, nothing the running unit holds refers to them
# (a ballast planted in each during the boot is freed with it), and running the unit past its
# healthy mark (10 minutes) and through a fault noted in the boot record imports none again.
# CPython and MicroPython.
# micropython-heap: 700000 (the models and a whole unit from .mpy files, as test_unit_boot, and
# 4 x 64 KB of ballast: more than the boot-only modules weigh together, so a ballast kept alive
# cannot hide behind the modules that were freed)
import gc
import sys

import test_unit_board_max7219_s0 as max7219_s0
import test_unit_boot as epd29
import unit_boot

# What the unit needs only to boot (main.BOOT_ONLY says the same; written out here so that the
# test does not take the firmware's word for it).
BOOT_ONLY = (
    "sunprint.board",
    "sunprint.parts",
    "sunprint.safemode",
    "sunprint.core.config",
    "sunprint.core.strictjson",
    "sunprint.ui.panels",
)
MICROPYTHON = sys.implementation.name == "micropython"
BALLAST = 64 * 1024


class _Mark:
    pass  # CPython: a weak reference to it says whether its module's globals were freed


def _unloaded():
    """Take the boot-only modules out of sys.modules (the test process may have imported them:
    a unit has not), so this boot imports its own; returns what to put back."""
    saved = {}
    for name in BOOT_ONLY:
        mod = sys.modules.pop(name, None)
        if mod is not None:
            pkg, _, leaf = name.rpartition(".")
            saved[name] = (mod, sys.modules.get(pkg), leaf)
            try:
                delattr(sys.modules[pkg], leaf)
            except (AttributeError, KeyError):
                pass
    return saved


def _attribute_of_package(name):
    pkg, _, leaf = name.rpartition(".")
    parent = sys.modules.get(pkg)
    return parent is not None and leaf in dir(parent)


def _restore(saved):
    for name in BOOT_ONLY:
        sys.modules.pop(name, None)
        pkg, _, leaf = name.rpartition(".")
        try:
            delattr(sys.modules[pkg], leaf)  # `from pkg import leaf` must import it afresh
        except (AttributeError, KeyError):
            pass
    for name in saved:
        mod, parent, leaf = saved[name]
        sys.modules[name] = mod
        if parent is not None:
            setattr(parent, leaf, mod)


def _boot_planting(boot, start_s):
    """boot(start_s) with a ballast planted in every boot-only module that is loaded when main
    makes the Runner (the boot's last step). Returns (boot's result, what was planted, the heap
    just after the planting (MicroPython) or the ballasts' weak references (CPython))."""
    import sunprint.runner as runner_mod

    real = runner_mod.Runner
    planted = []
    marks = []

    def planting(*args, **kw):
        for name in BOOT_ONLY:
            mod = sys.modules.get(name)
            if mod is None:
                continue
            planted.append(name)
            if MICROPYTHON:
                mod._ballast = bytearray(BALLAST)
            else:
                import weakref

                mod._ballast = _Mark()
                marks.append(weakref.ref(mod._ballast))
        gc.collect()
        marks.append(gc.mem_alloc() if MICROPYTHON else None)
        return real(*args, **kw)

    saved = _unloaded()
    runner_mod.Runner = planting
    try:
        got = boot(start_s)
    finally:
        runner_mod.Runner = real
        left = [n for n in BOOT_ONLY if n in sys.modules or _attribute_of_package(n)]
        _restore(saved)
    return got, planted, marks, left


def _gone(planted, marks):
    """The planted modules whose ballast is still alive."""
    gc.collect()
    gc.collect()
    if MICROPYTHON:
        freed = marks[-1] - gc.mem_alloc()
        # Every ballast freed, or at least one kept: the modules' own code weighs less than one.
        return [] if freed >= len(planted) * BALLAST - 4096 else ["one of %r" % (planted,)]
    return [planted[i] for i in range(len(planted)) if marks[i]() is not None]


def _check(boot, start_s, step):
    (runner, clock, *_), planted, marks, left = _boot_planting(boot, start_s)
    assert left == [], left  # not in sys.modules nor attributes of their packages after the boot
    # board, safemode, config and strictjson are loaded when the Runner is made (parts left
    # during the build, as before)
    assert len(planted) >= 4, planted
    kept = _gone(planted, marks)
    assert kept == [], "still referenced after the boot: %s" % kept
    # The unit runs past its healthy mark (the boot record cleared) and through a fault it
    # notes in the boot record: neither brings a boot-only module back.
    saved = _unloaded()
    try:
        runner.app.fault("sensor", "test fault")
        step(runner, clock, start_s + 700)
        assert runner.healthy
        assert runner._notes >= 1 and runner._noted.startswith("sensor: ")  # in the record
        back = [n for n in BOOT_ONLY if n in sys.modules]
    finally:
        _restore(saved)
    assert back == [], back


def _step_epd29(runner, clock, until):
    while clock.now() < until:
        clock.advance_ms(runner.step())


def _step_max7219(runner, clock, until):
    while clock.now() < until:
        clock.advance_ms(min(runner.step(), 1000))


def test_boot_only_modules_leave_after_an_epaper_boot():
    _check(lambda s: epd29.boot(s), epd29.DAY_START + 10 * 3600, _step_epd29)


def test_boot_only_modules_leave_after_an_led_boot():
    _check(
        lambda s: unit_boot.boot(max7219_s0.BOARD, s),
        max7219_s0.DAY_START + 10 * 3600,
        _step_max7219,
    )

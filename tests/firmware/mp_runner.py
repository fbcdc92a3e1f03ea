# Runs inside MicroPython: imports one test module, calls each test_* function named on the
# command line (all of them when none is named), and reports each result between markers that
# tests/conftest.py parses. Kept tiny: it must fit in an ESP32-sized heap beside the tests.
import gc
import io
import sys


def run(module_name, names):
    mod = __import__(module_name)
    if not names:
        names = sorted(n for n in dir(mod) if n.startswith("test_"))
    for name in names:
        gc.collect()
        print("@@START " + name)
        try:
            getattr(mod, name)()
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            buf = io.StringIO()
            sys.print_exception(e, buf)  # type: ignore[attr-defined]
            print("@@FAIL " + name)
            print(buf.getvalue())
            print("@@END " + name)
        else:
            print("@@PASS " + name)


run(sys.argv[1], sys.argv[2:])

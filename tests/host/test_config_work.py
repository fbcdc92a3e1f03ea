# config.parse's work grows linearly with the file: counted as the lines of Python it runs
# (sys.settrace, deterministic), not timed. CPython only: MicroPython has no settrace, and a
# file with thousands of keys does not fit beside the parser in an ESP32-sized heap.
# The time itself is a benchmark: tests/bench/bench_config.py.
import json
import sys

from host_tools.paths import use_firmware

use_firmware()

from sunprint.core import config  # noqa: E402


def _lines_run(text):
    """Lines of Python executed inside sunprint.core while config.parse(text) runs."""
    count = [0]

    def tracer(frame, event, arg):
        if "sunprint/core/" not in frame.f_code.co_filename.replace("\\", "/"):
            return None
        if event == "line":
            count[0] += 1
        return tracer

    sys.settrace(tracer)
    try:
        config.parse(text)
    except config.ConfigError:
        pass
    finally:
        sys.settrace(None)
    return count[0]


def _many_keys(n):
    d = {"version": 2}
    for i in range(n):
        d["key_%05d" % i] = i
    return json.dumps(d, indent=1)


def test_parse_work_is_linear_in_the_number_of_keys():
    small = _lines_run(_many_keys(400))
    large = _lines_run(_many_keys(1600))
    # linear: 4x the keys, about 4x the lines; quadratic would be about 16x
    assert large < 5 * small, (small, large)

"""Firmware checks that only a 32-bit VM can make: small ints are 31-bit there, as on the
ESP32, so an int beyond 2**30 is a heap object and arithmetic on it allocates. The 64-bit
unix port that runs tests/firmware hides that. Until tests/conftest.py runs tests/firmware
under .venv/bin/micropython32 (built by `make setup`, tools/micropython.py), the allocation
checks it would catch run here, on the firmware tests' own bodies."""

import subprocess
import sys
from pathlib import Path

import conftest
import pytest

VM32 = Path(sys.executable).parent / "micropython32"
RUNNER = conftest.FIRMWARE_TESTS / "mp_runner.py"

# (test module, test function, heap): tests whose result depends on the small-int width
CHECKS = [
    ("test_samplelog_ring", "test_append_allocates_nothing_between_flushes", 160000),
]


@pytest.mark.skipif(not VM32.exists(), reason="no .venv/bin/micropython32: `make setup` builds it")
@pytest.mark.parametrize(("module", "name", "heap"), CHECKS)
def test_on_the_32bit_vm(module, name, heap, tmp_path):
    proc = subprocess.run(
        [str(VM32), "-X", "heapsize=%d" % heap, str(RUNNER), module, name],
        cwd=str(tmp_path),
        env=conftest.micropython_env(),
        capture_output=True,
        text=True,
        timeout=conftest.RUN_TIMEOUT_S,
    )
    results = conftest.parse_runner_output(proc.stdout, [name])
    assert name in results, proc.stdout[-2000:] + proc.stderr[-2000:]
    passed, text = results[name]
    assert passed, "micropython32: %s::%s\n%s\n%s" % (module, name, text, proc.stderr)

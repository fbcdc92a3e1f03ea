"""Virtual board benchmarks: the real mpremote 1.29 against host_tools/sim/board/vboard.py.

- vboard_cp_up_50kb / vboard_cp_down_50kb: `mpremote resume fs cp` of 50 KB of random bytes
  to and from the board on its pty (best of 3, byte-exact checked). A download costs more:
  mpremote reads the repr() of each 256-byte chunk one byte per read() call. (Over socket://
  both take ~10 s: pyserial and mpremote poll a socket every 10 ms; not measured here.)
- vboard_command_latency: `mpremote resume exec pass` (best of 5); peer: `mpremote version`,
  mpremote's own start-up without a board, measured in the same run;
- vboard_soft_reset: `mpremote soft-reset` (a fresh interpreter, boot.py).

    .venv/bin/python tests/bench/bench_vboard.py
"""

import hashlib
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from host_tools.sim.board.vboard import VirtualBoard  # noqa: E402

MPREMOTE = Path(sys.executable).parent / "mpremote"


from timing import line as _line  # noqa: E402 - tests/bench/timing.py


def _timed(*args, port=None):
    cmd = [str(MPREMOTE)] + (["connect", port] if port else []) + list(args)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()))
    return dt


def _best(n, fn):
    return min(fn() for _ in range(n))


def _copy_times(port, src, back, flash, data):
    def upload():
        (flash / "bench.bin").unlink(missing_ok=True)  # mpremote skips a file already there
        return _timed("resume", "fs", "cp", str(src), ":bench.bin", port=port)

    def download():
        back.unlink(missing_ok=True)
        return _timed("resume", "fs", "cp", ":bench.bin", str(back), port=port)

    up = _best(3, upload)
    if (flash / "bench.bin").read_bytes() != data:
        raise RuntimeError("upload over %s is not byte-exact" % port)
    down = _best(3, download)
    if hashlib.sha256(back.read_bytes()).digest() != hashlib.sha256(data).digest():
        raise RuntimeError("download over %s is not byte-exact" % port)
    return up, down


def bench_vboard():
    data = random.Random(50).randbytes(50 * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        flash = tmp / "flash"
        src, back = tmp / "src.bin", tmp / "back.bin"
        src.write_bytes(data)
        with VirtualBoard(flash) as vb:
            pty = vb.serve_pty()
            _timed("exec", "pass", port=pty)  # the first soft reset, the .mpy cache
            up, down = _copy_times(pty, src, back, flash, data)
            latency = _best(5, lambda: _timed("resume", "exec", "pass", port=pty))
            startup = _best(5, lambda: _timed("version"))
            reset = _best(3, lambda: _timed("soft-reset", port=pty))
    _line("vboard_cp_up_50kb", "%.2f" % up, "s", "<= 0.5")
    _line("vboard_cp_down_50kb", "%.2f" % down, "s", "<= 2.0")
    _line(
        "vboard_command_latency",
        "%.3f" % latency,
        "s",
        "<= 0.2",
        ("mpremote_startup", "%.3f" % startup, "s"),
    )
    _line("vboard_soft_reset", "%.3f" % reset, "s", "<= 0.3")


if __name__ == "__main__":
    bench_vboard()

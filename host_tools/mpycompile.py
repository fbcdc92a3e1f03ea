"""Compiling Python source to .mpy files: the one helper that tests/conftest.py, tests/mp32.py
(the benchmarks, bench_unit.py), `sunprint replay --micropython` and the virtual board use.

MicroPython then imports bytecode, as a deployed unit does: compiling source on the VM costs far
more heap than the code itself. Files are compiled a few at a time, in parallel.
"""

import os
import subprocess

from host_tools.paths import MPY_CROSS32


def compile_mpy(jobs, *, mpy_cross=MPY_CROSS32, keep_going=False, cwd=None):
    """Compile jobs, (source, out, name) triples: source to the .mpy file out (its folder made),
    with name as the source name in tracebacks (None: the source path as given).

    A file mpy-cross rejects raises RuntimeError "mpy-cross SOURCE: its message"; with
    keep_going it is left out instead (its import then fails loudly in the VM) and returned in
    the list of (source, message) this returns.
    """
    rejected = []
    window = max(2, os.cpu_count() or 2)
    running = []
    jobs = list(jobs)
    try:
        for i, (src, out, name) in enumerate(jobs):
            out.parent.mkdir(parents=True, exist_ok=True)
            cmd = [str(mpy_cross), "-o", str(out), str(src)]
            if name is not None:
                cmd[1:1] = ["-s", str(name)]
            running.append((src, subprocess.Popen(cmd, cwd=cwd, stderr=subprocess.PIPE)))
            if len(running) >= window or i == len(jobs) - 1:
                for done_src, proc in running:
                    _, err = proc.communicate()
                    if proc.returncode:
                        msg = err.decode(errors="replace").strip()
                        if not keep_going:
                            raise RuntimeError("mpy-cross %s: %s" % (done_src, msg))
                        rejected.append((done_src, msg))
                running = []
    finally:
        for _, proc in running:
            proc.kill()
            proc.wait()
    return rejected


def tree_jobs(sources, dest, strip_paths=True):
    """(base, path) pairs as jobs for dest/<path relative to base>.mpy; with strip_paths the
    source name in tracebacks is the path inside the tree, else the path as given."""
    jobs = []
    for base, path in sources:
        rel = path.relative_to(base)
        jobs.append((path, dest / rel.with_suffix(".mpy"), rel.as_posix() if strip_paths else None))
    return jobs

"""Test set-up shared by every folder, and the second interpreter for tests/firmware.

Each tests/firmware/test_*.py file is collected twice: by pytest as usual (CPython, the
firmware on sys.path and the framebuf stand-in registered), and by MicroPythonFile below,
which runs the same file inside MicroPython's unix port built as a 32-bit binary like the
ESP32's (tests/mp32.py: 31-bit small ints, so a hot integer at or above 2**30 allocates as on
the unit), with an ESP32-sized heap, and reports every test_* function as its own item,
`test_name[micropython]`.
"""

import ast
import gc
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import mp32  # noqa: E402

from host_tools.mpycompile import compile_mpy  # noqa: E402
from host_tools.paths import use_firmware  # noqa: E402
from host_tools.sim.board import modellink  # noqa: E402
from host_tools.sim.board.modelhost import ModelHost  # noqa: E402

use_firmware()

FIRMWARE_TESTS = ROOT / "tests" / "firmware"
MICROPYTHON = mp32.MICROPYTHON32
MICROPYTHON_APP = mp32.MICROPYTHON32_APP
HEAPSIZE = mp32.HEAPSIZE
RUN_TIMEOUT_S = 600


_MPY_TREE = None


def mpy_tree():
    """Compile the firmware, the firmware tests and the portable sim models to .mpy, once.

    MicroPython then imports bytecode, as a deployed unit does: compiling source on the VM
    would cost far more heap than the code itself (a config module needed ~60 KB to compile).
    A file mpy-cross rejects is left out, so its import fails loudly in the VM. The mpy-cross
    is the one built with the VM (the same MicroPython version). The firmware goes under
    fw/, the tests and host_tools under lib/: a file run on the binary with the app frozen
    (the deployed form) leaves fw/ off its path and imports the app from the image.
    """
    global _MPY_TREE
    if _MPY_TREE is not None:
        return _MPY_TREE
    mp32.check()
    tree = Path(tempfile.mkdtemp(prefix="sunprint-mpy-"))
    sources = [
        (ROOT / "firmware", ROOT / "firmware", "fw"),
        (FIRMWARE_TESTS, FIRMWARE_TESTS, "lib"),
    ]
    sources.append((ROOT, ROOT / "host_tools", "lib"))
    jobs = []
    for base, folder, sub in sources:
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(base)
            jobs.append((path, tree / sub / rel.with_suffix(".mpy"), path))
    compile_mpy(jobs, keep_going=True)
    (tree / "lib" / "_repo_root.py").write_text("ROOT = %r\n" % str(ROOT))
    _MPY_TREE = tree
    return tree


def micropython_env(app_frozen=False):
    env = dict(os.environ)
    tree = mpy_tree()
    path = [str(tree / "lib")] + ([] if app_frozen else [str(tree / "fw")])
    # .frozen keeps the port's frozen modules (asyncio, and the app in the app binary).
    env["MICROPYPATH"] = os.pathsep.join(path + [".frozen"])
    return env


def run_with_models(argv, cwd, env, timeout):
    """Run a MicroPython VM (argv) with the chip and panel models of a whole unit in this
    process (host_tools/sim/board/modelhost.py), outside the unit's heap: the VM reaches them
    through two pipes. (stdout, stderr, exit status, the model host); a VM still running after
    timeout seconds is killed."""
    host = ModelHost(ROOT)
    fds = host.pipes()
    env = dict(env)
    env[modellink.ENV] = "%d,%d" % fds
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        pass_fds=fds,
    )
    host.start()
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    finally:
        host.join()
    return stdout, stderr, proc.returncode, host


@pytest.fixture(autouse=True, scope="module")
def _old_objects_frozen():
    # The firmware calls gc.collect() where a unit's small heap needs it (board.build, before the
    # frame buffers). Under CPython, in a pytest process holding the objects of pytest,
    # hypothesis and matplotlib, each call scanned them all (0.12 s; 48 of the 54 s of a meter
    # property test, 108 s of a store test): frozen at each test file's start, the collector
    # skips what the earlier files left (this collect scans only what is new since the last).
    gc.collect()
    gc.freeze()


def pytest_collect_file(parent, file_path):
    if (
        file_path.parent == FIRMWARE_TESTS
        and file_path.name.startswith("test_")
        and file_path.suffix == ".py"
    ):
        return MicroPythonFile.from_parent(parent, path=file_path)
    return None


class MicroPythonFailure(Exception):
    pass


class MicroPythonFile(pytest.File):
    """The test functions of one firmware test file, run in one MicroPython process."""

    results = None

    def collect(self):
        tree = ast.parse(self.path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                yield MicroPythonItem.from_parent(self, name=node.name + "[micropython]")

    def _header(self, key):
        """What a `# <key>: VALUE (why)` line in the file's first lines says, or None."""
        for line in self.path.read_text(encoding="utf-8").splitlines()[:12]:
            if line.startswith("# %s:" % key):
                return line.split(":", 1)[1].split()[0]
        return None

    def heapsize(self):
        """HEAPSIZE, or what a `# micropython-heap: N (why)` line in the file's head says."""
        value = self._header("micropython-heap")
        return HEAPSIZE if value is None else int(value)

    def app_frozen(self):
        """True for a `# micropython-vm: app` file: it runs on the binary with the app frozen
        (the form the unit is deployed in), not on the stock one with the app from .mpy."""
        return self._header("micropython-vm") == "app"

    def binary(self):
        return MICROPYTHON_APP if self.app_frozen() else MICROPYTHON

    def fresh_vm_each(self):
        """True for a `# micropython-fresh-vm: each (why)` file: each test function in a VM of
        its own, as a unit powers on with an empty heap (one VM for the file otherwise)."""
        return self._header("micropython-fresh-vm") == "each"

    def run_all(self):
        if self.results is not None:
            return self.results
        names = [item.name[: -len("[micropython]")] for item in self.collect()]
        batches = [[n] for n in names] if self.fresh_vm_each() else [names]
        outs, errs = [], []
        self.returncode = 0
        for batch in batches:
            stdout, stderr, rc = self._run_vm(batch)
            outs.append(stdout)
            errs.append(stderr)
            self.returncode = self.returncode or rc
        self.stdout = "".join(outs)
        self.stderr = "".join(errs)
        self.results = parse_runner_output(self.stdout, names)
        return self.results

    def _run_vm(self, names):
        """(stdout, stderr, exit status) of one VM running the named test functions."""
        workdir = tempfile.mkdtemp(prefix="sunprint-mp-")
        argv = [
            str(self.binary()),
            "-X",
            "heapsize=%d" % self.heapsize(),
            str(FIRMWARE_TESTS / "mp_runner.py"),
            self.path.stem,
            *names,
        ]
        try:
            stdout, stderr, rc, _ = run_with_models(
                argv, workdir, micropython_env(self.app_frozen()), RUN_TIMEOUT_S
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return stdout, stderr, rc


def parse_runner_output(stdout, names):
    """name -> (passed, text) from mp_runner.py's @@START/@@PASS/@@FAIL/@@END markers."""
    results = {}
    current, lines = None, []
    for line in stdout.splitlines():
        if line.startswith("@@START "):
            current, lines = line[8:], []
        elif line.startswith("@@PASS "):
            results[line[7:]] = (True, "\n".join(lines))
            current = None
        elif line.startswith("@@FAIL "):
            lines.append("--- MicroPython traceback ---")
        elif line.startswith("@@END "):
            results[line[6:]] = (False, "\n".join(lines))
            current = None
        elif current is not None:
            lines.append(line)
    if current is not None:  # the process died inside a test
        results[current] = (False, "\n".join(lines) + "\n--- MicroPython process died ---")
    return results


class MicroPythonItem(pytest.Item):
    def runtest(self):
        parent = self.parent
        results = parent.run_all()
        name = self.name[: -len("[micropython]")]
        if name not in results:
            raise MicroPythonFailure(
                "MicroPython did not run %s (exit status %s)\n%s\n%s"
                % (name, parent.returncode, parent.stdout[-3000:], parent.stderr[-3000:])
            )
        passed, text = results[name]
        if not passed:
            raise MicroPythonFailure(text + ("\n" + parent.stderr if parent.stderr else ""))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, MicroPythonFailure):
            return "%s -X heapsize=%d:\n%s" % (
                self.parent.binary().name,
                self.parent.heapsize(),
                excinfo.value,
            )
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, "%s::%s" % (self.path.name, self.name)


@pytest.fixture(autouse=True)
def _firmware_tests_run_in_a_scratch_folder(request, tmp_path, monkeypatch):
    # Firmware tests may write files in the current folder (MicroPython has no tempfile).
    if Path(str(request.node.path)).parent == FIRMWARE_TESTS:
        monkeypatch.chdir(tmp_path)


def _declared_heap(path):
    for line in path.read_text(encoding="utf-8").splitlines()[:12]:
        if line.startswith("# micropython-heap:"):
            return int(line.split(":", 1)[1].split()[0])
    return HEAPSIZE


def pytest_terminal_summary(terminalreporter):
    counts = {"CPython": [0, 0], "MicroPython": [0, 0]}
    for outcome in ("passed", "failed", "error"):
        for rep in terminalreporter.stats.get(outcome, []):
            if getattr(rep, "when", "call") != "call" and outcome != "error":
                continue
            interp = "MicroPython" if rep.nodeid.endswith("[micropython]") else "CPython"
            counts[interp][0 if outcome == "passed" else 1] += 1
    firmware = sum(
        1
        for rep in terminalreporter.stats.get("passed", [])
        if rep.nodeid.startswith("tests/firmware/") and not rep.nodeid.endswith("[micropython]")
    )
    terminalreporter.write_sep("-", "tests per interpreter")
    terminalreporter.write_line(
        "CPython %s: %d passed, %d failed (of which tests/firmware passed: %d)"
        % (sys.version.split()[0], counts["CPython"][0], counts["CPython"][1], firmware)
    )
    bigger = sorted(
        p.name for p in FIRMWARE_TESTS.glob("test_*.py") if _declared_heap(p) > HEAPSIZE
    )
    try:
        vm = "%s (%s)" % (MICROPYTHON.name, mp32.version())
    except (mp32.MissingVM, OSError, subprocess.CalledProcessError) as e:
        vm = "MicroPython (%s)" % e
    terminalreporter.write_line(
        "%s, heap %d B: %d passed, %d failed"
        % (vm, HEAPSIZE, counts["MicroPython"][0], counts["MicroPython"][1])
    )
    if bigger:
        terminalreporter.write_line(
            "  (a larger heap, said why in their header, for the files that hold chip and panel "
            "models beside a whole unit: %s)" % ", ".join(bigger)
        )


def pytest_sessionfinish(session, exitstatus):
    if _MPY_TREE is not None:
        shutil.rmtree(_MPY_TREE, ignore_errors=True)

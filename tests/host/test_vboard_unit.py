"""A whole unit on the virtual board: the firmware deployed into the flash folder (as .mpy, with
main.py, board.json and the fonts), the board profile's chip and panel models wired onto the
fake machine, main.py booting the unit at power-on and after a soft reboot, and the status
call a host tool makes over the REPL answered by the running app, with the real mpremote.
"""

import json
import shutil
import subprocess

import pytest
from test_vboard import friendly_prompt, mpremote_ok, open_serial, read_until, wait_for

from host_tools.paths import BOARDS, FIRMWARE, FONTS, MPY_CROSS32
from host_tools.sim.board.vboard import VirtualBoard

BOARD = "esp32-epd29-ina226"
HEAP = 400000  # the unit's bytecode sits in the heap on the unix port (README: ~160 KB)
MPY_CROSS = MPY_CROSS32  # of the board's VM (micropython32, 1.26.1)
STATUS = "import sunprint.status as s; print(s.json())"

# boot.py runs before main.py in the same interpreter: it lets the test know when main.py has
# registered the running app (the earliest moment a status call can answer).
BOOT_PY = """\
import sunprint.status as _status
_register = _status.register
def _announce(*args):
    _register(*args)
    open('/registered', 'w').close()
_status.register = _announce
"""


def _deploy(flash):
    for src in sorted((FIRMWARE / "sunprint").rglob("*.py")):
        rel = src.relative_to(FIRMWARE)
        out = flash / rel.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(MPY_CROSS), "-s", str(rel), "-o", str(out), str(src)],
            check=True,
            capture_output=True,
        )
    shutil.copy(FIRMWARE / "main.py", flash / "main.py")
    shutil.copy(BOARDS / (BOARD + ".json"), flash / "board.json")
    (flash / "fonts").mkdir()
    for font in FONTS.glob("*.bin"):
        shutil.copy(font, flash / "fonts" / font.name)
    (flash / "boot.py").write_text(BOOT_PY)


@pytest.fixture(scope="module")
def unit(tmp_path_factory):
    flash = tmp_path_factory.mktemp("unit-flash")
    _deploy(flash)
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        vb.power_w = 250.0
        port = vb.serve_pty()  # power-on: boot.py, then main.py boots the unit
        yield vb, port, flash


def _wait_for_the_app(vb, flash):
    wait_for(lambda: (flash / "registered").exists(), "main.py to register the app")
    # The agent's RUN marker was written before main.py ran, but the board reads it on its own
    # thread: the file on the flash can be seen first (a loaded machine showed "starting").
    wait_for(lambda: vb.state != "starting", "the board to read the agent's RUN marker")
    assert vb.state == "running" and vb.running_what == "main.py"  # the unit's loop runs


def _status(port):
    # resume: no soft reset first; mpremote's Ctrl-C stops the unit's loop, the app stays
    return json.loads(mpremote_ok(port, "resume", "exec", STATUS))


def test_main_py_boots_the_unit_and_the_status_call_answers(unit):
    vb, port, flash = unit
    _wait_for_the_app(vb, flash)
    status = _status(port)
    from sunprint import VERSION

    assert status["unit_id"] == "sunprint"  # no config.json: the defaults, as on a first boot
    assert status["firmware"] == VERSION
    assert status["platform"].startswith("micropython 1.")
    assert status["carbon_source"].startswith("CN ")
    assert set(status["sensor"]) >= {"flag", "ok", "power_mw", "comm_failed"}
    assert 0 < status["free_heap"] < HEAP
    # the profile's models are behind the fake machine's pins and buses, outside the board's
    # VM (in the bridge's process: host_tools/sim/board/modelhost.py)
    out = mpremote_ok(
        port,
        "resume",
        "exec",
        "print(__rig__.model_type('display'), __rig__.model_type('sensor'), "
        "type(__rig__.models['display']).__name__)",
    )
    assert out.split() == ["SSD1680Model", "INA226Model", "Remote"]


def test_after_a_soft_reboot_main_py_boots_the_unit_again(unit):
    vb, port, flash = unit
    wait_for(lambda: (flash / "registered").exists(), "the first boot")
    (flash / "registered").unlink()
    with open_serial(port) as ser:
        friendly_prompt(ser)  # Ctrl-C stops the unit's loop: the REPL is free
        assert vb.state == "repl"
        ser.write(b"\x04")
        read_until(ser, b"MPY: soft reboot\r\n")
    _wait_for_the_app(vb, flash)
    status = _status(port)
    assert status["unit_id"] == "sunprint" and "error" not in status
    out = mpremote_ok(port, "resume", "exec", "import machine; print(machine.reset_cause())")
    assert out.strip() == "1"  # a soft reboot keeps the power-on reset cause, as an ESP32 does

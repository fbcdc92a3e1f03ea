"""`sunprint deploy` end to end on the virtual board, with mpremote's transport underneath.

The firmware deployed is a copy of firmware/ with its VERSION set per test, so the unit can
say which app it runs. What lands on the board is checked on the board's flash folder itself
(independently of what deploy reports), and the unit is asked through its REPL after a soft
reset, i.e. after boot.py has picked the app folder the pointer names.
"""

import hashlib
import json
import os
import shutil
import sys

import pytest

from host_tools import deploy
from host_tools.cli import main as cli_main
from host_tools.link import LinkLost, open_link
from host_tools.paths import ROOT
from host_tools.sim.board.vboard import VirtualBoard

sys.path.insert(0, str(ROOT / "tests" / "bench"))
from bench_deploy import Relay, change_one_file, firmware_copy  # noqa: E402

BOARD = "esp32-epd29-ina226"
HEAP = 400000  # the app's bytecode alone is ~140 KB on the 64-bit unix port (README)


def set_version(firmware_dir, version):
    init = firmware_dir / "sunprint" / "__init__.py"
    text = init.read_text()
    init.write_text(text.replace('VERSION = "0.1.0"', 'VERSION = "%s"' % version))
    assert version in init.read_text()


@pytest.fixture
def fw(tmp_path):
    dest = firmware_copy(tmp_path / "firmware")
    set_version(dest, "1.0-test")
    return dest


@pytest.fixture
def board(tmp_path):
    with VirtualBoard(tmp_path / "flash", board=BOARD, heap=HEAP) as vb:
        vb.port = vb.serve_pty()
        yield vb


def flash_app(flash_dir):
    """(app id, {path: sha256}) of the app the pointer names, read from the flash folder."""
    name = (flash_dir / "app" / "current").read_text().strip()
    folder = flash_dir / "app" / name
    files = {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }
    return name, files


def built(fw):
    from host_tools import boards

    files = deploy.build(boards.load_board(BOARD), deploy.mpy_cross_version(), fw)
    return {p: hashlib.sha256(b).hexdigest() for p, b in files.items()}


def unit_info(port):
    """sunprint.service.info() after a soft reset (boot.py has run, the app has not)."""
    with open_link(port) as link:
        out = link.exec("import sunprint.service\nsunprint.service.info()")
    return json.loads(out.decode().strip().splitlines()[-1])


def running_status(vb):
    """Boot the unit as at power-up (boot.py, then main.py runs the app), interrupt the app
    and read sunprint.status: what the sign itself reports. An interrupt that lands before
    the app has registered finds no app: boot again and let it run longer."""
    status = None
    for wait_s in (0.5, 1, 2, 4, 8):
        vb.reset(hard=True)
        # boot.py runs first, briefly: wait for main.py (the app), then let it run wait_s
        assert vb.wait_booted(timeout=20, settle_s=wait_s) and vb.running_what == "main.py"
        assert vb.running_what == "main.py"  # the app runs (it has not crashed)
        with open_link(vb.port, soft_reset=False, timeout=10) as link:
            out = link.exec("import sunprint.status\nprint(sunprint.status.json())")
        status = json.loads(out.decode().strip().splitlines()[-1])
        if "error" not in status:
            break
    return status


def test_first_deploy_installs_the_app_and_the_unit_boots_it(board, fw):
    s = deploy.deploy(board.port, BOARD, firmware_dir=fw, restart=False)
    flash = board.flash_dir
    name, files = flash_app(flash)
    want = built(fw)
    assert name == s["app"] == deploy.app_id(want)
    assert files == want  # every file, byte for byte (sha256 here, on the host)
    assert "main.mpy" in files and "sunprint/app.mpy" in files and "board.json" in files
    assert {"fonts/sans12.bin", "fonts/cjk16.bin", "fonts/num48b.bin"} <= set(files)
    assert sorted(s["uploaded"]) == sorted(want) and s["copied_on_unit"] == 0
    assert (flash / "boot.py").read_bytes() == (fw / "boot.py").read_bytes()
    assert (flash / "main.py").read_bytes() == deploy.MAIN_STUB
    assert json.loads((flash / "board.json").read_text())["name"] == BOARD
    assert s["bytes_sent"] > s["payload_bytes"] > 100000
    assert isinstance(s["rtc_offset_s"], int)  # the unit's clock set from this computer
    info = unit_info(board.port)
    assert info["firmware"] == "1.0-test" and info["app"] == "/app/" + name
    status = running_status(board)
    assert status["firmware"] == "1.0-test", status
    assert status["unit_id"] and "error" not in status


def test_incremental_deploy_sends_only_the_changed_file(board, fw):
    first = deploy.deploy(board.port, BOARD, firmware_dir=fw, restart=False)
    old = first["app"]
    change_one_file(fw, "sunprint/core/carbon.py")
    second = deploy.deploy(board.port, BOARD, firmware_dir=fw, restart=False)
    assert abs(second["rtc_offset_s"]) <= 2  # set by the first deploy, kept by soft resets
    assert second["uploaded"] == ["sunprint/core/carbon.mpy"]
    assert second["copied_on_unit"] == second["files"] - 1
    assert second["previous"] == old and second["app"] != old
    name, files = flash_app(board.flash_dir)
    assert files == built(fw) and name == second["app"]
    assert sorted(p.name for p in (board.flash_dir / "app").iterdir()) == sorted(
        ["current", name]
    )  # the old folder is gone
    assert (
        second["payload_bytes"]
        == (board.flash_dir / "app" / name / "sunprint/core/carbon.mpy").stat().st_size
    )
    assert second["bytes_sent"] * 10 < first["bytes_sent"]
    # Nothing changed: nothing is sent, the same folder stays current.
    third = deploy.deploy(board.port, None, firmware_dir=fw, restart=False)  # the unit's board
    assert third["uploaded"] == [] and third["app"] == name and third["board"] == BOARD


def test_a_file_gone_from_the_firmware_is_removed_from_the_unit(board, fw):
    extra = fw / "sunprint" / "extra_module.py"
    extra.write_text("X = 1\n")
    deploy.deploy(board.port, BOARD, firmware_dir=fw, restart=False)
    _, files = flash_app(board.flash_dir)
    assert "sunprint/extra_module.mpy" in files
    extra.unlink()
    s = deploy.deploy(board.port, BOARD, firmware_dir=fw, restart=False)
    assert s["uploaded"] == []
    _, files = flash_app(board.flash_dir)
    assert files == built(fw)
    leftovers = [p for p in board.flash_dir.rglob("extra_module*")]
    assert leftovers == []
    with open_link(board.port) as link:
        out = link.exec(
            "try:\n import sunprint.extra_module\n print('found')\nexcept ImportError:\n"
            " print('gone')"
        )
    assert out.strip() == b"gone"


def test_a_deploy_cut_midway_leaves_the_previous_app_bootable(tmp_path, fw):
    flash = tmp_path / "flash"
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        deploy.deploy(vb.serve_pty(), BOARD, firmware_dir=fw, restart=False)
    old, old_files = flash_app(flash)
    fw2 = firmware_copy(tmp_path / "firmware2")
    set_version(fw2, "2.0-test")
    changed = ["sunprint/app.py", "sunprint/board.py", "sunprint/store.py", "main.py"]
    for rel in changed:
        change_one_file(fw2, rel)
    # How many bytes the whole deploy of the new version takes, on a copy of the unit.
    shutil.copytree(flash, tmp_path / "probe")
    with VirtualBoard(tmp_path / "probe", board=BOARD, heap=HEAP) as vb:
        relay = Relay(vb.serve_tcp())
        deploy.deploy(relay.url, BOARD, firmware_dir=fw2, restart=False)
        total = relay.sent
    # The real one: the cable is pulled when 60 % of those bytes went through (mid-file).
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        relay = Relay(vb.serve_tcp(), cut_after=total * 6 // 10)
        with pytest.raises((LinkLost, deploy.DeployError)):
            deploy.deploy(relay.url, BOARD, firmware_dir=fw2, restart=False)
        assert relay.cut
    assert flash_app(flash) == (old, old_files)  # the pointer and the old folder, untouched
    assert len(list((flash / "app").iterdir())) == 3  # and the cut one's partial folder
    # Power cycle: the unit boots the old app.
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        vb.port = vb.serve_pty()
        info = unit_info(vb.port)
        assert info["firmware"] == "1.0-test" and info["app"] == "/app/" + old
        status = running_status(vb)
        assert status["firmware"] == "1.0-test", status
        # The next deploy finishes the job, reusing what the cut one left on the flash.
        s = deploy.deploy(vb.port, BOARD, firmware_dir=fw2, restart=False)
        assert 0 < len(s["uploaded"]) < len(changed) + 1  # + sunprint/__init__.py
        assert unit_info(vb.port)["firmware"] == "2.0-test"
    assert flash_app(flash)[1] == built(fw2)
    assert sorted(p.name for p in (flash / "app").iterdir()) == sorted(["current", s["app"]])


def test_the_cli_deploys_and_reports_bytes_sent(board, fw, capsys, monkeypatch):
    monkeypatch.setattr(deploy, "FIRMWARE", fw)
    code = cli_main(["deploy", "--port", board.port, "--board", BOARD, "--no-restart"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "bytes sent over the link:" in out and flash_app(board.flash_dir)[0] in out


def test_missing_port_unknown_board_and_silent_board_are_one_line_errors(tmp_path, capsys):
    code = cli_main(["deploy", "--port", str(tmp_path / "ttyUSB9"), "--board", BOARD])
    err = capsys.readouterr().err
    assert code == 2 and "no such port" in err and err.count("\n") == 1
    master, slave = os.openpty()  # a port with nothing that answers behind it
    try:
        silent = os.ttyname(slave)
        code = cli_main(["deploy", "--port", silent, "--board", BOARD, "--timeout", "1"])
    finally:
        os.close(master)
        os.close(slave)
    err = capsys.readouterr().err
    assert code == 2 and "does not answer" in err and err.count("\n") == 1, err
    with VirtualBoard(tmp_path / "flash", heap=HEAP) as vb:
        port = vb.serve_pty()
        code = cli_main(["deploy", "--port", port, "--board", "no-such-board"])
        err = capsys.readouterr().err
        assert code == 2 and "unknown board" in err and err.count("\n") == 1
        code = cli_main(["deploy", "--port", port])  # a blank unit: which board?
        err = capsys.readouterr().err
        assert code == 2 and "--board" in err and err.count("\n") == 1


def test_a_port_held_by_another_program_is_busy(board):
    with open_link(board.port):
        with pytest.raises(Exception) as e:
            open_link(board.port)
    assert "busy" in str(e.value)


def test_the_plan_copies_what_the_unit_has_and_sends_the_rest():
    target = {"main.mpy": "a", "sunprint/app.mpy": "b", "fonts/x.bin": "c", "new.mpy": "d"}
    folders = {
        "old": {"main.mpy": "a", "sunprint/app.mpy": "B", "fonts/x.bin": "c", "gone.mpy": "e"},
        "cut": {"new.mpy": "d", "stray.mpy": "f"},
    }
    same, copies, uploads, extras = deploy.plan(target, folders, "old", "cut")
    assert same == ["fonts/x.bin", "main.mpy"]
    assert copies == [] and uploads == ["sunprint/app.mpy"] and extras == ["stray.mpy"]
    same, copies, uploads, extras = deploy.plan(target, folders, "old", "fresh")
    assert copies == [("/app/cut/new.mpy", "new.mpy")] and uploads == ["sunprint/app.mpy"]
    assert deploy.app_id(target) == deploy.app_id(dict(reversed(target.items())))
    assert deploy.app_id(target) != deploy.app_id({**target, "new.mpy": "x"})


def test_a_unit_whose_mpy_version_mpy_cross_cannot_emit_is_refused(board, fw, monkeypatch):
    monkeypatch.setattr(deploy, "mpy_cross_version", lambda: (5, 0))
    with pytest.raises(deploy.UserError) as e:
        deploy.deploy(board.port, BOARD, firmware_dir=fw)
    assert "v6.3" in str(e.value) and "v5.0" in str(e.value)
    assert not (board.flash_dir / "app").exists()


def _hostile_profile(tmp_path, secret):
    """A valid profile on the host whose layout font is a host file outside assets/fonts."""
    profile = json.loads((ROOT / "boards" / (BOARD + ".json")).read_text())
    profile["name"] = "hostile"
    profile["layout"]["fonts"] = {"big": os.path.relpath(secret, ROOT / "assets" / "fonts")}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(profile))
    return path


def _copies_of(flash_dir, data):
    return [p for p in flash_dir.rglob("*") if p.is_file() and p.read_bytes() == data]


def _deploy_refused(port, argv, capsys, *words):
    code = cli_main(["deploy", "--port", port, "--no-restart", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err


@pytest.mark.parametrize("how", ["json-path", "dotdot-name"])
def test_the_units_board_name_is_a_name_never_a_host_path(tmp_path, board, fw, capsys, how):
    secret = tmp_path / "host-secret"
    secret.write_bytes(b"the host's private file\n")
    hostile = _hostile_profile(tmp_path, secret)
    if how == "json-path":
        name = str(hostile)  # any *.json on the host
    else:
        name = os.path.relpath(hostile.with_suffix(""), ROOT / "boards")  # ../../tmp/.../hostile
    (board.flash_dir / "board.json").write_text(json.dumps({"name": name}))
    _deploy_refused(board.port, [], capsys, "board.json", "--board")
    assert _copies_of(board.flash_dir, secret.read_bytes()) == []
    assert not (board.flash_dir / "app").exists()


def test_a_layout_font_is_a_name_in_assets_fonts_never_a_path(tmp_path, board, fw, capsys):
    secret = tmp_path / "hostname"
    secret.write_bytes(b"host-name-of-the-pc\n")
    hostile = _hostile_profile(tmp_path, secret)
    _deploy_refused(board.port, ["--board", str(hostile)], capsys, "layout.fonts.big")
    assert _copies_of(board.flash_dir, secret.read_bytes()) == []  # not on the unit anywhere

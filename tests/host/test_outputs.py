"""Single-file outputs and the developer tools never overwrite or delete what they did not write
(issue 12, the host-tools standard): `synth --out`, `fonts --out/--preview`, `monitor --record`,
`flash --registry`, tools/make_*.py and render_screens.py. Each refusal is one line naming the
path, exit 2, nothing written; an earlier output of the same command is replaced."""

import importlib.util
import json
import os
import shutil
import sys

import pytest

from host_tools import cli, outdir, registry
from host_tools.errors import UserError
from host_tools.paths import FONTS, ROOT

ZHONGSHAN = ["--lat", "22.5", "--lon", "113.4", "--tz", "+08:00", "--kwp", "10"]
USERS = b"the user's own file, not an output\n"


def _tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "tools"))
    spec.loader.exec_module(module)
    return module


def _users_file(path, data=USERS):
    path.write_bytes(data)
    return path


def _refused(capsys, code, *words):
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1, err
    for w in words:
        assert str(w) in err, err
    return err


def _synth(out, *more):
    argv = ["synth", *ZHONGSHAN, "--start", "2024-06-15", "--interval", "3600"]
    return cli.main([*argv, *more, "--no-progress", "--out", str(out)])


# --- sunprint synth --out -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        USERS,
        # a sample log, but not one synth wrote (a monitor recording)
        b"# sunprint samplelog 2\n# port=x source=sunprint-monitor\ntimestamp,power_w,raw,flag\n",
    ],
)
def test_synth_refuses_a_file_it_did_not_write(tmp_path, capsys, content):
    out = _users_file(tmp_path / "mine.csv", content)
    code = _synth(out)
    assert out.read_bytes() == content
    _refused(capsys, code, "--out", out, "sunprint synth")
    assert os.listdir(tmp_path) == ["mine.csv"]


def test_synth_replaces_its_own_earlier_output(tmp_path, capsys):
    out = tmp_path / "day.csv"
    assert _synth(out) == 0
    first = out.read_bytes()
    assert _synth(out, "--seed", "2") == 0
    assert out.read_bytes() != first and b"seed=2" in out.read_bytes()
    assert os.listdir(tmp_path) == ["day.csv"]


def test_synth_refuses_a_symlink_and_a_folder(tmp_path, capsys):
    target = _users_file(tmp_path / "target.csv")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    _refused(capsys, _synth(link), "--out", "symbolic link")
    assert link.is_symlink() and target.read_bytes() == USERS
    _refused(capsys, _synth(tmp_path), "--out", "folder")


def test_make_zhongshan_day_refuses_a_file_it_did_not_write(tmp_path, capsys):
    out = _users_file(tmp_path / "day.csv")
    code = _tool("make_zhongshan_day").main([str(out)])
    assert out.read_bytes() == USERS
    _refused(capsys, code, out)


def test_make_logs_checks_every_log_before_writing_any(tmp_path, capsys):
    # the second log's name holds a user's file: nothing is simulated, nothing written
    mine = _users_file(tmp_path / "zhongshan-2024-06-15-monsoon.csv")
    code = _tool("make_logs").main(["--out", str(tmp_path)])
    assert mine.read_bytes() == USERS
    assert os.listdir(tmp_path) == [mine.name]
    _refused(capsys, code, mine)


def test_make_logs_checks_the_community_day_before_writing_any(tmp_path, capsys):
    # the community day's name holds a user's file: refused before the Zhongshan day is made
    mine = _users_file(tmp_path / "community-zhongshan-2024-10-15.csv")
    code = _tool("make_logs").main(["--out", str(tmp_path)])
    assert mine.read_bytes() == USERS
    assert os.listdir(tmp_path) == [mine.name]
    _refused(capsys, code, mine)


# --- sunprint fonts --out / --preview ------------------------------------------------------


def _fonts(out, preview=None):
    import matplotlib

    ttf = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
    argv = ["fonts", "--ttf", ttf, "--size", "12", "--chars", "0123", "--out", str(out)]
    return cli.main(argv + (["--preview", str(preview)] if preview else []))


def test_fonts_refuses_a_font_or_preview_path_it_did_not_write(tmp_path, capsys):
    out = _users_file(tmp_path / "f.bin")
    code = _fonts(out)
    assert out.read_bytes() == USERS
    _refused(capsys, code, "--out", out)
    png = tmp_path / "p.png"
    shutil.copyfile(ROOT / "tests" / "golden" / "esp32-epd29" / "0001-100000-full.png", png)
    before = png.read_bytes()  # a PNG, but not a preview sunprint fonts drew
    code = _fonts(tmp_path / "new.bin", png)
    assert png.read_bytes() == before
    _refused(capsys, code, "--preview", png)
    assert sorted(os.listdir(tmp_path)) == ["f.bin", "p.png"]  # not even the font


def test_fonts_replaces_its_own_font_and_preview(tmp_path, capsys):
    out, png = tmp_path / "f.bin", tmp_path / "f.png"
    assert _fonts(out, png) == 0
    assert _fonts(out, png) == 0
    assert sorted(os.listdir(tmp_path)) == ["f.bin", "f.png"]
    # a committed font is a sunprint font too: copied here, it may be replaced
    shutil.copyfile(FONTS / "sans12.bin", out)
    assert _fonts(out) == 0


def test_fonts_out_and_preview_must_be_two_files(tmp_path, capsys):
    same = tmp_path / "f.bin"
    _refused(capsys, _fonts(same, same), "--preview")
    assert os.listdir(tmp_path) == []


def test_make_fonts_refuses_files_it_did_not_write(tmp_path, capsys):
    fonts_dir, previews = tmp_path / "fonts", tmp_path / "previews"
    fonts_dir.mkdir()
    mine = _users_file(fonts_dir / "sans12.bin")
    code = _tool("make_fonts").main(["--out", str(fonts_dir), "--preview-dir", str(previews)])
    assert mine.read_bytes() == USERS and os.listdir(fonts_dir) == ["sans12.bin"]
    assert not previews.exists()
    _refused(capsys, code, mine)
    # a preview folder holding a user's file of a preview's name is not replaced either
    mine.unlink()
    previews.mkdir()
    png = _users_file(previews / "sans12.png")
    code = _tool("make_fonts").main(["--out", str(fonts_dir), "--preview-dir", str(previews)])
    assert png.read_bytes() == USERS and os.listdir(fonts_dir) == []
    _refused(capsys, code, previews)


# --- sunprint monitor --record --------------------------------------------------------------


def test_monitor_refuses_a_record_file_it_did_not_write_before_the_session(tmp_path, capsys):
    mine = _users_file(tmp_path / "notes.csv")
    code = cli.main(["monitor", "--port", str(tmp_path / "nope"), "--record", str(mine)])
    assert mine.read_bytes() == USERS
    _refused(capsys, code, "--record", mine)  # not "no such port": refused before the link


def test_monitor_write_record_never_overwrites_a_users_file(tmp_path):
    from host_tools import monitor

    sample = {"t": 800000000, "power_mw": 1000, "raw": 1000, "flag": 0}
    meta = {"source": "sunprint-monitor", "port": "x"}
    mine = _users_file(tmp_path / "notes.csv")
    with pytest.raises(UserError, match="notes.csv"):
        monitor.write_record(mine, [sample], meta)
    assert mine.read_bytes() == USERS
    own = tmp_path / "session.csv"
    assert monitor.write_record(own, [sample], meta) == 1
    assert monitor.write_record(own, [sample, dict(sample, t=800000001)], meta) == 2
    assert sorted(os.listdir(tmp_path)) == ["notes.csv", "session.csv"]


# --- sunprint flash --registry --------------------------------------------------------------

ROW = {"time": "2024-01-01T00:00:00+08:00", "port": "p", "result": "ok"}


def test_registry_refuses_a_csv_that_is_not_a_registry(tmp_path):
    mine = _users_file(tmp_path / "budget.csv", b"month,amount\n2024-01,12\n")
    with pytest.raises(UserError, match="budget.csv"):
        registry.append(mine, ROW)
    assert mine.read_bytes() == b"month,amount\n2024-01,12\n"
    assert os.listdir(tmp_path) == ["budget.csv"]


def test_registry_appends_to_its_own_and_leaves_other_files_alone(tmp_path):
    reg = tmp_path / "units.csv"
    lock = _users_file(tmp_path / "units.csv.lock")  # a file of the old lock's name
    registry.append(reg, ROW)
    registry.append(reg, dict(ROW, port="q"))
    assert [r["port"] for r in registry.read(reg)] == ["p", "q"]
    assert lock.read_bytes() == USERS
    assert sorted(os.listdir(tmp_path)) == ["units.csv", "units.csv.lock"]
    # an Excel-saved registry (BOM, CRLF) is still the registry
    text = reg.read_text(encoding="utf-8").replace("\n", "\r\n")
    reg.write_bytes(b"\xef\xbb\xbf" + text.encode())
    registry.append(reg, dict(ROW, port="r"))
    assert [r["port"] for r in registry.read(reg)] == ["p", "q", "r"]


def test_flash_refuses_a_registry_that_is_not_one_before_touching_anything(tmp_path, capsys):
    firmware = _users_file(tmp_path / "fw.bin", b"\0" * 64)  # refused later by check_image
    mine = _users_file(tmp_path / "budget.csv", b"month,amount\n")
    code = cli.main(
        ["flash", "--port", str(tmp_path / "ttyUSB9"), "--board", "esp32-epd29"]
        + ["--firmware", str(firmware), "--registry", str(mine)]
    )
    assert mine.read_bytes() == b"month,amount\n"
    _refused(capsys, code, "--registry", mine)


# --- tools/make_golden.py, tools/render_screens.py ------------------------------------------


def test_make_golden_deletes_only_its_own_frames(tmp_path, monkeypatch, capsys):
    make_golden = _tool("make_golden")
    monkeypatch.setattr(make_golden, "GOLDEN", tmp_path)
    board = tmp_path / "esp32-epd29"
    board.mkdir()
    mine = _users_file(board / "notes.txt")
    code = make_golden.main(["esp32-epd29"])
    assert mine.read_bytes() == USERS
    _refused(capsys, code, board, "notes.txt")
    # a board is a name in boards/, never a path
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _users_file(outside / "x.txt")
    code = make_golden.main([str(outside)])
    assert os.listdir(outside) == ["x.txt"]
    _refused(capsys, code, "not a board in boards/")


def test_make_golden_keeps_a_folder_of_its_temporary_name(tmp_path, monkeypatch, capsys):
    make_golden = _tool("make_golden")
    monkeypatch.setattr(make_golden, "GOLDEN", tmp_path)
    keep = tmp_path / ".esp32-max7219-s0.new"
    keep.mkdir()
    _users_file(keep / "keep.txt")
    assert make_golden.main(["esp32-max7219-s0"]) in (0, None)
    assert (keep / "keep.txt").read_bytes() == USERS
    frames = sorted(os.listdir(tmp_path / "esp32-max7219-s0"))
    assert frames and all(f.endswith(".png") for f in frames)
    assert make_golden.main(["esp32-max7219-s0"]) in (0, None)  # its own frames: replaced
    assert sorted(os.listdir(tmp_path / "esp32-max7219-s0")) == frames


def test_render_screens_replaces_only_its_own_output(tmp_path, capsys):
    render_screens = _tool("render_screens")
    out = tmp_path / "screens"
    out.mkdir()
    mine = _users_file(out / "296x128-main-en.png")
    code = render_screens.main(["--out", str(out)])
    assert mine.read_bytes() == USERS and os.listdir(out) == [mine.name]
    _refused(capsys, code, out)
    mine.unlink()
    assert render_screens.main(["--out", str(out)]) == 0
    made = sorted(os.listdir(out))
    assert render_screens.main(["--out", str(out), "--widest"]) == 0
    assert sorted(os.listdir(out)) == made


# --- replay --board PATH: layout.fonts are names in assets/fonts ----------------------------


def test_replay_board_path_font_is_a_name_never_a_host_path(tmp_path, capsys):
    secret = tmp_path / "private.bin"
    shutil.copyfile(FONTS / "sans24b.bin", secret)  # a font file, but outside assets/fonts
    profile = json.loads((ROOT / "boards" / "esp32-epd29.json").read_text())
    profile["name"] = "hostile"
    profile["layout"]["fonts"] = {"large": os.path.relpath(secret, FONTS)}
    board = tmp_path / "hostile.json"
    board.write_text(json.dumps(profile))
    log = ROOT / "tests" / "golden" / "golden-log.csv"
    out = tmp_path / "out"
    code = cli.main(["replay", str(log), "--board", str(board), "--out", str(out)])
    _refused(capsys, code, "layout.fonts.large", "font file name")
    assert not out.exists()


# --- tools/plot_log.py OUT.png, tools/make_icons.py --out/--preview -------------------------


def test_plot_log_refuses_a_file_it_did_not_write_and_replaces_its_own(tmp_path, capsys):
    plot_log = _tool("plot_log")
    log = str(ROOT / "tests" / "golden" / "golden-log.csv")
    mine = tmp_path / "photo.png"
    shutil.copyfile(ROOT / "tests" / "golden" / "esp32-epd29" / "0001-100000-full.png", mine)
    before = mine.read_bytes()
    with pytest.raises(SystemExit) as e:
        plot_log.main([log, str(mine)])
    assert mine.read_bytes() == before
    _refused(capsys, e.value.code, "OUT.png", mine)
    own = tmp_path / "plot.png"
    assert plot_log.main([log, str(own)]) == 0
    assert plot_log.main([log, str(own)]) == 0  # its own plot: replaced
    assert sorted(os.listdir(tmp_path)) == ["photo.png", "plot.png"]


def test_make_icons_refuses_files_it_did_not_write(tmp_path, capsys):
    make_icons = _tool("make_icons")
    mine = _users_file(tmp_path / "icons.py")
    png = tmp_path / "icons.png"
    code = make_icons.main(["--out", str(mine), "--preview", str(png)])
    assert mine.read_bytes() == USERS and not png.exists()
    _refused(capsys, code, "--out", mine)
    mine.unlink()
    shutil.copyfile(ROOT / "tests" / "golden" / "esp32-epd29" / "0001-100000-full.png", png)
    before = png.read_bytes()
    code = make_icons.main(["--out", str(mine), "--preview", str(png)])
    assert png.read_bytes() == before and not mine.exists()
    _refused(capsys, code, "--preview", png)
    png.unlink()
    assert make_icons.main(["--out", str(mine), "--preview", str(png)]) == 0
    assert make_icons.main(["--out", str(mine), "--preview", str(png)]) == 0  # its own: replaced
    assert sorted(os.listdir(tmp_path)) == ["icons.png", "icons.py"]


def test_demo_refuses_a_folder_it_did_not_write(tmp_path, monkeypatch, capsys):
    # (a guard, not a fix: replay's --out rule already covers make demo's folders)
    demo = _tool("demo")
    out = tmp_path / "demo"
    out.mkdir()
    mine = _users_file(out / "notes.txt")
    monkeypatch.setattr(demo, "RUNS", (("esp32-epd29", out, "e-paper"),))
    with pytest.raises(UserError, match="not an output of sunprint replay"):
        demo.main()
    assert os.listdir(out) == ["notes.txt"] and mine.read_bytes() == USERS


def test_demo_clears_only_its_own_unmarked_folders(tmp_path, monkeypatch, capsys):
    # build/demo written by a sunprint from before outputs were marked: replay refuses it
    # (only the marker proves what replay wrote), so the demo clears its own two folders
    demo = _tool("demo")
    monkeypatch.setattr(demo, "ROOT", tmp_path)
    log = tmp_path / "day.csv"
    log.write_text("# sunprint samplelog 1\ntimestamp,power_w\n1728921600,0.0\n1728921610,5.0\n")
    monkeypatch.setattr(demo, "DAY", log)
    own = tmp_path / "build" / "demo"
    (own / "frames").mkdir(parents=True)
    (own / "plot.png").write_bytes(b"an old demo's plot")
    (own / "frames" / "0001-000010-full.png").write_bytes(b"png")
    monkeypatch.setattr(demo, "RUNS", (("esp32-epd29", own, "e-paper"),))
    assert demo.main() == 0
    assert (own / outdir.MARKER).exists() and (
        own / "plot.png"
    ).read_bytes() != b"an old demo's plot"
    # any other unmarked folder, even with the same names, is replay's to refuse
    other = tmp_path / "build" / "demo2"
    (other / "frames").mkdir(parents=True)
    (other / "plot.png").write_bytes(b"mine")
    monkeypatch.setattr(demo, "RUNS", (("esp32-epd29", other, "e-paper"),))
    with pytest.raises(UserError, match="not an output of sunprint replay"):
        demo.main()
    assert (other / "plot.png").read_bytes() == b"mine"

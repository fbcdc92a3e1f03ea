"""`sunprint replay` end to end on the bundled day, and every kind of bad input. The day is a
10 kWp plant: it is replayed fitted into esp32-epd29's sensor range (tools/fit_log.py), as replay
books what the unit would, through the profile's health (800 W at most)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from host_tools.cli import main
from host_tools.paths import LOGS, ROOT, use_firmware

sys.path.insert(0, str(ROOT / "tools"))
from fit_log import fit_log  # noqa: E402

DAY = LOGS / "zhongshan-2024-10-15.csv"


def independent_kwh(path):
    """Trapezoid integral of the log with numpy, knowing nothing of the firmware."""
    rows = [ln for ln in path.read_text().splitlines() if ln and ln[0].isdigit()]
    data = np.array([[float(v) for v in ln.split(",")] for ln in rows])
    t, p = data[:, 0], np.clip(data[:, 1], 0, None)
    return float(np.sum((p[1:] + p[:-1]) / 2 * np.diff(t))) / 3.6e6


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    return fit_log(DAY, tmp_path_factory.mktemp("log") / "day.csv", "esp32-epd29")


@pytest.fixture(scope="module")
def day_run(tmp_path_factory, day):
    out = tmp_path_factory.mktemp("replay") / "day"
    assert main(["replay", str(day), "--board", "esp32-epd29", "--out", str(out)]) == 0
    return out, json.loads((out / "summary.json").read_text())


def test_energy_equals_an_independent_integral(day_run, day):
    _, summary = day_run
    expected = independent_kwh(day)
    got = summary["energy"]["lifetime_kwh"]
    assert abs(got - expected) / expected < 0.001, (got, expected)
    assert summary["samples"] == 8640
    assert summary["energy"]["missing_s"] == 0


def test_co2_uses_the_sourced_factor(day_run):
    _, summary = day_run
    kwh = summary["energy"]["lifetime_kwh"]
    assert summary["carbon"]["factor_kg_per_kwh"] == 0.5306
    assert "MEE" in summary["carbon"]["source"]
    assert abs(summary["carbon"]["co2_kg"] - kwh * 0.5306) < 0.002


def test_frames_are_written_for_each_refresh(day_run):
    out, summary = day_run
    frames = summary["display"]["frames"]
    # One refresh at most every 5 minutes, only when a value changed: daylight only.
    assert 50 < len(frames) <= 288
    for frame in frames:
        img = Image.open(out / frame["file"])
        assert img.size == (296, 128)
    assert (out / "last-frame.png").exists()
    assert summary["faults"] == {}


def expected_picture(values, screen, lang):
    """Screen `screen` in `lang` drawn for values by the firmware renderer into a fresh
    landscape buffer, with the fonts the panel size uses."""
    use_firmware()
    import framebuf

    from sunprint.ui.font import BitmapFont
    from sunprint.ui.layout import fonts_for, screen_for
    from sunprint.ui.render import Renderer

    buf = bytearray(296 * 128 // 8)
    fb = framebuf.FrameBuffer(buf, 296, 128, framebuf.MONO_HLSB)
    files = fonts_for(296, 128)
    opened = {role: open(ROOT / "assets" / "fonts" / name, "rb") for role, name in files.items()}
    try:
        fonts = {role: BitmapFont(f) for role, f in opened.items()}
        renderer = Renderer(fb, buf, 296, 128, fonts, screen_for(296, 128), lang)
        renderer.show(screen, lang)
        renderer.render(values)
    finally:
        for f in opened.values():
            f.close()
    # Pillow mode '1' is MSB first with 1 = white; the firmware's 1 is ink.
    return Image.frombytes("1", (296, 128), bytes(b ^ 0xFF for b in buf))


def test_last_frame_shows_the_independent_totals(day_run, day):
    use_firmware()
    from sunprint.app import App
    from sunprint.core import carbon
    from sunprint.core.ledger import Ledger
    from sunprint.sources import PowerSource
    from sunprint.ui.layout import format_energy_wh, format_mass_g, format_power, format_trees
    from sunprint.ui.refresh import always_full

    class Frame:  # the app's renderer, never drawn with: only its texts are used
        fb_buffer = bytearray(8)

    out, summary = day_run
    kwh = independent_kwh(day)
    # Texts that don't depend on energy (factor, source, notes) from a fresh app; every number
    # from the independent integral.
    row = carbon.factor()
    fresh = App(
        source=PowerSource(None),
        panel=None,
        renderer=Frame(),
        ledger=Ledger(),
        carbon_row=row,
        plan=always_full(),
    )
    values = fresh.carbon_values()
    co2_g = int(kwh * 530.6)
    values.update(
        {
            "power_w": format_power(0),  # the last refresh is after sunset
            "today_kwh": format_energy_wh(kwh * 1000),
            "lifetime_kwh": format_energy_wh(kwh * 1000),
            "co2_kg": format_mass_g(co2_g),
            "coal_kg": format_mass_g(int(kwh * 305.5)),
            "trees": format_trees(co2_g * 10 // 18300),
        }
    )
    assert values["today_kwh"] == ("3.25", "kWh")  # 49.006 kWh x 0.0662 (fit_log.py)
    last = summary["display"]["frames"][-1]
    shown = Image.open(out / "last-frame.png").convert("1")
    expected = expected_picture(values, last["screen"], last["lang"])
    assert shown.tobytes() == expected.tobytes(), (last["screen"], last["lang"])


def test_every_screen_and_language_was_shown(day_run):
    _, summary = day_run
    seen = {(f["screen"], f["lang"]) for f in summary["display"]["frames"]}
    assert seen == {(s, lang) for s in ("main", "total", "carbon") for lang in ("zh", "en")}
    kinds = summary["display"]["by_kind"]
    assert 1 <= kinds["full"] <= 24 and kinds["partial"] > kinds["full"]


def test_fast_panel_image_equals_the_models_reference():
    import random

    from host_tools.boards import load_board
    from host_tools.paths import FONTS
    from host_tools.replay import panel_image
    from host_tools.replay_core import Replay

    core = Replay(load_board("esp32-epd29"), str(FONTS))  # the unit as replay builds it
    unit = core.unit
    model = core.rig.models["display"]
    rng = random.Random(5)
    unit.buffer[:] = bytes(rng.getrandbits(8) for _ in range(len(unit.buffer)))
    unit.panel.show(unit.buffer)
    reference = bytes(model.landscape_mono_hlsb())
    assert panel_image(model).tobytes() == reference
    unit.close()


def _replay_error(tmp_path, text_or_path, capsys):
    if isinstance(text_or_path, str):
        log = tmp_path / "bad.csv"
        log.write_text(text_or_path)
    else:
        log = text_or_path
    out = tmp_path / "out"
    code = main(["replay", str(log), "--board", "esp32-epd29", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert len(err.splitlines()) == 1, err
    return err


GOOD_HEAD = "# sunprint samplelog 1\ntimestamp,power_w\n1728921600,0.0\n1728921610,5.0\n"


def test_missing_file(tmp_path, capsys):
    err = _replay_error(tmp_path, tmp_path / "nope.csv", capsys)
    assert "nope.csv: no such file" in err


def test_wrong_header(tmp_path, capsys):
    err = _replay_error(tmp_path, "# sunprint samplelog 1\ntime,watts\n1,2\n", capsys)
    assert "bad.csv:2:" in err and "header" in err


def test_non_numeric_value(tmp_path, capsys):
    err = _replay_error(tmp_path, GOOD_HEAD + "1728921620,12,5\n1728921630,abc\n", capsys)
    assert "bad.csv:5:" in err
    err = _replay_error(tmp_path, GOOD_HEAD + "1728921620,abc\n", capsys)
    assert "bad.csv:5:" in err and "abc" in err


def test_timestamps_going_backwards(tmp_path, capsys):
    err = _replay_error(tmp_path, GOOD_HEAD + "1728921605,1.0\n", capsys)
    assert "bad.csv:5:" in err and "not after" in err


def test_truncated_last_line(tmp_path, capsys):
    err = _replay_error(tmp_path, GOOD_HEAD + "1728921620,1", capsys)
    assert "bad.csv:5:" in err and "truncated" in err


def test_unknown_board(tmp_path, capsys):
    log = tmp_path / "ok.csv"
    log.write_text(GOOD_HEAD)
    out = tmp_path / "out"
    code = main(["replay", str(log), "--board", "esp32-nope", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "esp32-nope" in capsys.readouterr().err


def test_an_error_leaves_an_existing_out_untouched(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier run")
    log = tmp_path / "bad.csv"
    log.write_text(GOOD_HEAD + "oops\n")
    assert main(["replay", str(log), "--board", "esp32-epd29", "--out", str(out)]) == 2
    assert (out / "keep.txt").read_text() == "earlier run"
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_console_command_is_installed():
    exe = ROOT / ".venv" / "bin" / "sunprint"
    proc = subprocess.run([str(exe), "replay", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--board" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "host_tools.cli"], capture_output=True, text=True)
    assert proc.returncode == 2


def test_summary_has_coal_trees_store_and_the_carbon_screen(day_run):
    out, summary = day_run
    kwh = summary["energy"]["lifetime_kwh"]
    assert abs(summary["carbon"]["coal_kg"] - kwh * 0.3055) < 0.002
    assert summary["carbon"]["trees"] == round(summary["carbon"]["co2_kg"] / 18.3 - 0.05, 1)
    assert 0 < summary["store"]["writes"] <= 144
    assert Image.open(out / "carbon-screen.png").size == (296, 128)


@pytest.mark.parametrize("board", ["esp32-ws2812-ina219", "esp32-max7219-s0"])
def test_accounting_only_runs_on_led_boards(tmp_path, board):
    # --accounting-only builds the unit with a stand-in 32x8 MAX7219 display: the rig must
    # wire that one (a WS2812 board's rig had no SPI bus for it: OSError "SPI(2): nothing wired")
    log = tmp_path / "log.csv"
    log.write_text(GOOD_HEAD)
    out = tmp_path / "out"
    code = main(["replay", str(log), "--board", board, "--out", str(out), "--accounting-only"])
    assert code == 0
    assert json.loads((out / "summary.json").read_text())["log_rows"]["rows"] == 2

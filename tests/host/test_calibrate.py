"""`sunprint calibrate` end to end on the virtual board (esp32-epd29-ina226: an INA226 model
whose true power the test sets), with mpremote's transport underneath.

What is checked comes from the board itself: /calib.json on its flash folder, the readings its
INA226 model gives at the power the test set, and the calibration the app applies after it
restarts (the running app's own calib object)."""

import json

import pytest
from vboard_rig import deployed_flash, powered_board

from host_tools import calibrate
from host_tools.cli import main as cli_main
from host_tools.link import open_link
from host_tools.paths import use_firmware

TRUE_W = 200.0


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """A flash folder with the app deployed, copied for each test."""
    return deployed_flash(tmp_path_factory, "calib-flash")


@pytest.fixture
def board(tmp_path, deployed):
    with powered_board(tmp_path, deployed, TRUE_W) as vb:
        yield vb


def calib_json(vb):
    return json.loads((vb.flash_dir / "calib.json").read_text())


def applied_calib(vb):
    """(gain, offset in mW) of the calibration the running app applies, after a power-on
    boot: the unit's own Linear object, read through the REPL."""
    for wait_s in (0.5, 1, 2, 4, 8):
        vb.reset(hard=True)
        # boot.py runs first, briefly: wait for main.py (the app), then let it run wait_s
        assert vb.wait_booted(timeout=20, settle_s=wait_s) and vb.running_what == "main.py"
        with open_link(vb.port, soft_reset=False, timeout=10) as link:
            out = link.exec(
                "import sunprint.status as _s\nr = _s.registered()\n"
                "c = r[0].source.calib if r else 0\n"
                "print(repr((c.gain, c.offset) if c else (None, None)) if r else 'none')"
            )
        text = out.decode().strip()
        if text != "none":
            return eval(text)  # a tuple literal from the unit
    raise AssertionError("the app never registered")


def test_points_are_fitted_written_read_back_and_applied_at_boot(board, capsys):
    code = cli_main(
        [
            "calibrate",
            "--port",
            board.port,
            "--channel",
            "pv_power",
            "--points",
            "100=102,300=306,500=510.5",
            "--instrument",
            "Fluke 345 #1234",
            "--who",
            "Ann",
            "--notes",
            "site A, string 2",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "residual" in out and "0.0833" in out and "-0.1667" in out  # (ref - fit) per point
    entry = calib_json(board)["channels"]["pv_power"]["current"]
    assert entry["who"] == "Ann" and entry["instrument"] == "Fluke 345 #1234"
    assert entry["notes"] == "site A, string 2" and entry["when"].endswith("Z")
    assert entry["gain"] == pytest.approx(1.02125) and entry["offset_w"] == pytest.approx(
        -0.625 / 3
    )
    assert entry["points"] == [[100, 102], [300, 306], [500, 510.5]]
    assert entry["residuals_w"] == pytest.approx([1 / 12, -1 / 6, 1 / 12])
    assert calib_json(board)["channels"]["pv_power"]["history"] == []
    # The check line: the unit's raw reading of the model (200 W, INA226-quantised) through
    # the new line.
    check = [ln for ln in out.splitlines() if ln.startswith("check:")][0]
    raw = float(check.split("raw ")[1].split(" W")[0])
    value = float(check.split("-> ")[1].split(" W")[0])
    assert raw == pytest.approx(TRUE_W, abs=0.1)
    assert value == pytest.approx(1.02125 * raw - 0.625 / 3, abs=0.002)
    # After a reboot the app applies calib.json over the profile (which has no calib).
    gain, offset_mw = applied_calib(board)
    assert gain == pytest.approx(1.02125) and offset_mw == pytest.approx(-625 / 3)


def test_history_is_kept_and_rollback_restores_the_previous_entry(board, capsys):
    first = calibrate.calibrate(
        board.port, "pv_power", [(100, 102), (300, 306)], who="a", say=lambda t: None
    )["entry"]
    second = calibrate.calibrate(
        board.port, "pv_power", [(100, 99), (300, 297)], who="b", say=lambda t: None
    )["entry"]
    section = calib_json(board)["channels"]["pv_power"]
    assert section["current"]["who"] == "b" and [e["who"] for e in section["history"]] == ["a"]
    assert calibrate.same_entry(section["current"], second)
    code = cli_main(["calibrate", "--port", board.port, "--channel", "pv_power", "--rollback"])
    out = capsys.readouterr().out
    assert code == 0 and "rolled back" in out
    section = calib_json(board)["channels"]["pv_power"]
    assert calibrate.same_entry(section["current"], first) and section["history"] == []
    gain, _ = applied_calib(board)
    assert gain == pytest.approx(1.02)
    cli_main(["calibrate", "--port", board.port, "--channel", "pv_power", "--rollback"])
    assert calib_json(board)["channels"]["pv_power"]["current"] is None
    assert applied_calib(board) == (None, None)  # back to the profile: no calibration
    capsys.readouterr()
    code = cli_main(["calibrate", "--port", board.port, "--channel", "pv_power", "--rollback"])
    err = capsys.readouterr().err
    assert code == 2 and "no calibration to roll back" in err and err.count("\n") == 1


def test_readings_taken_at_the_prompt_are_paired_with_typed_references(board, monkeypatch):
    links = []
    real_open = calibrate.open_link

    def spy(*a, **kw):
        links.append(real_open(*a, **kw))
        return links[-1]

    monkeypatch.setattr(calibrate, "open_link", spy)
    # The installer sets a load, presses Enter, reads the reference instrument, types it.
    script = iter([("load", 100.0), "", "103", ("load", 400.0), "", "410", "done"])
    prompts = []

    def ask(prompt):
        prompts.append(prompt)
        step = next(script)
        while isinstance(step, tuple):
            links[-1].exec("__rig__.set_power(%r)" % step[1])  # the load the sun gives
            step = next(script)
        return step

    s = calibrate.calibrate(board.port, "pv_power", ask=ask, say=lambda t: None, restart=False)
    raws = [p[0] for p in s["entry"]["points"]]
    assert raws == pytest.approx([100.0, 400.0], abs=0.1)  # what the INA226 model measured
    assert [p[1] for p in s["entry"]["points"]] == [103.0, 410.0]
    assert s["entry"]["gain"] == pytest.approx((410 - 103) / (raws[1] - raws[0]))
    assert any("reference" in p for p in prompts)
    assert calibrate.same_entry(calib_json(board)["channels"]["pv_power"]["current"], s["entry"])


@pytest.mark.parametrize(
    "points, message",
    [
        ("100=abc", "item 1 '100=abc' is not raw=reference"),
        ("100=101,300", "item 2 '300' is not raw=reference"),
        ("100=101", "at least 2 points"),
        ("100=101,100=102", "gain is undetermined"),
        ("100=nan,200=201", "not a finite number"),
    ],
)
def test_bad_points_are_one_line_errors_before_the_unit_is_touched(points, message, capsys):
    code = cli_main(
        ["calibrate", "--port", "/dev/none", "--channel", "pv_power", "--points", points]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_an_unknown_channel_is_a_one_line_error(board, capsys):
    code = cli_main(
        ["calibrate", "--port", board.port, "--channel", "pv_temp", "--points", "1=1,2=2"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "unknown channel 'pv_temp'" in err and "pv_power" in err
    assert err.count("\n") == 1
    assert not (board.flash_dir / "calib.json").exists()


def test_main_overlays_calib_json_on_the_profile():
    use_firmware()
    import main

    profile = {"sensors": [{"role": "pv_power", "calib": {"gain": 1.0, "offset_w": 0.0}}]}
    doc = {"channels": {"pv_power": {"current": {"gain": 1.1, "offset_w": -2}, "history": []}}}
    assert main.overlay_calib(profile, json.dumps(doc)) is None
    assert profile["sensors"][0]["calib"] == {"gain": 1.1, "offset_w": -2.0}
    doc["channels"]["pv_power"]["current"] = None  # rolled back to nothing: the profile's
    profile = {"sensors": [{"role": "pv_power", "calib": {"gain": 1.0, "offset_w": 0.0}}]}
    assert main.overlay_calib(profile, json.dumps(doc)) is None
    assert profile["sensors"][0]["calib"] == {"gain": 1.0, "offset_w": 0.0}
    fault = main.overlay_calib(profile, "{not json")
    assert fault.startswith("calib.json:") and profile["sensors"][0]["calib"]["gain"] == 1.0
    fault = main.overlay_calib(profile, json.dumps({"channels": {"pv_power": {"current": {}}}}))
    assert fault is None  # an empty entry is no entry
    fault = main.overlay_calib(
        profile, json.dumps({"channels": {"pv_power": {"current": {"offset_w": 1}}}})
    )
    assert fault and "gain" in fault and profile["sensors"][0]["calib"]["gain"] == 1.0


@pytest.mark.parametrize(
    "points, reason",
    [
        ("100=100,100.0000000001=200", "gain"),  # gain 1e12
        ("0=0,1=1e300", "gain"),  # gain 1e300
        ("100=200,200=100", "gain"),  # the line falls: more power reads as less
        ("100=100,200=200,300=100000", "residual"),  # residual RMS 23,500 W
    ],
)
def test_an_absurd_fit_is_refused_with_its_residuals_unless_forced(board, capsys, points, reason):
    argv = ["calibrate", "--port", board.port, "--channel", "pv_power", "--points", points]
    code = cli_main(argv + ["--no-restart"])
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, captured.out + err
    assert len(err.splitlines()) == 1 and reason in err and "--force" in err, err
    assert "residual" in captured.out  # the table of residuals is shown all the same
    assert not (board.flash_dir / "calib.json").exists()
    code = cli_main(argv + ["--no-restart", "--force"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "residual" in captured.out and "forced" in captured.out
    # the check: line stays short (gain 1e300 printed a 300-digit wattage)
    check = [ln for ln in captured.out.splitlines() if ln.startswith("check: ")]
    assert len(check) == 1 and len(check[0]) < 100, check[0][:300]
    entry = calib_json(board)["channels"]["pv_power"]["current"]
    assert entry["forced"] and reason in " ".join(entry["forced"])


def test_a_fit_that_overflows_is_bad_input(capsys):
    # finite points whose line is not: the gain overflows to infinity
    code = cli_main(
        [
            "calibrate",
            "--port",
            "/dev/none",
            "--channel",
            "pv_power",
            "--points",
            "0=0,1e-150=1e200",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "finite" in err and err.count("\n") == 1, err


def test_the_gain_range_depends_on_the_sensor_type():
    # 30 % off: a shunt's value may be (INA226), a class 1 meter's reading may not
    result = calibrate.fit([(100, 130), (200, 260)])
    assert calibrate.absurd(result, [(100, 130), (200, 260)], "ina226", 800) == []
    reasons = calibrate.absurd(result, [(100, 130), (200, 260)], "ddsu666", 12000)
    assert len(reasons) == 1 and "outside 0.8..1.25 for a ddsu666 sensor" in reasons[0]


def test_the_host_tools_one_capper_keeps_any_value_short():
    from host_tools.errors import shown

    assert shown("site") == "'site'"
    assert len(shown("k" * 10**6)) == 60 and shown("k" * 10**6).endswith("...")
    assert len(shown(10**300)) == 60 and shown({"gain": 1e300}) == "{'gain': 1e+300}"
    assert (
        calibrate._reading_text(
            {"raw_w": 199.981, "value_w": 1.99981e302, "calib": {"from": "calib.json"}}
        )
        == "raw 199.981 W -> 1.99981e+302 W calibrated (calib.json)"
    )

"""`sunprint replay --config`: the replayed unit is built by the unit's own rule
(core.config.unit_settings, as firmware/main.py), so every key of config.json does in replay
what it does on the unit, and the two cannot disagree."""

import io
import json

import pytest

from host_tools.cli import main
from host_tools.paths import BOARDS, FONTS, LOGS, use_firmware

use_firmware()

DAY = LOGS / "zhongshan-2024-10-15.csv"
CHANGED = {
    "version": 3,
    "tz_offset_min": 60,
    "carbon_region": "US",
    "carbon_year": 2023,
    "coal_gce_per_kwh": 400,
    "tree_kg_co2_per_year": 20,
    "persist_interval_s": 900,
    "persist_wh": 50,
    "max_gap_s": 100,
    "sample_period_s": 30,
    "screen_period_s": 60,
    "language": "en",
}


class _Record:
    data = None

    def read(self):
        return self.data

    def write(self, data):
        self.data = bytes(data)


def _what_it_runs(unit):
    app, ledger = unit.app, unit.ledger
    return {
        "tz_offset_s": ledger.tz_offset_s,
        "carbon_row": tuple(app.carbon_row),
        "co2_dg_per_kwh": ledger.co2_dg_per_kwh,
        "coal_dg_per_kwh": ledger.coal_dg_per_kwh,
        "tree_dg_co2_per_year": app.tree_dg_co2_per_year,
        "max_gap_s": ledger.max_gap_s,
        "sample_period_s": app.sample_period_s,
        "screen_period_s": app.screen_period_s,
        "langs": unit.rotation.langs,
        "persist": (app.policy.persist_interval_s, app.policy.persist_wh),
        "plan_tz": unit.plan.tz_offset_s,
    }


def _boot_main(profile_path, config_text):
    """firmware/main.py's unit for the profile with config_text as /config.json."""
    import main as unit_main

    from host_tools.sim import rig as rigmod
    from host_tools.sim.platform import machine as fake
    from host_tools.sim.platform.faultfs import FaultFS
    from sunprint import status

    status.register(None, "")
    profile = json.loads(profile_path.read_text())
    rig = rigmod.wire(profile, rigmod.Clock(0), fake)

    def open_file(path, mode="r"):
        if path == "/config.json":
            return io.StringIO(config_text)
        return open(path, mode)

    runner = unit_main.main(
        fake,
        fs=FaultFS(),
        open_file=open_file,
        board_path=str(profile_path),
        fonts_dir=str(FONTS),
        neopixel=rig.neopixel,
        esp32=rig.esp32,
        boot_record=_Record(),
        sleep_ms=lambda ms: None,
        run=False,
    )
    return runner.unit


# a community board is replayed from its community log (sunprint community replay), not here
SAMPLE_LOG_BOARDS = sorted(
    p.stem for p in BOARDS.glob("*.json") if "community" not in json.loads(p.read_text())
)


@pytest.mark.parametrize("board", SAMPLE_LOG_BOARDS)
@pytest.mark.parametrize("changed", [False, True], ids=["defaults", "changed"])
def test_replay_builds_the_unit_main_builds(board, changed):
    from host_tools.replay_core import Replay
    from sunprint.core import config as config_mod

    text = json.dumps(CHANGED if changed else {"version": 3})
    path = BOARDS / (board + ".json")
    on_unit = _what_it_runs(_boot_main(path, text))
    core = Replay(json.loads(path.read_text()), str(FONTS), config=config_mod.parse(text))
    assert _what_it_runs(core.unit) == on_unit
    if changed:
        assert on_unit["sample_period_s"] == 30 and on_unit["max_gap_s"] == 100
        assert on_unit["coal_dg_per_kwh"] == 4000 and on_unit["tz_offset_s"] == 3600
    core.unit.close()


def test_replay_books_coal_trees_and_carbon_as_the_config_says(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {
                "version": 3,
                "carbon_region": "US",
                "carbon_year": 2023,
                "coal_gce_per_kwh": 400,
                "tree_kg_co2_per_year": 20,
            }
        )
    )
    out = tmp_path / "out"
    # esp32-epd42-dlt645: its meter takes the whole 10 kWp day (the INA226 of esp32-epd29 caps it)
    args = ["replay", str(DAY), "--board", "esp32-epd42-dlt645", "--out", str(out)]
    assert main([*args, "--config", str(cfg), "--accounting-only"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    kwh, carbon = summary["energy"]["lifetime_kwh"], summary["carbon"]
    assert abs(kwh - 49.006) < 0.01, kwh  # the bundled day, as with the defaults
    assert carbon["factor_kg_per_kwh"] == 0.367 and carbon["region"] == "US"
    assert abs(carbon["co2_kg"] - kwh * 0.367) < 0.002, carbon
    assert abs(carbon["coal_kg"] - kwh * 0.4) < 0.002, carbon
    assert carbon["trees"] == int(carbon["co2_kg"] * 1000 * 100 // 200000) / 10, carbon
    assert carbon["coal_source"] == "config.json coal_gce_per_kwh: 400.0 gce/kWh", carbon
    assert "20.0 kg" in carbon["trees_note"], carbon


def test_replay_samples_as_often_as_the_config_says(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"version": 3, "sample_period_s": 60, "max_gap_s": 300}))
    out = tmp_path / "out"
    args = ["replay", str(DAY), "--board", "esp32-epd29", "--out", str(out)]
    assert main([*args, "--config", str(cfg), "--accounting-only"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples"] == 8640 // 6, summary["samples"]  # a row in six


def test_a_settings_fault_is_a_warning_on_stderr_and_in_the_summary(tmp_path, capsys):
    # max_gap_s 10 on a board that samples every 10 s: the unit raises it to 20, with a fault
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"version": 3, "max_gap_s": 10}))
    log = tmp_path / "log.csv"
    log.write_text(
        "timestamp,power_w\n" + "".join("%d,500.0\n" % (1728950400 + 10 * i) for i in range(30))
    )
    out = tmp_path / "out"
    argv = ["replay", str(log), "--board", "esp32-epd29", "--out", str(out), "--no-progress"]
    code = main(argv + ["--accounting-only", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if "warning" in ln and "max_gap_s" in ln]
    assert len(lines) == 1 and str(config) in lines[0] and "20 used" in lines[0], err
    summary = json.loads((out / "summary.json").read_text())
    assert any("max_gap_s" in w for w in summary["warnings"]), summary["warnings"]

"""`make demo`: replay the bundled Zhongshan day (a 10 kWp plant) on an e-paper board and on an
LED board whose sensors can measure it, and print where to look.

    build/demo/            the 4.2" e-paper sign with a DL/T 645 meter (esp32-epd42-dlt645):
                           frames, GIF, plot, summary
    build/demo-led/        the MAX7219 LED sign with an S0 meter (esp32-max7219-s0): the same

    (then how to watch a unit publish over MQTT, with the commands for a broker on 127.0.0.1:1883
    when one answers there)

    build/demo-week/       the bundled week with an outage, in its clock-lost variant (the
                           outage also loses the unit's time), on the DL/T 645 board: the
                           ledger and the days only (summary.json); then the same with the
                           meter's clock as the unit's time source (not kept)

Replay books what the unit would, through the profile's health: the 2.9" board's INA226
(esp32-epd29) caps readings at 800 W, so there the day is almost all "out of range". Each run's
report says which clock source the unit used.
"""

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from host_tools import outdir  # noqa: E402
from host_tools.errors import UserError  # noqa: E402
from host_tools.replay import replay  # noqa: E402

DAY = ROOT / "assets" / "logs" / "zhongshan-2024-10-15.csv"
RUNS = (
    ("esp32-epd42-dlt645", ROOT / "build" / "demo", '4.2" e-paper'),
    ("esp32-max7219-s0", ROOT / "build" / "demo-led", "MAX7219 LED chain"),
)
WEEK = ROOT / "assets" / "logs" / "zhongshan-2024-05-06-week-outage.csv"
CLOCK_LOST = ROOT / "assets" / "logs" / "zhongshan-2024-05-06-week-outage-clock-lost.json"
WEEK_BOARD = "esp32-epd42-dlt645"
WEEK_PROFILE = ROOT / "boards" / (WEEK_BOARD + ".json")


def _own_folders():
    # the only paths the demo owns: inside the repository's gitignored build/ folder
    return (ROOT / "build" / "demo", ROOT / "build" / "demo-led", ROOT / "build" / "demo-week")


def clock_line(summary):
    """Which clock source the unit used, and what the periods owe to it (one line)."""
    c = summary["clock"]
    sources = ", ".join(c["sources"]) or "none"
    lost = [f for f in summary["faults_injected"] if f["kind"] in ("rtc_lost", "ntp_late")]
    lost += [f for f in summary["faults_injected"] if f["kind"] == "meter_clock"]
    if c["source_used"]:
        used = "%s gave the time back after a cut that lost it" % c["source_used"]
    elif not lost:
        used = "none needed: the RTC as deploy set it, never lost"
    else:
        used = "none had the time after the cut"
    line = "  clock: sources on this board: %s; used: %s" % (sources, used)
    if lost or c["held_wh"] or c["unattributed_wh"]:
        line += (
            "; %.1f kWh held for the periods (date unknown at the end: %s), %.1f kWh "
            "unattributed, %.0f Wh booked to a wrong day"
            % (
                c["held_wh"] / 1000,
                "no" if c["date_known_at_end"] else "yes",
                c["unattributed_wh"] / 1000,
                summary["wrong_day_wh"],
            )
        )
    return line


def clear_unmarked(out):
    """Remove `out` when it is one of the demo's own folders (build/demo, build/demo-led) and
    carries no replay marker: an older sunprint wrote it before outputs were marked, and
    replay (rightly) refuses any unmarked folder. The demo is a developer tool that owns
    those two folders inside the gitignored build/; it never clears any other path (a path a
    user named is replay's to refuse). True when it removed something."""
    if out not in _own_folders() or out.is_symlink() or not out.is_dir():
        return False
    if out.resolve() != out or (out / outdir.MARKER).exists():
        return False  # reached through a link, or marked: replay's rule decides
    shutil.rmtree(out)
    return True


def main():
    print("sunprint demo: %s (one day at 10 s, Zhongshan, 10 kWp)" % DAY.relative_to(ROOT))
    for board, out, what in RUNS:
        if clear_unmarked(out):
            print("(cleared %s: written by an older sunprint, without a marker)" % out)
        summary = replay(DAY, board, out, progress=None)
        energy, co2, display = summary["energy"], summary["carbon"], summary["display"]
        rel = out.relative_to(ROOT)
        print()
        print(
            "%s (%s): %.3f kWh, %.2f kg CO2 avoided, %.2f kg coal saved, %d frames (%s)"
            % (
                what,
                board,
                energy["lifetime_kwh"],
                co2["co2_kg"],
                co2["coal_kg"],
                display["refreshes"],
                ", ".join("%d %s" % (n, k) for k, n in display["by_kind"].items() if n),
            )
        )
        for name, label in (
            ("frames", "every frame the sign shows"),
            ("last-frame.png", "the sign at the end of the day"),
            ("carbon-screen.png", "the carbon screen: factor and source, coal, trees"),
            ("animation.gif", "the day as an animation"),
            ("contact-sheet.png", "the day's frames on one page"),
            ("plot.png", "power and energy with refresh and fault events"),
            ("summary.json", "the numbers"),
        ):
            if (out / name).exists():
                print("  %-40s %s" % ("%s/%s" % (rel, name), label))
        print(clock_line(summary))
    week(ROOT / "build" / "demo-week")
    mqtt_hint()
    return 0


MQTT_BROKER = ("127.0.0.1", 1883)


def mqtt_hint():
    """How to watch a unit publish over MQTT (docs/mqtt.md): with the commands for the broker
    running on this machine, or how to start one. The demo itself publishes nothing."""
    import socket

    host, port = MQTT_BROKER
    try:
        socket.create_connection(MQTT_BROKER, timeout=0.3).close()
        running = True
    except OSError:
        running = False
    print()
    if running:
        print("a broker answers on %s:%d: watch a unit publish to it (docs/mqtt.md):" % MQTT_BROKER)
    else:
        print(
            "to watch a unit publish over MQTT (docs/mqtt.md), start a broker (mosquitto -p %d),"
            % port
        )
        print("then:")
    board, _out, _what = RUNS[0]
    print("  mosquitto_sub -h %s -p %d -t 'sunprint/#' -t 'homeassistant/#' -v" % MQTT_BROKER)
    print(
        "  sunprint replay %s --board %s --out build/demo-mqtt --mqtt %s:%d"
        % (DAY.relative_to(ROOT), board, host, port)
    )
    print(
        "  sunprint sim board --flash DIR --firmware unit --board %s --mqtt %s:%d  (a unit whose"
        % (board, host, port)
    )
    print("    config.json names a broker: the simulated site routes its mqtt_host there)")


def week(out):
    """The bundled week with an outage, its clock-lost variant, ledger and days only."""
    if clear_unmarked(out):
        print("(cleared %s: written by an older sunprint, without a marker)" % out)
    summary = replay(
        WEEK,
        WEEK_BOARD,
        out,
        progress=None,
        scenario=CLOCK_LOST,
        accounting_only=True,
    )
    print()
    print(
        "the week with an outage that lost the clock (%s) on %s: %.3f kWh"
        % (CLOCK_LOST.name, WEEK_BOARD, summary["energy"]["lifetime_kwh"])
    )
    for d in summary["days"]:
        print(
            "  %s  booked %8.3f kWh   log %8.3f kWh"
            % (d["date"], d["booked_wh"] / 1000, d["log_wh"] / 1000)
        )
    print(clock_line(summary))
    print("  %-40s %s" % ("%s/summary.json" % out.relative_to(ROOT), "the numbers"))
    # the same board with its meter's clock as the time source ("clock" in its profile)
    import json
    import tempfile

    profile = json.loads(WEEK_PROFILE.read_text(encoding="utf-8"))
    profile["clock"] = {"sources": ["meter"]}
    with tempfile.TemporaryDirectory() as tmp:
        board = Path(tmp) / (WEEK_BOARD + "-meter-clock.json")
        board.write_text(json.dumps(profile), encoding="utf-8")
        summary = replay(
            WEEK,
            str(board),
            Path(tmp) / "out",
            progress=None,
            scenario=CLOCK_LOST,
            accounting_only=True,
        )
    print("the same with the meter's clock as the unit's time source:")
    print(clock_line(summary))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as e:
        print("demo: error: %s" % e, file=sys.stderr)
        sys.exit(2)

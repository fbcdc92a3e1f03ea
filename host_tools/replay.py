"""`sunprint replay`: run the firmware's app over a recorded log, as fast as the CPU allows.

The very code the device runs (sunprint.app with its ledger, carbon, screen and the SSD1680
driver) is driven with the log's timestamps; two things are swapped: the power source is the
log, and the panel is the SSD1680 controller model, which decodes the driver's SPI stream into
the picture the panel would show. Each refresh becomes a PNG; the run ends with summary.json.

Outputs appear atomically: everything is written into a temporary folder beside --out, which
replaces --out only when the run has succeeded.
"""

import hashlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from host_tools.boards import load_board
from host_tools.errors import UserError
from host_tools.paths import FONTS, use_firmware


class LogSource:
    """The power sensor, replaced by the log: replay sets the reading (and the quality flag the
    device recorded with it) before each tick. A flagged reading is not integrated."""

    def __init__(self):
        self.power_mw = 0
        self.flag = 0

    def sample(self, ledger, t, wall):
        ledger.add_power(t, self.power_mw, wall, self.flag == 0)
        return self.flag


def _no_wait(ms):
    pass  # replay time is the log's: waiting for the panel model costs nothing


class Unit:
    """One display unit built from a board profile, with the panel model behind its bus."""

    def __init__(self, board, tz_offset_s=8 * 3600):
        use_firmware()
        import framebuf

        from host_tools.sim.faultfs import FaultFS
        from host_tools.sim.ssd1680 import SSD1680Model
        from sunprint.app import App
        from sunprint.core import carbon
        from sunprint.core.ledger import Ledger
        from sunprint.drivers.ssd1680 import SSD1680
        from sunprint.store import FileBackend, PersistPolicy, Store
        from sunprint.ui.font import BitmapFont
        from sunprint.ui.layout import Rotation, fonts_for, screen_for
        from sunprint.ui.refresh import RefreshPlan
        from sunprint.ui.render import Renderer

        display = board["display"]
        width, height = display["width"], display["height"]
        layout = board.get("layout", {})
        self.model = SSD1680Model()
        m = self.model
        self.panel = SSD1680(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy, sleep=_no_wait)
        self.buffer = bytearray(self.panel.BUFFER_SIZE)
        fb = framebuf.FrameBuffer(self.buffer, width, height, self.panel.BUFFER_FORMAT)
        font_files = dict(fonts_for(width, height))
        font_files.update(layout.get("fonts", {}))  # a board may map roles to other files
        self._font_files = [open(FONTS / name, "rb") for name in font_files.values()]
        fonts = {role: BitmapFont(f) for role, f in zip(font_files, self._font_files, strict=True)}
        language = layout.get("language", "both")
        self.renderer = Renderer(
            fb, self.buffer, width, height, fonts, screen_for(width, height), language
        )
        self.rotation = Rotation(width, height, language, layout.get("screens"))
        self.source = LogSource()
        self.carbon_row = carbon.factor()
        self.ledger = Ledger(tz_offset_s=tz_offset_s, co2_dg_per_kwh=self.carbon_row[2])
        self.app = App(
            source=self.source,
            panel=self.panel,
            renderer=self.renderer,
            ledger=self.ledger,
            carbon_row=self.carbon_row,
            sample_period_s=layout.get("sample_period_s", 10),
            screen_period_s=layout.get("screen_period_s", 300),
            store=Store(FileBackend(FaultFS())),  # the flash, in memory
            policy=PersistPolicy(),
            plan=RefreshPlan(tz_offset_s=tz_offset_s),
            rotation=self.rotation,
            fmt=self.panel.BUFFER_FORMAT,
        )
        self.app.restore()
        self.panel.init()

    def close(self):
        for f in self._font_files:
            f.close()


_INVERT = bytes(range(255, -1, -1))  # byte -> byte ^ 0xFF


def panel_image(model):
    """The picture on the panel, landscape, as a Pillow mode '1' image (1 = white).

    The model keeps the glass natively (128 sources x 296 gates, 1 = black); Pillow rotates it
    in C. model.landscape_mono_hlsb() is the portable (slow) reference this must equal.
    """
    from PIL import Image

    native = Image.frombytes("1", (128, 296), bytes(model.shown).translate(_INVERT))
    return native.transpose(Image.Transpose.ROTATE_90)


def _frame_png(model, path):
    panel_image(model).save(path, optimize=True)


def _open_log(log_path):
    log_path = Path(log_path)
    if not log_path.exists():
        raise UserError("%s: no such file" % log_path)
    if not log_path.is_file():
        raise UserError("%s: not a file" % log_path)
    return log_path


def replay(log_path, board_name, out_dir, *, tz_offset_s=8 * 3600, progress=None, lenient=False):
    """Replay log_path on board board_name into out_dir; returns the summary dict.

    Raises UserError (with file:line for log faults) and leaves out_dir untouched on any error.
    """
    use_firmware()
    from sunprint.compat import EPOCH_2000_UNIX
    from sunprint.samplelog import ReadStats, SampleLogError, read_rows

    log_path = _open_log(log_path)
    board = load_board(board_name)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="." + out_dir.name + ".tmp-", dir=out_dir.parent))
    unit = None
    try:
        unit = Unit(board, tz_offset_s=tz_offset_s)
        frames_dir = tmp / "frames"
        frames_dir.mkdir()
        model, app, source = unit.model, unit.app, unit.source
        frames = []
        sent = unit.panel.bytes_sent
        started = time.perf_counter()
        first_t = last_t = None
        size = log_path.stat().st_size
        bar = _progress(size, progress)
        with open(log_path, encoding="utf-8", newline="") as f:
            seen = 0
            stats = ReadStats()
            for t_unix, power_w, _raw, flag in read_rows(
                f, str(log_path), lenient=lenient, stats=stats
            ):
                if first_t is None:
                    first_t = t_unix
                last_t = t_unix
                source.power_mw = int(round(power_w * 1000))
                source.flag = flag
                now = t_unix - EPOCH_2000_UNIX
                wake = app.tick(now)
                while wake <= now:  # the panel is refreshing: poll it at the same instant
                    wake = app.tick(now)
                if len(model.refreshes) != len(frames):
                    kind = model.refreshes[-1]
                    name = "%04d-%s-%s.png" % (
                        len(frames) + 1,
                        time.strftime("%H%M%S", time.gmtime(t_unix + tz_offset_s)),
                        kind,
                    )
                    _frame_png(model, frames_dir / name)
                    frames.append(
                        {
                            "file": "frames/" + name,
                            "t": t_unix,
                            "kind": kind,
                            "screen": unit.rotation.name,
                            "lang": unit.rotation.lang,
                            "bytes_sent": (unit.panel.bytes_sent - sent) % (1 << 30),
                        }
                    )
                    sent = unit.panel.bytes_sent
                seen += 1
                if bar is not None and seen % 500 == 0:
                    bar.update(f.tell() - bar.n)
        if bar is not None:
            bar.update(size - bar.n)
            bar.close()
        if first_t is None:
            raise UserError("%s: no samples after the header" % log_path)
        elapsed = time.perf_counter() - started
        summary = _summary(unit, log_path, board_name, first_t, last_t, frames, tz_offset_s)
        summary["run"] = {"seconds": round(elapsed, 3)}
        summary["log_rows"] = {
            "rows": stats.rows,
            "flagged": stats.flagged,
            "dropped_torn": stats.dropped,
        }
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        if frames:
            shutil.copyfile(tmp / frames[-1]["file"], tmp / "last-frame.png")
        _carbon_screen(unit, tmp / "carbon-screen.png")
        summary["screens"] = {"main": "last-frame.png", "carbon": "carbon-screen.png"}
        _replace_dir(tmp, out_dir)
        return summary
    except SampleLogError as e:
        raise UserError(str(e)) from None
    finally:
        if unit is not None:
            unit.close()
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _carbon_screen(unit, path):
    """The "carbon" screen at the end of the run, through the driver and the panel model."""
    from sunprint.ui.layout import screen_for

    renderer = unit.app.renderer
    main = renderer.screen
    renderer.screen = screen_for(renderer.width, renderer.height, "carbon")
    renderer.render(unit.app.carbon_values())
    renderer.screen = main
    unit.panel.show(unit.buffer)
    _frame_png(unit.model, path)


def _progress(total_bytes, progress):
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(total=total_bytes, unit="B", unit_scale=True, desc="replay", file=sys.stderr)


def _replace_dir(new, dest):
    if dest.exists():
        old = dest.with_name("." + dest.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        dest.rename(old)
        new.rename(dest)
        shutil.rmtree(old)
    else:
        new.rename(dest)


def _summary(unit, log_path, board_name, first_t, last_t, frames, tz_offset_s):
    from sunprint.core import carbon
    from sunprint.core.ledger import CO2, COAL, LIFETIME, TODAY, YESTERDAY

    ledger, app, row = unit.ledger, unit.app, unit.carbon_row
    co2_g = ledger.grams(CO2, LIFETIME)
    return {
        "log": str(log_path),
        "log_sha256": hashlib.sha256(log_path.read_bytes()).hexdigest(),
        "board": board_name,
        "first_timestamp": first_t,
        "last_timestamp": last_t,
        "tz_offset_s": tz_offset_s,
        "samples": ledger.samples,
        "energy": {
            "lifetime_kwh": ledger.mwh(LIFETIME) / 1e6,
            "lifetime_mwh": ledger.mwh(LIFETIME),
            "today_kwh": ledger.mwh(TODAY) / 1e6,
            "yesterday_kwh": ledger.mwh(YESTERDAY) / 1e6,
            "missing_s": ledger.missing_s,
        },
        "carbon": {
            "co2_kg": co2_g / 1000,
            "coal_kg": ledger.grams(COAL, LIFETIME) / 1000,
            "trees": carbon.tree_years(co2_g) / 10,
            "factor_kg_per_kwh": row[2] / 10000,
            "region": row[0],
            "year": row[1],
            "source": row[3],
            "coal_source": carbon.COAL_SOURCE,
            "trees_note": carbon.TREE_NOTE,
        },
        "display": {
            "refreshes": len(frames),
            "by_kind": {k: sum(1 for f in frames if f["kind"] == k) for k in ("full", "partial")},
            "frames": frames,
        },
        "store": {
            "writes": app.store.writes if app.store else 0,
            "boot_status": app.store_status,
        },
        "faults": dict(app.faults),
    }

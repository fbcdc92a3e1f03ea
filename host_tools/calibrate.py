"""`sunprint calibrate`: fit a sensor channel's calibration on site and write it to the unit.

    sunprint calibrate --port P --channel pv_power                      # readings at a prompt
    sunprint calibrate --port P --channel pv_power --points 100.2=101,398.5=402.3
    sunprint calibrate --port P --channel pv_power --rollback

The unit reads its sensor (raw, before calibration, in W); the installer reads a reference
instrument at the same moment and types its value. Two or more such (raw, reference) points
give a least-squares line, reference = gain * raw + offset_w (sunprint.core.calib), shown with
each point's residual. A fit the sign cannot live with is refused, nothing written, unless
--force (absurd(): a falling line, a gain outside the sensor type's range, an offset over 5 %
of full scale, residuals over 2 % of the references' span); non-finite input is bad input. The
entry (who, when, instrument, notes, gain, offset_w, points,
residuals) becomes the channel's current calibration in the unit's /calib.json, the previous
one moving into its history (sunprint.service writes the file atomically); the unit reads it
back, shows the calibrated reading to confirm, and restarts its app, which then applies the
file over the board profile's calib (firmware/main.py).
"""

import contextlib
import datetime
import getpass
import json
import math
import sys
import threading

from host_tools import boards, registry, unitargs
from host_tools.errors import UserError, shown
from host_tools.link import DeviceError, LinkLost, open_link

READINGS = 5  # polls averaged per raw reading
# The gains a calibration may have, by sensor type: what a calibration can honestly correct.
# An INA2xx's gain takes up the shunt's tolerance and the wiring's resistance: off by more than
# 2x is the wrong shunt or a wrong shunt_ohm in the profile (fix that instead). A meter (Modbus,
# DL/T 645) is class 1 or better on its own: a reference 20 % away from it is a wrong reference
# or a wiring fault.
GAIN_RANGES = {"ina219": (0.5, 2.0), "ina226": (0.5, 2.0)}
METER_GAIN_RANGE = (0.8, 1.25)
DEFAULT_GAIN_RANGE = (0.5, 2.0)
METERS = boards.METERS  # the parts registry's meters (source kind METER)
RESIDUAL_LIMIT = 0.02  # RMS residual at most 2 % of the span of the references (3+ points)
OFFSET_LIMIT = 0.05  # |offset_w| at most 5 % of full scale (health max_w, else the largest ref)
CHECK_TOLERANCE_W = 0.01  # fixed-point calibration vs the float line
KEEPALIVE_S = 10  # well inside the unit's 30 s watchdog


class CalibrateError(Exception):
    """The job failed (the unit did not take or apply the calibration)."""


def parse_points(text):
    """'raw=ref,raw=ref,...' (W) -> [(raw, ref)]; UserError naming the bad item."""
    points = []
    for i, item in enumerate(text.split(","), 1):
        item = item.strip()
        raw, sep, ref = item.partition("=")
        try:
            if not sep:
                raise ValueError
            point = (float(raw), float(ref))
        except ValueError:
            raise UserError(
                "--points: item %d %r is not raw=reference in W (e.g. 812.5=820)" % (i, item)
            ) from None
        if any(v != v or v in (float("inf"), float("-inf")) for v in point):
            raise UserError("--points: item %d %r is not a finite number" % (i, item))
        points.append(point)
    return points


def fit(points):
    """The least-squares line through points: a sunprint.core.calib.Fit (UserError if the
    points cannot determine a line)."""
    from host_tools.paths import use_firmware

    use_firmware()
    from sunprint.core.calib import least_squares

    if len(points) < 2:
        raise UserError("a calibration needs at least 2 points, got %d" % len(points))
    try:
        result = least_squares(points)
    except OverflowError:  # Linear could not put an infinite gain into fixed point
        raise UserError(_NOT_FINITE) from None
    except ValueError as e:
        if "NaN" in str(e):
            raise UserError(_NOT_FINITE) from None
        raise UserError("cannot fit a line: %s" % e) from None
    if not all(
        math.isfinite(v) for v in [result.gain, result.offset, result.rms, *result.residuals]
    ):
        raise UserError(_NOT_FINITE)
    return result


_NOT_FINITE = (
    "--points: the line through these points is not a finite number (they are too close "
    "together or too far apart)"
)


def gain_range(sensor_type):
    """(lowest, highest) gain a calibration of this sensor type may have."""
    if sensor_type in GAIN_RANGES:
        return GAIN_RANGES[sensor_type]
    if sensor_type in METERS:
        return METER_GAIN_RANGE
    return DEFAULT_GAIN_RANGE


def absurd(result, points, sensor_type=None, full_scale_w=None):
    """Why a fit is not a calibration the sign can live with: a list of reasons, [] if sane.

    After an absurd fit every reading is out of the board's health range and the sign counts
    nothing (or worse): the line must rise, its gain be one the sensor type can need, its
    offset small against full scale, and the points must lie on it."""
    reasons = []
    low, high = gain_range(sensor_type)
    what = "a %s sensor" % sensor_type if sensor_type else "this sensor"
    if result.gain <= 0:
        reasons.append(
            "gain %.6g: the line falls (more power would read as less); a calibration's line "
            "rises" % result.gain
        )
    elif not low <= result.gain <= high:
        reasons.append("gain %.6g is outside %g..%g for %s" % (result.gain, low, high, what))
    refs = [ref for _, ref in points]
    scale = full_scale_w if full_scale_w else max(abs(r) for r in refs)
    if scale > 0 and abs(result.offset) > OFFSET_LIMIT * scale:
        reasons.append(
            "offset %.6g W is more than %d%% of the %.6g W full scale"
            % (result.offset, round(OFFSET_LIMIT * 100), scale)
        )
    span = max(refs) - min(refs)
    if len(points) >= 3 and result.rms > RESIDUAL_LIMIT * span:
        reasons.append(
            "residual RMS %.6g W is more than %d%% of the references' span %.6g W (the points "
            "do not lie on a line)" % (result.rms, round(RESIDUAL_LIMIT * 100), span)
        )
    return reasons


def fit_table(points, result):
    lines = ["      raw W   reference W       fit W   residual W"]
    for (raw, ref), r in zip(points, result.residuals, strict=True):
        lines.append(
            "%11s  %12s  %10s  %11s" % (_num(raw, 3), _num(ref, 3), _num(ref - r, 3), _num(r, 4))
        )
    lines.append(
        "gain %s, offset %s W, residual RMS %s W"
        % (_num(result.gain, 6), _num(result.offset, 4), _num(result.rms, 4))
    )
    return "\n".join(lines)


def _num(value, places):
    # fixed point for what a person reads as watts; an absurd value stays short (a number's
    # notation, not a text's cap: that is host_tools.errors.shown)
    if abs(value) < 1e9:
        return "%.*f" % (places, value)
    return "%.6g" % value


def same_entry(got, want):
    """got (read back from the unit) equals want, numbers up to the unit's float precision
    (single precision on an ESP32: the JSON goes through its floats)."""
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(want)
            and all(same_entry(got[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(same_entry(g, w) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, float) and isinstance(got, (int, float)):
        return abs(got - want) <= 1e-6 * max(1.0, abs(want))
    return got == want


class _Service:
    """sunprint.service on the unit, one JSON answer per call."""

    def __init__(self, link):
        self.link = link
        self._lock = threading.Lock()
        link.exec("import sunprint.service as _sps")

    def call(self, expr, timeout=30):
        try:
            with self._lock:
                out = self.link.exec("_sps." + expr, timeout=timeout)
        except DeviceError as e:
            if str(e).startswith("ValueError: "):
                raise UserError(str(e)[len("ValueError: ") :]) from None
            raise
        lines = out.decode("utf-8", "replace").strip().splitlines()
        if not lines:
            raise CalibrateError("%s: no answer from sunprint.service" % self.link.port)
        return json.loads(lines[-1])

    @contextlib.contextmanager
    def kept_alive(self):
        """While a person thinks: feed the unit's watchdog every KEEPALIVE_S (the app that
        fed it is stopped; on an ESP32 the watchdog stays armed)."""
        stop = threading.Event()

        def beat():
            while not stop.wait(KEEPALIVE_S):
                try:
                    self.call("feed()")
                except Exception:  # noqa: BLE001 - the next real call reports a dead link
                    return

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def _reading_text(r):
    if r["raw_w"] is None:
        return "no good reading (%s)" % r["flag_name"]
    return "raw %s W -> %s W calibrated (%s)" % (
        _num(r["raw_w"], 3),
        _num(r["value_w"], 3),
        r["calib"]["from"],
    )


def _ask_points(svc, channel, ask, say):
    """Readings from the unit paired with references typed at the prompt."""
    points = []
    plain_ask = ask

    def ask(prompt):
        with svc.kept_alive():
            return plain_ask(prompt)

    say("For each point: set a steady load, press Enter to read the unit, then type the")
    say("reference instrument's reading in W. Type 'done' when you have 2 or more points.")
    while True:
        answer = ask("point %d: [Enter] read the sensor, 'done' to fit: " % (len(points) + 1))
        if answer.strip().lower() in ("done", "d", "q"):
            break
        r = svc.call("read(%r, %d)" % (channel, READINGS))
        if r["raw_w"] is None:
            say("  no good reading from the sensor (%s); try again" % r["flag_name"])
            continue
        say("  raw %.3f W (mean of %d)" % (r["raw_w"], r["good"]))
        text = ask("  reference reading in W (blank: drop this point): ").strip()
        if not text:
            continue
        try:
            ref = float(text)
        except ValueError:
            say("  %r is not a number; point dropped" % text)
            continue
        points.append((r["raw_w"], ref))
    return points


def calibrate(
    port,
    channel,
    points=None,
    *,
    instrument="",
    who=None,
    notes="",
    rollback=False,
    ask=input,
    say=print,
    timeout=5.0,
    restart=True,
    force=False,
):
    """Calibrate (or roll back) one channel of the unit on `port`; returns a summary dict.

    A fit absurd() finds fault with is refused (UserError, nothing written) unless force:
    then the reasons go into the entry as "forced"."""
    with open_link(port, timeout=timeout) as link:
        try:
            return _calibrate(
                link, channel, points, instrument, who, notes, rollback, ask, say, restart, force
            )
        except DeviceError as e:
            raise CalibrateError("%s: the unit failed: %s" % (port, e)) from e


def _calibrate(link, channel, points, instrument, who, notes, rollback, ask, say, restart, force):
    # the unit's clock from this computer (UTC) first: the entry's time is the unit's too
    rtc_offset_s = link.set_rtc()
    say("unit clock set from this computer (UTC): corrected by %+d s" % rtc_offset_s)
    svc = _Service(link)
    names = svc.call("channels()")
    if channel not in names:
        raise UserError("unknown channel %r (this unit has: %s)" % (channel, ", ".join(names)))
    summary = {"port": link.port, "channel": channel, "rtc_offset_s": rtc_offset_s}
    if rollback:
        section = svc.call("rollback(%r)" % channel)
        current = section["current"]
        if current:
            say(
                "rolled back to the entry of %s by %s: gain %.6f, offset %.4f W"
                % (current.get("when"), current.get("who"), current["gain"], current["offset_w"])
            )
        else:
            say("rolled back: no calibration left in calib.json, the board profile's applies")
        summary["entry"] = current
    else:
        live = svc.call("read(%r, %d)" % (channel, READINGS))
        say("live: " + _reading_text(live))
        if points is None:
            points = _ask_points(svc, channel, ask, say)
        result = fit(points)
        say(fit_table(points, result))
        reasons = absurd(result, points, live.get("type"), live.get("max_w"))
        if reasons and not force:
            if restart:
                link.restart()  # the sign goes on as it was
            raise UserError(
                "refused, nothing written: %s; check the points, or --force to write it anyway"
                % "; ".join(reasons)
            )
        entry = {
            "gain": result.gain,
            "offset_w": result.offset,
            "who": who or getpass.getuser(),
            "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "instrument": instrument,
            "notes": notes,
            "points": [list(p) for p in points],
            "residuals_w": list(result.residuals),
            "rms_w": result.rms,
        }
        if reasons:
            say("forced: " + "; ".join(reasons))
            entry["forced"] = reasons
        section = svc.call("write_calib(%r, %r)" % (channel, json.dumps(entry)))
        if not same_entry(section.get("current"), entry):
            raise CalibrateError(
                "%s: calib.json read back differs from what was written" % link.port
            )
        summary["entry"] = entry
        say(
            "written to %s:/calib.json (%d older entries kept)"
            % (link.port, len(section["history"]))
        )
    # Confirm: the unit's reading through the calibration it now has on its flash.
    check = svc.call("read(%r, %d)" % (channel, READINGS))
    summary["check"] = check
    say("check: " + _reading_text(check))
    current = summary["entry"]
    if check["raw_w"] is not None and current:
        expected = current["gain"] * check["raw_w"] + current["offset_w"]
        if check["calib"]["from"] != "calib.json" or abs(check["value_w"] - expected) > max(
            CHECK_TOLERANCE_W, abs(expected) * 1e-4
        ):
            raise CalibrateError(
                "%s: the unit applies %s, not the new calibration (%s W, expected %s W)"
                % (
                    link.port,
                    shown(check["calib"]),
                    _num(check["value_w"], 3),
                    _num(expected, 3),
                )
            )
    summary["history"] = len(section["history"])
    if restart:
        link.restart()  # the app boots with /calib.json over the profile's calib
        say("the unit restarted its app with the new calibration")
    return summary


def add_cli(sub):
    p = sub.add_parser(
        "calibrate",
        help="fit and write a sensor channel's calibration on site (or roll it back)",
        description="Read the unit's raw sensor values, pair them with reference readings "
        "(typed at a prompt, or --points), fit reference = gain * raw + offset by least "
        "squares, write the calibration with who/when/instrument/notes into the unit's "
        "/calib.json (keeping the history) and read the calibrated value back.",
    )
    unitargs.add_port(p)
    p.add_argument("--channel", required=True, help="sensor channel (its role, e.g. pv_power)")
    p.add_argument("--points", default=None, help="raw=reference pairs in W: 100=101.5,400=405")
    p.add_argument("--instrument", default="", help="the reference instrument (make, serial)")
    p.add_argument("--who", default=None, help="who calibrated (default: your user name)")
    p.add_argument("--notes", default="", help="free text kept with the entry")
    p.add_argument(
        "--rollback", action="store_true", help="restore the channel's previous calibration"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write a fit outside the sane bounds (gain range of the sensor type, a rising "
        "line, small offset and residuals) all the same",
    )
    unitargs.add_timeout(p)
    p.add_argument(
        "--no-restart", dest="restart", action="store_false", help="do not restart the app"
    )
    unitargs.add_registry(p, "calibrate")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args):
    if args.rollback and args.points is not None:
        raise UserError("--rollback takes no --points")
    points = parse_points(args.points) if args.points is not None else None
    if points is not None:
        fit(points)  # bad points are bad input: say so before touching the unit
    reg = registry.clock_registry(args.registry)  # not a registry: refused before the unit
    try:
        s = calibrate(
            args.port,
            args.channel,
            points,
            instrument=args.instrument,
            who=args.who,
            notes=args.notes,
            rollback=args.rollback,
            timeout=args.timeout,
            restart=args.restart,
            force=args.force,
        )
    except (CalibrateError, LinkLost) as e:
        print("sunprint calibrate: failed: %s" % e, file=sys.stderr)
        return 1
    except EOFError:
        raise UserError("no reference readings given (input closed): use --points") from None
    if s and s.get("rtc_offset_s") is not None:
        registry.record_clock(reg, "calibrate", s["port"], s["rtc_offset_s"])
    return 0

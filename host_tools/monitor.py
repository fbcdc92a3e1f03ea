"""`sunprint monitor`: watch a unit's live values, one line per sample, and record them.

    sunprint monitor --port P [--seconds N] [--interval S] [--record FILE]

The unit keeps running its app (the one the link interrupted, with its ledger as it was, or
one booted for the session) under sunprint.service.monitor, which prints every sample: device
time, power (this reading, calibrated), the raw reading, its quality flag, energy today and in
total, and the fault counters. --record FILE writes the samples as a sample log (format 2:
timestamp,power_w,raw,flag; sunprint.samplelog), the file `sunprint replay` reads; it is
written at the end (temp file, then rename), also after Ctrl-C, with every complete line
received so far. FILE must be new or an earlier recording (its header says
source=sunprint-monitor): any other file is refused before the session, never overwritten
(host_tools/outfile.py). The app is restarted (soft reset) when the session ends.
"""

import datetime
import json
import sys

from host_tools import outfile, registry, unitargs
from host_tools.errors import UserError
from host_tools.link import DeviceError, LinkLost, open_link
from host_tools.paths import use_firmware

TOOL = "sunprint monitor"
SOURCE = "sunprint-monitor"  # the recording's header source=: marks it as this command's output
EPOCH_2000_UNIX = 946684800  # the firmware counts seconds from 2000-01-01 UTC
_PREFIX = "@sp "


class MonitorError(Exception):
    """The job failed."""


def _flag_name(flag):
    use_firmware()
    from sunprint.quality import name

    return name(flag)


def format_sample(s):
    """One console line for a sample dict from the unit."""
    t = datetime.datetime.fromtimestamp(s["t"] + EPOCH_2000_UNIX, datetime.UTC)
    faults = s.get("faults") or {}
    text = "%s  %10.3f W  raw %9d  %-12s today %10.4f kWh  total %11.4f kWh" % (
        t.strftime("%Y-%m-%d %H:%M:%S"),
        s["power_mw"] / 1000,
        s["raw"],
        _flag_name(s["flag"]),
        s["today_mwh"] / 1e6,
        s["lifetime_mwh"] / 1e6,
    )
    if faults:
        text += "  faults: " + " ".join("%s=%d" % (k, faults[k]) for k in sorted(faults))
    return text


def write_record(path, samples, meta):
    """Samples as a version 2 sample log at path, atomically; returns rows written. path must
    be new or an earlier recording (check_record), else UserError and nothing is written.

    Rows whose time does not increase (two samples in one device second: a late sample and
    the next on schedule) keep the first; the caller says how many were left out."""
    use_firmware()
    from sunprint.samplelog import write_header

    rows = []
    last = None
    for s in samples:
        t = s["t"] + EPOCH_2000_UNIX
        if last is not None and t <= last:
            continue
        last = t
        rows.append("%d,%.3f,%d,%d\n" % (t, s["power_mw"] / 1000, s["raw"], s["flag"] & 0xFF))
    source = meta.get("source", SOURCE)
    with outfile.writing(
        path, "--record", TOOL, outfile.sample_log_from(source), newline="\n"
    ) as f:
        write_header(f, meta, version=2)
        f.writelines(rows)
    return len(rows)


def check_record(path):
    """UserError unless --record may write path: a new file in a folder that exists, or an
    earlier recording (its header says source=sunprint-monitor). Nothing else is overwritten."""
    outfile.check(path, "--record", TOOL, outfile.sample_log_from(SOURCE))


def monitor(
    port,
    *,
    seconds=0,
    interval=1,
    record=None,
    say=print,
    timeout=5.0,
    restart=True,
):
    """Watch the unit on `port` for `seconds` (0: until Ctrl-C). Returns a summary dict with
    the samples; writes `record` (a sample log) if given, also when interrupted."""
    if record is not None:
        check_record(record)  # before the session; checked again when the file is written
    samples = []
    interrupted = False
    rtc_offset_s = None
    unit_port = port

    def on_line(line):
        if not line.startswith(_PREFIX):
            if line.strip():
                say("unit: " + line)
            return
        body = line[len(_PREFIX) :]
        if body == "end":
            return
        try:
            s = json.loads(body)
        except ValueError:
            return  # a line cut by the interrupt
        samples.append(s)
        say(format_sample(s))

    try:
        with open_link(port, timeout=timeout, soft_reset=False) as link:
            try:
                # the unit's clock from this computer (UTC): what it corrected is in the result
                rtc_offset_s = link.set_rtc()
                say("unit clock set from this computer (UTC): corrected by %+d s" % rtc_offset_s)
                link.exec("import sunprint.service as _sps")
                interrupted = link.stream(
                    "_sps.monitor(%d, %d)" % (seconds, interval), on_line, quiet_s=None
                )
            except DeviceError as e:
                if str(e).startswith("ValueError: "):
                    raise UserError("%s: %s" % (port, str(e)[len("ValueError: ") :])) from None
                raise MonitorError("%s: the unit failed: %s" % (port, e)) from e
            except KeyboardInterrupt:
                interrupted = True  # a second Ctrl-C: keep what arrived
            if restart and not interrupted:
                link.restart()
            elif restart:
                try:
                    link.restart()
                except LinkLost:
                    pass
    finally:
        if record is not None and samples:
            meta = {"source": SOURCE, "port": unit_port.replace(" ", "_")}
            n = write_record(record, samples, meta)
            left = len(samples) - n
            say(
                "recorded %d samples in %s" % (n, record)
                + ("" if not left else " (%d in a device second already recorded left out)" % left)
            )
    return {
        "samples": samples,
        "interrupted": interrupted,
        "record": record,
        "rtc_offset_s": rtc_offset_s,
    }


def add_cli(sub):
    p = sub.add_parser(
        "monitor",
        help="live values of a unit, one line per sample (and record them as a sample log)",
        description="Show the unit's power, raw reading, quality flag, energy today and total "
        "and its faults, one line per sample, with the device's time. --record writes the "
        "samples as a sample log that `sunprint replay` reads (at the end, also on Ctrl-C).",
    )
    unitargs.add_port(p)
    p.add_argument(
        "--record",
        default=None,
        help="write the samples to this sample log (CSV): a new file or an earlier recording",
    )
    p.add_argument("--seconds", type=int, default=0, help="stop after N seconds (0: Ctrl-C)")
    p.add_argument("--interval", type=int, default=1, help="seconds between samples (>= 1)")
    unitargs.add_timeout(p)
    unitargs.add_registry(p, "monitor")
    p.set_defaults(func=cmd_monitor)


def cmd_monitor(args):
    if args.seconds < 0:
        raise UserError("--seconds must be >= 0, not %d" % args.seconds)
    if args.interval < 1:
        raise UserError("--interval must be >= 1, not %d" % args.interval)
    reg = registry.clock_registry(args.registry)  # not a registry: refused before the unit
    try:
        result = monitor(
            args.port,
            seconds=args.seconds,
            interval=args.interval,
            record=args.record,
            timeout=args.timeout,
        )
    except (MonitorError, LinkLost) as e:
        print("sunprint monitor: failed: %s" % e, file=sys.stderr)
        return 1
    if result["rtc_offset_s"] is not None:
        registry.record_clock(reg, "monitor", args.port, result["rtc_offset_s"])
    if not result["samples"]:
        print("sunprint monitor: no samples from the unit", file=sys.stderr)
        return 1
    return 0

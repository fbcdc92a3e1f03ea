"""`sunprint logs pull`: download a unit's sample log files and join them into one log.

    sunprint logs pull --port P --out DIR

The unit writes its samples into a ring of files /log/NNNNNNNN.csv (firmware/sunprint/
samplelog.py, SampleLogWriter), each with its own format line and header. The link
interrupts the running app (which keeps its buffered rows: they are flushed first), the files
are read, and DIR receives (replaced as a whole, only on success; DIR must be new, empty or an
earlier `logs pull` output: host_tools/outdir.py deletes nothing else):
- DIR/device/NNNNNNNN.csv: the files as they are on the unit;
- DIR/samplelog.csv: one version 2 sample log, rows in time order, that `sunprint replay`
  reads as is: a line torn by a power cut is dropped, as is a row whose time does not come
  after the previous one (a clock stepped back); both are counted in the summary.
The app is restarted (soft reset) afterwards.
"""

import sys

from host_tools import outdir, unitargs
from host_tools.link import DeviceError, LinkLost, open_link
from host_tools.paths import use_firmware

LOG_DIR = "/log"
TOOL = "sunprint logs pull"  # names the outputs it may replace (host_tools/outdir.py)


class LogsError(Exception):
    """The job failed."""


def join(files, out, meta=None):
    """Join device log files [(name, bytes)] (oldest first) into one version 2 log written to
    the text stream `out`. Returns {"rows", "flagged", "dropped", "out_of_order", "files"}."""
    use_firmware()
    from sunprint.samplelog import ReadStats, SampleLogError, read_rows, write_header

    write_header(out, meta, version=2)
    summary = {"rows": 0, "flagged": 0, "dropped": 0, "out_of_order": 0, "files": len(files)}
    last = None
    for name, data in files:
        text = data.decode("utf-8", "replace")
        if not text:
            continue  # created, then the power went before its header reached the flash
        stats = ReadStats()
        try:
            for t, power_w, raw, flag in read_rows(
                text.splitlines(keepends=True), name, lenient=True, stats=stats
            ):
                if last is not None and t <= last:
                    summary["out_of_order"] += 1
                    continue
                last = t
                out.write("%d,%.3f,%d,%d\n" % (t, power_w, 0 if raw is None else raw, flag))
                summary["rows"] += 1
                if flag:
                    summary["flagged"] += 1
        except SampleLogError as e:
            raise LogsError("the unit's log file is damaged: %s" % e) from None
        summary["dropped"] += stats.dropped
    return summary


def _log_names(link):
    use_firmware()
    from sunprint.samplelog import _seq_of  # the writer's own file-name rule

    return sorted(n for n in link.listdir(LOG_DIR) if _seq_of(n) >= 0)


def _flush(port, timeout):
    # The app's buffered rows onto the flash first.
    with open_link(port, timeout=timeout, soft_reset=False) as link:
        try:
            link.exec("import sunprint.service as _sps\n_sps.flush_log()")
        except DeviceError as e:
            raise LogsError("%s: the unit failed: %s" % (port, e)) from e


def _download(port, timeout, restart, say):
    # [(name, bytes)] of the unit's log files, oldest first
    _flush(port, timeout)
    with open_link(port, timeout=timeout, soft_reset=False) as link:
        try:
            names = _log_names(link)
            files = []
            for name in names:
                data = link.read_file("%s/%s" % (LOG_DIR, name))
                files.append((name, data))
                say("%s: %d bytes" % (name, len(data)))
        except DeviceError as e:
            raise LogsError("%s: the unit failed: %s" % (port, e)) from e
        if restart:
            link.restart()
    if not files:
        raise LogsError("%s: the unit has no sample log files in %s" % (port, LOG_DIR))
    return names, files


def pull(port, out_dir, *, timeout=5.0, restart=True, say=print):
    """Download the unit's logs into out_dir (see the module docstring); a summary dict."""
    out_dir = outdir.check(out_dir, TOOL)
    tmp = outdir.temp_beside(out_dir)  # before the unit is touched: OUT's folder is writable
    try:
        names, files = _download(port, timeout, restart, say)
        (tmp / "device").mkdir()
        for name, data in files:
            (tmp / "device" / name).write_bytes(data)
        meta = {"source": "sunprint-logs-pull", "files": "%s..%s" % (names[0], names[-1])}
        with open(tmp / "samplelog.csv", "w", newline="\n") as f:
            summary = join(files, f, meta)
        outdir.replace(tmp, out_dir, TOOL)
    except BaseException:
        outdir.discard(tmp, out_dir)
        raise
    summary["log"] = str(out_dir / "samplelog.csv")
    summary["bytes"] = sum(len(d) for _, d in files)
    return summary


def add_cli(sub):
    p = sub.add_parser(
        "logs",
        help="the unit's sample logs: `logs pull` downloads and joins them",
        description="Work with a unit's on-device sample log (/log/*.csv).",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    q = verbs.add_parser(
        "pull",
        help="download the unit's sample log files and join them into one log",
        description="Download /log/*.csv from the unit into OUT/device/ and join them into "
        "OUT/samplelog.csv, one log that `sunprint replay` reads. OUT is replaced only on "
        "success, and only if it is new, empty or an earlier pull.",
    )
    unitargs.add_port(q)
    q.add_argument(
        "--out",
        required=True,
        help="output folder: new, empty or an earlier pull (replaced only on success)",
    )
    unitargs.add_timeout(q)
    q.set_defaults(func=cmd_pull)


def cmd_pull(args):
    try:
        s = pull(args.port, args.out, timeout=args.timeout, say=lambda text: None)
    except (LogsError, LinkLost) as e:
        print("sunprint logs: failed: %s" % e, file=sys.stderr)
        return 1
    print(
        "pulled %d file(s), %d bytes: %d rows (%d flagged) in %s; %d torn line(s) and %d "
        "out-of-order row(s) dropped"
        % (
            s["files"],
            s["bytes"],
            s["rows"],
            s["flagged"],
            s["log"],
            s["dropped"],
            s["out_of_order"],
        )
    )
    return 0

"""`sunprint`: the host command line. One function per command; exit 0 ok, 1 failed, 2 bad input."""

import argparse
import sys

from host_tools.errors import UserError


def cmd_replay(args):
    from host_tools.replay import replay

    summary = replay(
        args.log,
        args.board,
        args.out,
        progress=None if args.progress else False,
        lenient=args.lenient,
    )
    energy, co2 = summary["energy"], summary["carbon"]
    print(
        "replayed %d samples of %s on %s: %.3f kWh, %.2f kg CO2 (%s), %d refreshes"
        % (
            summary["samples"],
            args.log,
            args.board,
            energy["lifetime_kwh"],
            co2["co2_kg"],
            co2["source"],
            summary["display"]["refreshes"],
        )
    )
    print("frames:  %s/frames/ (last one: %s/last-frame.png)" % (args.out, args.out))
    print("carbon:  %s/carbon-screen.png (factor and source, coal, trees)" % args.out)
    print("summary: %s/summary.json" % args.out)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sunprint",
        description="Host tools for the sunprint solar carbon-footprint display.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "replay",
        help="run the firmware over a recorded sample log and write frames and a summary",
        description="Run the firmware's app over LOG as fast as possible; write a PNG of the "
        "panel at each refresh into OUT/frames and the totals into OUT/summary.json.",
    )
    p.add_argument("log", metavar="LOG", help="sample log (CSV: timestamp,power_w)")
    p.add_argument(
        "--board", required=True, help="board profile name in boards/ (e.g. esp32-epd29)"
    )
    p.add_argument("--out", required=True, help="output folder (replaced only on success)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.add_argument(
        "--lenient",
        action="store_true",
        help="drop a torn last line (a device log cut by a power loss) instead of failing",
    )
    p.set_defaults(func=cmd_replay)

    from host_tools import boards

    boards.add_cli(sub)

    try:
        from host_tools import fonts
    except ImportError:  # pragma: no cover - fonts needs Pillow, a required dependency
        fonts = None
    if fonts is not None:
        fonts.add_cli(sub)

    # Each of these modules adds its own subcommand(s) with add_cli(sub), as boards and fonts do.
    import importlib

    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module("host_tools." + name)
        except ModuleNotFoundError as e:
            if e.name != "host_tools." + name:
                raise
            continue  # not built yet
        module.add_cli(sub)
    return parser


_COMMAND_MODULES = ("synth", "flash", "deploy", "calibrate", "monitor", "logs", "simcmd")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserError as e:
        print("sunprint %s: error: %s" % (args.command, e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sunprint %s: interrupted" % args.command, file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""`sunprint`: the host command line. One function per command; exit 0 ok, 1 failed, 2 bad input."""

import argparse
import sys

from host_tools.errors import UserError


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sunprint",
        description="Host tools for the sunprint solar carbon-footprint display.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    from host_tools import replay

    replay.add_cli(sub)

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


_COMMAND_MODULES = (
    "synth", "flash", "deploy", "calibrate", "monitor", "logs", "simcmd", "paneltest",
    "fleet.command", "community",
)  # fmt: skip


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

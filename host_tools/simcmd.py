"""`sunprint sim ...`: what stands in for hardware, as commands.

    sunprint sim board --flash DIR [--board NAME] [--tcp] [--tcp-port N] [--heap N] [--power W]
                      [--mqtt HOST:PORT]

The `sim` command holds a small registry of subcommands: `board` is defined here; another
module adds its own (e.g. `sim unit`) without editing this file, either by calling
`register(name, add)` before the CLI is built, or by being a module named
`host_tools/simcmd_<name>.py` with a function `add_sim_cli(sim_sub)`; add_cli() imports those.
`add(sim_sub)` receives the `sim` command's subparsers object and adds one parser with
`set_defaults(func=...)`, as every sunprint command does.
"""

import contextlib
import importlib
import pkgutil
import signal
import sys
import time

from host_tools.errors import UserError

_REGISTRY = {}  # name -> add(sim_sub)
BOARD_HEAP = 110000  # an ESP32 without PSRAM: the 32-bit VM runs the unit at that heap


def register(name, add):
    """Add `sunprint sim NAME`: add(sim_sub) adds its parser to the `sim` subparsers."""
    _REGISTRY[name] = add


def _plugin_modules():
    import host_tools

    for info in pkgutil.iter_modules(host_tools.__path__):
        if info.name.startswith("simcmd_"):
            yield importlib.import_module("host_tools." + info.name)


def add_cli(sub):
    p = sub.add_parser(
        "sim",
        help="virtual hardware: a MicroPython board on a pty or TCP (and more, see sim -h)",
        description="Things that stand in for hardware, for tests, demos and the host tools.",
    )
    sim_sub = p.add_subparsers(dest="sim_command", metavar="SIM_COMMAND")
    sim_sub.required = True
    adders = dict(_REGISTRY)
    for module in _plugin_modules():
        adders.setdefault(module.__name__.split("simcmd_", 1)[1], module.add_sim_cli)
    for name in sorted(adders):
        adders[name](sim_sub)


def _add_board_cli(sim_sub):
    from host_tools.sim.board.vboard import FIRMWARE_KINDS

    p = sim_sub.add_parser(
        "board",
        help="a virtual MicroPython board that mpremote and the sunprint tools talk to",
        description="Serve a virtual board: MicroPython's REPL (friendly, raw, raw-paste, "
        "Ctrl-C, Ctrl-D soft reboot running boot.py then main.py) on a pseudo-terminal, and "
        "on 127.0.0.1 TCP with --tcp. The code runs in MicroPython 1.26.1's unix port built "
        "32-bit like the ESP32 (make setup), the app frozen in for --firmware frozen/unit, with DIR as "
        "its flash and, with --board, the profile's chip and panel models behind a fake "
        "machine module. Prints the port(s); runs until Ctrl-C.",
    )
    p.add_argument("--flash", required=True, metavar="DIR", help="the board's flash folder")
    p.add_argument("--board", metavar="NAME", help="board profile in boards/ (wires its models)")
    p.add_argument(
        "--firmware",
        choices=FIRMWARE_KINDS,
        default="stock",
        help="what the board's image is: stock MicroPython (default), the app frozen in, "
        "ROMFS with a 256 KiB romfs partition (vfs.rom_ioctl), or the unit image (both)",
    )
    p.add_argument("--tcp", action="store_true", help="also listen on 127.0.0.1 (socket://)")
    p.add_argument(
        "--tcp-port", metavar="N", help="TCP port, 1..65535 (implies --tcp; default: any free one)"
    )
    p.add_argument(
        "--heap",
        metavar="BYTES",
        help="GC heap for the board's code (default 110000, an ESP32 without PSRAM; the app "
        "as .mpy files needs more than that: --firmware unit runs it frozen, as a unit does)",
    )
    p.add_argument("--power", default="0", metavar="W", help="PV power the sensor sees (W)")
    add_mqtt_option(p)
    p.set_defaults(func=cmd_board)


register("board", _add_board_cli)


MAX_HEAP = 64 * 1024 * 1024


def add_mqtt_option(p):
    p.add_argument(
        "--mqtt",
        metavar="HOST:PORT",
        help="where the broker the unit's config.json names (mqtt_host) really is: the "
        "simulated site's Wi-Fi and name service lead the unit there; the flash is not "
        "changed (docs/mqtt.md)",
    )


def mqtt_option(args, fs_dir):
    """(host, port) of --mqtt or None, checked: a bad value, or a unit whose config.json names
    no broker, is a one-line error (exit 2). A flash with no config yet is let through (a
    deploy may write it): the route is read at every boot, and said on stderr."""
    if args.mqtt is None:
        return None
    from host_tools.sim.board.vboard_site import parse_broker, unit_broker

    try:
        broker = parse_broker(args.mqtt)
    except ValueError as e:
        raise UserError("--mqtt %s: %s" % (args.mqtt, e)) from None
    found, why = unit_broker(fs_dir)
    if found is None and why != "the unit has no config.json":
        raise UserError("--mqtt: %s/config.json: %s" % (fs_dir, why.split(": ", 1)[-1]))
    return broker


def print_note(line):
    print("sim: %s" % line, file=sys.stderr, flush=True)


def _number(option, text, kind, lo, hi):
    """An option's value as `kind` within lo..hi, else UserError naming the option."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value != value or not lo <= value <= hi:  # value != value: NaN
        raise UserError("%s %s: expected a number from %s to %s" % (option, text, lo, hi))
    return value


def board_options(args):
    """(tcp_port or None, heap, power_w) from the command line, checked: one-line errors."""
    tcp_port = None
    if args.tcp_port is not None:
        tcp_port = _number("--tcp-port", args.tcp_port, int, 1, 65535)
    elif args.tcp:
        tcp_port = 0
    if args.heap is None:
        heap = BOARD_HEAP
    else:
        heap = _number("--heap", args.heap, int, 16384, MAX_HEAP)
    power_w = _number("--power", args.power, float, 0.0, 1e9)
    return tcp_port, heap, power_w


@contextlib.contextmanager
def stop_on_signals():
    """SIGTERM and SIGHUP stop the command as Ctrl-C does (the board's child goes with it)."""

    def stop(signum, frame):
        raise KeyboardInterrupt

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def wait_for_stop():
    """Sleep until a signal handler raises KeyboardInterrupt. In short naps: a process signal
    may be delivered to any thread (the board's server threads, the model host's), and Python
    runs its handler only when the main thread next executes; a main thread asleep for an hour
    or on an Event would not see SIGTERM until then."""
    while True:
        time.sleep(0.2)


def cmd_board(args):
    from host_tools.sim.board.vboard import (
        FlashInUse,
        MissingVM,
        VirtualBoard,
        board_profile_path,
        unit_vm,
    )

    if args.board is not None:
        try:
            board_profile_path(args.board)
        except FileNotFoundError:
            raise UserError("--board %s: no such profile in boards/" % args.board) from None
    tcp_port, heap, power_w = board_options(args)
    mqtt = mqtt_option(args, args.flash)
    try:
        unit_vm(args.firmware)
    except MissingVM as e:
        raise UserError(str(e)) from None
    try:
        board = VirtualBoard(
            args.flash,
            board=args.board,
            heap=heap,
            firmware=args.firmware,
            mqtt=mqtt,
            on_note=print_note,
        )
    except FlashInUse as e:
        raise UserError("--flash %s: %s" % (args.flash, e.strerror)) from None
    except OSError as e:
        raise UserError("--flash %s: %s" % (args.flash, e.strerror or e)) from None
    board.power_w = power_w
    with stop_on_signals(), board:
        print("port: %s" % board.serve_pty(), flush=True)
        if tcp_port is not None:
            try:
                url = board.serve_tcp(tcp_port)
            except OSError as e:
                raise UserError("--tcp-port %d: %s" % (tcp_port, e.strerror or e)) from None
            print("port: %s" % url, flush=True)
        print(
            "flash: %s%s  (Ctrl-C to stop)"
            % (board.flash_dir, ", board %s" % args.board if args.board else ""),
            file=sys.stderr,
            flush=True,
        )
        try:
            wait_for_stop()
        except KeyboardInterrupt:
            pass
    return 0

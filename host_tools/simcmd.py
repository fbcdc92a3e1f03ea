"""`sunprint sim ...`: what stands in for hardware, as commands.

    sunprint sim board --flash DIR [--board NAME] [--tcp] [--heap N] [--power W]

The `sim` command holds a small registry of subcommands: `board` is defined here; another
module adds its own (e.g. `sim unit`) without editing this file, either by calling
`register(name, add)` before the CLI is built, or by being a module named
`host_tools/simcmd_<name>.py` with a function `add_sim_cli(sim_sub)`; add_cli() imports those.
`add(sim_sub)` receives the `sim` command's subparsers object and adds one parser with
`set_defaults(func=...)`, as every sunprint command does.
"""

import importlib
import pkgutil
import sys
import time

from host_tools.errors import UserError

_REGISTRY = {}  # name -> add(sim_sub)
BOARD_HEAP = 110000  # an ESP32 without PSRAM
UNIT_HEAP = 400000  # the unit's bytecode in the heap too: not frozen on the unix port


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
    p = sim_sub.add_parser(
        "board",
        help="a virtual MicroPython board that mpremote and the sunprint tools talk to",
        description="Serve a virtual board: MicroPython's REPL (friendly, raw, raw-paste, "
        "Ctrl-C, Ctrl-D soft reboot running boot.py then main.py) on a pseudo-terminal, and "
        "on 127.0.0.1 TCP with --tcp. The code runs in the MicroPython unix port with DIR as "
        "its flash and, with --board, the profile's chip and panel models behind a fake "
        "machine module. Prints the port(s); runs until Ctrl-C.",
    )
    p.add_argument("--flash", required=True, metavar="DIR", help="the board's flash folder")
    p.add_argument("--board", metavar="NAME", help="board profile in boards/ (wires its models)")
    p.add_argument("--tcp", action="store_true", help="also listen on 127.0.0.1 (socket://)")
    p.add_argument("--tcp-port", type=int, default=0, metavar="N", help="TCP port (default: any)")
    p.add_argument(
        "--heap",
        type=int,
        default=None,
        metavar="BYTES",
        help="GC heap for the board's code (default 110000, an ESP32 without PSRAM; with "
        "--board 400000: a whole unit loaded as .mpy needs that on the 64-bit unix port, "
        "see the README's heap note)",
    )
    p.add_argument("--power", type=float, default=0.0, metavar="W", help="PV power the sensor sees")
    p.set_defaults(func=cmd_board)


register("board", _add_board_cli)


def cmd_board(args):
    from host_tools.sim.vboard import VirtualBoard, board_profile_path

    if args.board is not None:
        try:
            board_profile_path(args.board)
        except FileNotFoundError:
            raise UserError("--board %s: no such profile in boards/" % args.board) from None
    heap = args.heap
    if heap is None:
        heap = UNIT_HEAP if args.board is not None else BOARD_HEAP
    if heap < 16384:
        raise UserError("--heap %d: too small for MicroPython (at least 16384)" % heap)
    try:
        board = VirtualBoard(args.flash, board=args.board, heap=heap)
    except OSError as e:
        raise UserError("--flash %s: %s" % (args.flash, e.strerror or e)) from None
    board.power_w = args.power
    with board:
        print("port: %s" % board.serve_pty(), flush=True)
        if args.tcp:
            print("port: %s" % board.serve_tcp(args.tcp_port), flush=True)
        print(
            "flash: %s%s  (Ctrl-C to stop)"
            % (board.flash_dir, ", board %s" % args.board if args.board else ""),
            file=sys.stderr,
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0

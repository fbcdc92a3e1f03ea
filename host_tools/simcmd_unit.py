"""`sunprint sim unit`: an emulated ESP32 DevKitC (the emulator is host_tools/sim/board/device.py;
this is its command line, kept above the simulator so that sim/ imports nothing of the CLI)."""

from host_tools.errors import UserError
from host_tools.sim.board.esp32rom import DEFAULT_MAC, MB, parse_mac


def add_sim_cli(sim_sub):
    """Add `unit` to the `sunprint sim` subcommands (argparse subparsers of `sim`)."""
    p = sim_sub.add_parser(
        "unit",
        help="an emulated ESP32 DevKitC: ROM loader for esptool, then the app's REPL",
        description="Serve an emulated ESP32 DevKitC on a pty (or 127.0.0.1 TCP): esptool "
        "flashes it through the ROM loader; a valid image at 0x1000 boots into a virtual "
        "MicroPython board, anything else gives the ROM's boot loop. Runs until Ctrl-C.",
    )
    p.add_argument("--flash", required=True, help="flash image file (created blank if absent)")
    p.add_argument("--board", help="board profile whose chip models the app sees")
    p.add_argument("--mac", default=DEFAULT_MAC, help="base MAC in eFuse (default %(default)s)")
    p.add_argument("--flash-size", type=int, default=4, choices=(1, 2, 4, 8, 16), help="MB")
    p.add_argument("--fs", help="the MicroPython filesystem folder (default FLASH.fs)")
    p.add_argument("--download", action="store_true", help="start in download mode")
    p.add_argument(
        "--firmware",
        choices=("stock", "frozen", "romfs", "unit"),
        default="unit",
        help="what the flashed image is when it boots: the unit image `make firmware` builds "
        "(default: the app frozen in, a romfs partition), or see sim board --firmware",
    )
    p.add_argument("--tcp", action="store_true", help="serve on 127.0.0.1 TCP, not a pty")
    from host_tools.simcmd import add_mqtt_option

    add_mqtt_option(p)
    p.set_defaults(func=cmd_sim_unit)


def cmd_sim_unit(args):
    try:
        parse_mac(args.mac)
    except ValueError as e:
        raise UserError("--mac: %s" % e) from None
    if args.board:
        from host_tools.boards import load_board

        load_board(args.board)
    from host_tools.sim.board.device import Device
    from host_tools.sim.board.vboard import MissingVM, unit_vm

    try:
        unit_vm(args.firmware)  # what the unit boots into, checked before anything is served
    except MissingVM as e:
        raise UserError(str(e)) from None
    from host_tools.simcmd import mqtt_option, print_note

    fs_dir = args.fs or args.flash + ".fs"
    mqtt = mqtt_option(args, fs_dir)
    try:
        device = Device(
            args.flash,
            fs_dir=args.fs,
            board=args.board,
            mac=args.mac,
            flash_size=args.flash_size * MB,
            mode="download" if args.download else "run",
            firmware=args.firmware,
            mqtt=mqtt,
            on_note=print_note,
        )
    except ValueError as e:
        raise UserError("--flash %s: %s" % (args.flash, e)) from None
    from host_tools.simcmd import stop_on_signals, wait_for_stop

    with stop_on_signals(), device:
        port = device.serve_tcp() if args.tcp else device.serve_pty()
        print("unit on %s (%s)" % (port, device.state), flush=True)
        if device.boot_message:
            print("not bootable: %s" % device.boot_message, flush=True)
        try:
            wait_for_stop()
        except KeyboardInterrupt:
            pass
    return 0

"""`sunprint panel-test`: a short refresh sequence on a unit's real e-paper glass, with what to
look for at each step, so a photo settles what no controller model can.

    sunprint panel-test --port P --board NAME [--pause S]

The unit is soft-reset (its app stops; a fresh interpreter, the deployed firmware on its path),
the panel named by the board profile's display section (type, pins, SPI, options such as
rotation and revision) is driven by the firmware's own driver, and the sequence runs:

    1 full            a full refresh of the test picture
    2-11 partial      ten window-partial refreshes: a counter and a block that moves
    12 deep sleep     the controller sleeps (its RAM is then taken as lost)
    13 wake+partial   a partial from deep sleep: the driver restores the RAM from its frame
    14 full           a full refresh, which ends in deep sleep

Each step is announced with what to look for, and reported with its time and the bytes sent on
the panel's bus. The unit's app is restarted at the end. Exit status: 0 all steps ran, 1 a step
failed (a BUSY timeout, an error on the unit, the link lost), 2 bad input (unknown board, not an
e-paper display, no unit on the port).
"""

import json
import sys

from host_tools import unitargs
from host_tools.errors import UserError
from host_tools.link import DeviceError, LinkLost, open_link

_PREFIX = "@pt "

# What the person at the panel looks for, per step (printed before the step runs).
LOOK_FOR = {
    "full": "the whole panel flashes (black/white, a few times), then shows a frame, a "
    "diagonal, 'sunprint panel test' and a filled square with 'TL' at the top left. If the "
    "square is at the bottom right, the panel is mounted upside down: set "
    "display.options.rotation to 180.",
    "partial": "only the counter box and the moving block change; no flashing of the whole "
    "panel, no grey or ghost of the previous number, the rest of the picture stays crisp.",
    "sleep": "nothing changes: the picture stays, the controller is in deep sleep.",
    "wake": "a partial after deep sleep: again only the counter box and the block change. "
    "Smearing, a grey or garbled picture, or a change outside the box means the controller's "
    "RAM was not restored.",
    "final": "a full refresh: the panel flashes, then shows the picture with 'done' in the "
    "box, clean, with no ghost of the counters.",
}

# Runs on the unit: %(display)s is the profile's display section (JSON), %(pause)d ms.
UNIT_CODE = """\
import json, time, framebuf, machine
def _pt():
    d = json.loads(%(display)r)
    pause = %(pause)d
    kind = d["type"]
    # the panel as the unit makes it: its type's factory in the parts registry
    from sunprint.board import service_panel
    panel = service_panel({"display": d}, machine)
    w = panel.width
    h = panel.height
    buf = bytearray(panel.BUFFER_SIZE)
    prev = bytearray(panel.BUFFER_SIZE)
    panel.set_base(prev)
    fb = framebuf.FrameBuffer(buf, w, h, panel.BUFFER_FORMAT)
    fb.fill(0)
    fb.rect(0, 0, w, h, 1)
    fb.line(0, 0, w - 1, h - 1, 1)
    fb.fill_rect(4, 4, 24, 24, 1)
    fb.text("TL", 32, 12, 1)
    fb.text("sunprint panel test", 32, h // 2 - 28, 1)
    fb.text(kind, 32, h // 2 - 16, 1)
    bx = (w // 2) & ~7
    by = (h // 2) & ~7
    box = (bx, by, 88, 24)
    track = by + 32
    def feed():
        try:
            machine.WDT(timeout=30000).feed()
        except Exception:
            pass
    def report(step, name, t0, sent):
        print("%(prefix)s" + json.dumps({"step": step, "name": name, "ms":
              time.ticks_diff(time.ticks_ms(), t0), "bytes": panel.bytes_sent - sent}))
    def wait():
        t = 0
        while t < pause:
            feed()
            time.sleep_ms(min(500, pause - t))
            t += 500
    def draw(n, text):
        fb.fill_rect(box[0], box[1], box[2], box[3], 0)
        fb.rect(box[0], box[1], box[2], box[3], 1)
        fb.text(text, box[0] + 8, box[1] + 8, 1)
        fb.fill_rect(8, track, w - 16, 8, 0)
        fb.fill_rect(8 + (n * 24) %% (w - 24), track, 8, 8, 1)
    def update(step, name, full):
        print("%(prefix)s" + json.dumps({"begin": step, "name": name}))
        feed()
        t0 = time.ticks_ms()
        sent = panel.bytes_sent
        if full:
            panel.show(buf)
        else:
            panel.show_window(buf, 8, box[1], w - 16, track + 8 - box[1])
        prev[:] = buf
        report(step, name, t0, sent)
        wait()
    draw(0, "0")
    update(1, "full", True)
    for n in range(1, 11):
        draw(n, str(n))
        update(n + 1, "partial", False)
    print("%(prefix)s" + json.dumps({"begin": 12, "name": "sleep"}))
    t0 = time.ticks_ms()
    sent = panel.bytes_sent
    panel.sleep()
    report(12, "sleep", t0, sent)
    wait()
    draw(11, "11")
    update(13, "wake", False)
    draw(12, "done")
    update(14, "final", True)
    print("%(prefix)s" + json.dumps({"end": 14}))
_pt()
"""

STEPS = 14


class PanelTestError(Exception):
    """The job failed."""


def _display(board):
    from host_tools import boards

    profile = boards.load_board(board)
    d = profile["display"]
    if d["type"] not in boards.EPAPER:
        raise UserError(
            "--board %s: its display is a %s, not an e-paper panel (%s)"
            % (board, d["type"], ", ".join(boards.EPAPER))
        )
    return d


def unit_code(display, pause_ms):
    return UNIT_CODE % {"display": json.dumps(display), "pause": pause_ms, "prefix": _PREFIX}


def panel_test(port, board, *, pause_s=3.0, say=print, timeout=5.0, restart=True):
    """Run the sequence on the unit at `port` with the display of profile `board`. Returns
    {"steps": [{step, name, ms, bytes}, ...], "completed": bool}."""
    if pause_s < 0:
        raise UserError("--pause must be >= 0, not %g" % pause_s)
    display = _display(board)
    steps = []

    def on_line(line):
        if not line.startswith(_PREFIX):
            if line.strip():
                say("unit: " + line)
            return
        try:
            msg = json.loads(line[len(_PREFIX) :])
        except ValueError:
            return
        if "begin" in msg:
            say(
                "step %d/%d %s: look for %s"
                % (msg["begin"], STEPS, msg["name"], LOOK_FOR[msg["name"]])
            )
        elif "step" in msg:
            steps.append(msg)
            say("  done in %d ms, %d bytes to the panel" % (msg["ms"], msg["bytes"]))

    say(
        "%s: %s (%s) on %s" % (board, display["type"], json.dumps(display.get("options", {})), port)
    )
    with open_link(port, timeout=timeout) as link:  # soft reset: the app stops
        try:
            link.stream(unit_code(display, int(pause_s * 1000)), on_line, quiet_s=60)
        except DeviceError as e:
            raise PanelTestError(
                "%s: the unit failed at step %d: %s" % (port, len(steps) + 1, e)
            ) from e
        if restart:
            link.restart()  # the app runs again
    completed = len(steps) == STEPS
    if completed:
        say(
            "all %d steps ran; the app runs again" % STEPS
            if restart
            else "all %d steps ran" % STEPS
        )
    return {"steps": steps, "completed": completed}


def add_cli(sub):
    p = sub.add_parser(
        "panel-test",
        help="a short refresh sequence on a unit's e-paper panel, with what to look for",
        description="Drive the unit's e-paper panel through a full refresh, ten partial "
        "refreshes, deep sleep, a partial from deep sleep and a full refresh, saying at each "
        "step what the glass should show. The unit's app stops for the test and runs again "
        "after it.",
    )
    unitargs.add_port(p)
    p.add_argument("--board", required=True, help="board profile name (boards/NAME.json) or path")
    p.add_argument("--pause", type=float, default=3.0, help="seconds to look after each step")
    unitargs.add_timeout(p)
    p.set_defaults(func=cmd_panel_test)


def cmd_panel_test(args):
    try:
        result = panel_test(args.port, args.board, pause_s=args.pause, timeout=args.timeout)
    except (PanelTestError, LinkLost) as e:
        print("sunprint panel-test: failed: %s" % e, file=sys.stderr)
        return 1
    if not result["completed"]:
        print(
            "sunprint panel-test: failed: %d of %d steps ran" % (len(result["steps"]), STEPS),
            file=sys.stderr,
        )
        return 1
    return 0

"""`make golden` (its link part): the status screen with each Wi-Fi / MQTT link state, on every
e-paper panel size, in every language the panel shows, kept as reference frames in
tests/golden/status-link/<width>x<height>-<lang>-<state>.png (issue 17: the link text in both
languages). tests/host/test_link_golden.py draws the same and compares pixel for pixel.

The link text is the firmware's: sunprint.net.publish.Net.screen_text for each state of the
Wi-Fi station and the MQTT client; the other values are the sample ones (host_tools/screens.py).
Run on purpose after a change meant to alter the status screen, and look at the frames first.
The folder is replaced only if it holds nothing but such frames; nothing else is deleted.

    .venv/bin/python tools/make_link_golden.py
"""

import re
import shutil
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from host_tools import outfile  # noqa: E402
from host_tools.errors import UserError  # noqa: E402
from host_tools.paths import use_firmware  # noqa: E402
from host_tools.screens import SAMPLE, draw, languages, panel_fonts, panels, picture  # noqa: E402

GOLDEN = ROOT / "tests" / "golden" / "status-link"
FRAME = re.compile(r"\d+x\d+-(en|zh|both)-[a-z_]+\.png")


def link_states():
    """(state name, link text) for every text the status screen can show, from the firmware's
    Net.screen_text with the Wi-Fi station's and the MQTT client's state set."""
    use_firmware()
    from sunprint.net import mqtt, wifi
    from sunprint.net.publish import Net

    def text(wifi_state, mqtt_state):
        client = None if mqtt_state is None else SimpleNamespace(state=mqtt_state)
        net = SimpleNamespace(wifi=SimpleNamespace(state=wifi_state), client=client)
        return Net.screen_text(net)

    return (
        ("wifi_connecting", text(wifi.CONNECTING, mqtt.IDLE)),
        ("wifi_bad_password", text(wifi.BAD_PASSWORD, mqtt.IDLE)),
        ("wifi_no_ap", text(wifi.NO_AP, mqtt.IDLE)),
        ("wifi_down", text(wifi.DOWN, mqtt.IDLE)),
        ("wifi_up", text(wifi.UP, None)),  # Wi-Fi only: no mqtt_host
        ("mqtt_connecting", text(wifi.UP, mqtt.CONNACK)),
        ("mqtt_up", text(wifi.UP, mqtt.UP)),
    )


def link_frames():
    """{file name: Pillow image} of every status screen with every link state."""
    use_firmware()
    from sunprint.ui.layout import screen_names

    out = {}
    for width, height in panels():
        if "status" not in screen_names(width, height) or width < 128:  # e-paper only
            continue
        with panel_fonts(width, height) as fonts:
            for lang in languages(width, height):
                for state, link in link_states():
                    values = dict(SAMPLE, link=link)
                    buf, w, h = draw(width, height, "status", lang, values, fonts)
                    out["%dx%d-%s-%s.png" % (width, height, lang, state)] = picture(buf, w, h)
    return out


def main():
    try:
        _check_replaceable(GOLDEN)
    except UserError as e:
        print("make_link_golden: error: %s" % e, file=sys.stderr)
        return 2
    frames = link_frames()
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=".status-link.new-", dir=GOLDEN.parent))
    try:
        for name, img in sorted(frames.items()):
            img.convert("1").save(new / name, optimize=True)  # black and white: 1 bit a pixel
        _check_replaceable(GOLDEN)  # again: it may have changed meanwhile
        if GOLDEN.exists():
            shutil.rmtree(GOLDEN)
        new.rename(GOLDEN)
    finally:
        shutil.rmtree(new, ignore_errors=True)
    print("status-link: %d frames in %s" % (len(frames), GOLDEN.relative_to(ROOT)))
    return 0


def _check_replaceable(dest):
    if not dest.exists() and not dest.is_symlink():
        return
    if dest.is_symlink() or not dest.is_dir():
        raise UserError("%s: is not a folder of golden frames; move it away" % dest)
    for entry in sorted(dest.iterdir()):
        ok = FRAME.fullmatch(entry.name) and entry.is_file() and not entry.is_symlink()
        if not (ok and outfile.is_png(entry)):
            raise UserError("%s: holds %s, which this script did not write" % (dest, entry.name))


if __name__ == "__main__":
    sys.exit(main())

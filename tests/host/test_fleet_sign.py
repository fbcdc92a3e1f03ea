"""The fleet page's sign picture is the panel's: for a replayed (shortened) day, at every frame
the panel model shows, the state the unit would publish then, sent through the fleet's topic
parser and served by its web app as PNG, is the panel model's picture pixel for pixel."""

import io

import pytest
from PIL import Image, ImageChops
from starlette.testclient import TestClient

from host_tools import boards, replay
from host_tools.fleet import model, topics
from host_tools.fleet.web import FleetApp
from host_tools.paths import FONTS, LOGS, use_firmware

use_firmware()

from sunprint.core.ledger import CO2, COAL, LIFETIME  # noqa: E402
from sunprint.samplelog import read_rows  # noqa: E402

LOG = LOGS / "zhongshan-2024-10-15.csv"
FIRST, LAST = 3000, 5200  # rows: 08:20 to 14:26 local, 10 s apart


def published_state(core):
    """What the unit publishes at this moment (the provisional state schema), from its ledger."""
    app = core.app
    ledger = app.ledger
    return topics.state_payload(
        {
            "t": core.last_t,
            "power_w": app.power_mw / 1000,
            "today_mwh": ledger.today_mwh,
            "month_mwh": ledger.today_mwh,
            "year_mwh": ledger.today_mwh,
            "lifetime_mwh": ledger.mwh(LIFETIME),
            "co2_g": ledger.grams(CO2, LIFETIME),
            "coal_g": ledger.grams(COAL, LIFETIME),
            "factor_dg": app.carbon_row[2],
            "factor_source": app.carbon_row[3],
        }
    )


def _png_of(profile, w, h, data):
    kind = "led" if profile["display"]["type"] in ("max7219", "ws2812") else "epaper"
    if kind == "led":
        return replay.led_image(w, h, data, replay._led_color(profile)).convert("RGB")
    return replay.mono_image(w, h, data).convert("RGB")


# the 2.9" board's INA226 is for a small DC string (health max_w 800): the 10 kWp day scaled down
# An LED sign changes its screen every 5 s, a row is 10 s: a frame every 50 s (5 rows, prime to
# the rotation's 6 screens) meets every screen; a shorter stretch has plenty of frames.
@pytest.mark.parametrize(
    "board, scale, last",
    [("esp32-epd29-ina226", 0.08, LAST), ("esp32-max7219-s0", 1.0, FIRST + 300)],
)
def test_page_picture_is_the_panel_models(board, scale, last):
    from host_tools.replay_core import Replay

    profile = boards.load_board(board)
    fleet = model.Fleet(stale_after_s=1e9)
    web = FleetApp(fleet)
    client = TestClient(web.app)
    uid = "sp-%s" % board[-6:]
    fleet.on_message("sunprint/%s/status" % uid, b'{"board": "%s", "lang": "%s"}'
                     % (board.encode(), profile["layout"]["language"].encode()))  # fmt: skip
    checked = []
    differs = []
    seen = {}

    def sink(core, frame):
        fleet.on_message("sunprint/%s/state" % uid, published_state(core))
        r = client.get(
            "/unit/%s/sign.png" % uid, params={"screen": frame["screen"], "lang": frame["lang"]}
        )
        assert r.status_code == 200, r.text
        got = Image.open(io.BytesIO(r.content)).convert("RGB")
        w, h, data = core.rig.picture()
        want = _png_of(profile, w, h, data)
        assert got.size == want.size
        bbox = ImageChops.difference(got, want).getbbox()
        assert bbox is None, "frame %d (%s, %s): the page's picture differs in %s" % (
            frame["n"], frame["screen"], frame["lang"], bbox)  # fmt: skip
        key = (frame["screen"], frame["lang"])
        if key in seen and seen[key] != bytes(data):
            differs.append(frame["n"])
        seen[key] = bytes(data)
        checked.append(key)

    core = Replay(profile, str(FONTS), sink=sink, led_frame_every_s=50)
    with open(LOG) as f:
        for i, row in enumerate(read_rows(f)):
            if i >= last:
                break
            if i >= FIRST:
                core.feed(row[0], row[1] * scale, row[3])
    screens = set(checked)
    assert len(checked) >= 10
    assert core.app.power_mw > 0 and core.app.ledger.today_mwh > 0  # values, not zeros, drawn
    # every screen of the rotation was compared, and the pictures changed with the values
    from host_tools.fleet import sign

    rotation = set(sign.rotation(profile, profile["layout"]["language"]))
    assert screens == {p for p in rotation if p[0] != "status"}
    assert differs, (
        checked[:20],
        "no screen ever changed between its frames: the check could not fail",
    )


def test_a_different_power_is_a_different_picture():
    """The comparison above can fail: one watt more on the same state is another picture."""
    fleet = model.Fleet()
    client = TestClient(FleetApp(fleet).app)
    fleet.on_message("sunprint/u/status", b'{"board": "esp32-epd29-ina226"}')
    state = {"t": 1, "power_w": 512.0, "today_mwh": 1, "lifetime_mwh": 2, "factor_dg": 5306}
    fleet.on_message("sunprint/u/state", topics.state_payload(state))
    a = client.get("/unit/u/sign.png", params={"screen": "main", "lang": "en"}).content
    fleet.on_message("sunprint/u/state", topics.state_payload(dict(state, power_w=513.0)))
    b = client.get("/unit/u/sign.png", params={"screen": "main", "lang": "en"}).content
    assert a != b

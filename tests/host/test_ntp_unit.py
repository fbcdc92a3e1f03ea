"""The whole unit takes its time from NTP over Wi-Fi (issue 16): firmware/main.py boots in the
32-bit MicroPython unix port with the app frozen, at an ESP32's heap (110000 B; the chip and
panel models in this process, over the model link), with the simulated network.WLAN
(tests/firmware/network.py) and real UDP sockets. Its RTC starts at 2000-01-01; config.json
gives Wi-Fi and ntp_host on a loopback port (tests/host/ntp_unit.py is the unit's side).

- Against Debian's chronyd (tests/host/chrony_rig.py): the unit gets Wi-Fi, asks, sets its RTC
  to the server's time, and books its energy to the right day: the date it was held for while
  unknown goes to today (the monotonic clock proves it), nothing unattributed, nothing lost.
- Against servers that never answer (a chronyd that serves another address), answer garbage,
  or answer with a kiss-o'-death (a server of ours: chronyd 4.3 sends no KoD): no runner step
  takes long (each timed on the VM's own microsecond ticks; the SNTP request never waits), the
  unit never crashes, and its status JSON says what went wrong (no time source, NTP's
  timeouts, rejected replies, the kiss code) while the sign holds its periods (lifetime only).
"""

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mp32  # noqa: E402
from chrony_rig import Chrony  # noqa: E402
from conftest import micropython_env, run_with_models  # noqa: E402
from test_ntp import Server  # noqa: E402

from host_tools.mpycompile import compile_mpy  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "ntp_unit.py"
BOARD = ROOT / "boards" / "esp32-epd29-ina226.json"
WIFI_PW = "W1fi-secret-7"
TZ_S = 8 * 3600
EPOCH_2000 = 946684800
STEP_LIMIT_US = 500_000  # a runner step at most (a loaded machine): a 1.5 s NTP wait would show


def _unit(port, minutes):
    """One power-up of the unit in the VM; its END dict and everything it printed."""
    mp32.check()
    work = Path(tempfile.mkdtemp(prefix="sunprint-ntp-"))
    try:
        (work / "flash").mkdir()
        config = {
            "version": 3,
            "unit_id": "sp-ntp",
            "wifi_ssid": "site",
            "wifi_password": WIFI_PW,
            "ntp_host": "127.0.0.1:%d" % port,
        }
        (work / "config.json").write_text(json.dumps(config))
        args = {"board": str(BOARD), "fonts": str(ROOT / "assets" / "fonts"), "minutes": minutes}
        args["wifi_pw"] = WIFI_PW
        (work / "ntp_args.json").write_text(json.dumps(args))
        compile_mpy([(SCRIPT, work / "ntp_unit.mpy", "ntp_unit.py")])
        env = micropython_env(app_frozen=True)
        env["MICROPYPATH"] = str(work) + ":" + env["MICROPYPATH"]
        argv = [str(mp32.MICROPYTHON32_APP), "-X", "heapsize=%d" % mp32.HEAPSIZE]
        out, err, rc, _ = run_with_models(argv + ["-c", "import ntp_unit"], work, env, 300)
        assert rc == 0, out[-3000:] + err[-3000:]
        for line in out.splitlines():
            if line.startswith("END "):
                assert WIFI_PW not in out
                return json.loads(line[4:]), out
        raise AssertionError("no END line:\n" + out[-3000:] + err[-3000:])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_the_unit_takes_chronyd_time_and_books_the_right_day():
    with Chrony() as chrony:
        end, _ = _unit(chrony.port, 20)
        now = time.time()
    c = end["clock"]
    assert c["trusted"] and c["source"] == "ntp" and c["sets"] == 1, c
    assert c["detail"]["ntp"]["replies"] >= 1 and c["detail"]["ntp"]["timeouts"] == 0
    # the RTC holds the server's time (the host's), at most a second or two off and lagging
    # no more than the unit's virtual run is ahead of real time
    unix = end["rtc_wall"] + EPOCH_2000
    assert now - 2 <= unix <= now + 20 * 60 + 2
    assert end["trusted_after_s"] is not None and end["trusted_after_s"] <= 10  # Wi-Fi, then NTP
    assert end["day"] == (end["rtc_wall"] + TZ_S) // 86400  # today is the server's local date
    assert end["vouched"] and end["held_mwh"] == 0 and end["unattributed_mwh"] == 0
    # 200 W for 20 minutes, all of it today's (what came before the time: held, then proven)
    assert end["today_mwh"] == end["lifetime_mwh"]
    assert 200_000 * 18 // 60 <= end["lifetime_mwh"] <= 200_000 * 20 // 60 + 10
    assert end["max_step_us"] < STEP_LIMIT_US, end
    assert not end["faults"].get("tick"), end["faults"]


@pytest.fixture
def fake_server():
    s = Server()
    yield s
    s.close()


def _no_time(end):
    c = end["clock"]
    assert not c["trusted"] and c["source"] is None and c["no_time"]["ntp"] >= 1, c
    assert not end["vouched"] and end["held_mwh"] == end["lifetime_mwh"] > 0
    assert end["today_mwh"] == 0
    assert end["max_step_us"] < STEP_LIMIT_US, end
    assert not end["faults"].get("tick"), end["faults"]
    return c["detail"]["ntp"]


def test_a_server_that_never_answers_costs_the_tick_nothing():
    with Chrony(deny=True) as chrony:
        end, _ = _unit(chrony.port, 10)
    ntp = _no_time(end)
    assert ntp["requests"] >= 2 and ntp["timeouts"] >= 1 and ntp["replies"] == 0


def test_garbage_costs_the_tick_nothing(fake_server):
    fake_server.garbage = True
    end, _ = _unit(fake_server.port, 10)
    ntp = _no_time(end)
    assert ntp["rejected"] >= 2 and ntp["replies"] == 0


def test_a_kiss_of_death_costs_the_tick_nothing(fake_server):
    fake_server.stratum = 0
    end, _ = _unit(fake_server.port, 10)
    ntp = _no_time(end)
    assert ntp["kod"] >= 1 and ntp["kiss"] == "RATE" and ntp["replies"] == 0

"""The virtual board's RTC: it starts at 2000-01-01 00:00 UTC at every power-on, as an ESP32's,
runs in real time, keeps its time across a soft reset, and `time.time()` on the board is it
(never the host's clock); Link.set_rtc sets it from the laptop and says what it corrected."""

import time

import pytest

from host_tools.link import open_link
from host_tools.sim.board.vboard import VirtualBoard

NOW = "import time; print(time.time(), time.gmtime()[0], time.gmtime(0)[0])"


@pytest.fixture
def board(tmp_path):
    with VirtualBoard(tmp_path / "flash") as vb:
        port = vb.serve_pty()
        assert vb.wait_state("repl")
        yield vb, port


def _now(link):
    t, year, epoch = (int(x) for x in link.exec(NOW).decode().split())
    return t, year, epoch


def test_power_on_starts_at_2000_and_set_rtc_sticks_across_soft_reset_only(board):
    vb, port = board
    with open_link(port) as link:
        t, year, epoch = _now(link)
        assert 0 <= t < 60 and year == 2000 and epoch == 2000  # the ESP32 port's epoch
        host = time.time()
        offset = link.set_rtc(host)
        assert abs(offset - (int(host) - 946684800 - t)) <= 2
        t, year, _ = _now(link)
        assert abs(t - (time.time() - 946684800)) <= 2 and year >= 2026
        link.soft_reset()
        t, year, _ = _now(link)
        assert abs(t - (time.time() - 946684800)) <= 2, "a soft reset keeps the RTC"
        y, mo, d, wd, h, mi, s, us = eval(
            link.exec("import machine; print(machine.RTC().datetime())")
        )
        g = time.gmtime()
        assert (y, mo, d) == (g.tm_year, g.tm_mon, g.tm_mday) and wd == g.tm_wday
        assert link.set_rtc(time.time()) in (-1, 0, 1)  # nothing to correct now
    vb.reset(hard=True)  # power-on: back to 2000
    assert vb.wait_state("repl")
    with open_link(port) as link:
        t, year, _ = _now(link)
        assert 0 <= t < 60 and year == 2000

"""The SNTP time source (firmware/sunprint/clock/ntp.py) against a small NTP server on a local
UDP port, itself checked with an outside client (PyPI ntplib 0.4.0). CPython: real sockets."""

import socket
import struct
import threading
import time

import ntplib
import pytest

from sunprint.clock.keeper import ClockKeeper
from sunprint.clock.ntp import Ntp

NTP_1900_UNIX = 2208988800
T_UNIX = 1728911107.25  # 2024-10-14 13:05:07.25 UTC


class Server:
    """An NTP server (RFC 4330 section 5, server side) on 127.0.0.1: answers mode 3 requests
    with mode 4, copying the client's transmit timestamp into the originate timestamp. `now`
    is the time it serves (Unix seconds); `li`, `stratum`, `delay_s`, `drop`, `stale` make
    faults."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.now = T_UNIX
        self.li, self.stratum, self.delay_s = 0, 2, 0.0
        self.drop = False
        self.stale = False  # first send a reply to some other request
        self.requests = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _stamp(self, t):
        t += NTP_1900_UNIX
        return struct.pack("!II", int(t), int((t % 1) * 2**32))

    def _serve(self):
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(512)
            except OSError:
                continue
            if len(data) < 48 or data[0] & 7 != 3:
                continue
            self.requests += 1
            if self.drop:
                continue
            if self.delay_s:
                time.sleep(self.delay_s)
            head = bytes([self.li << 6 | 4 << 3 | 4, self.stratum, 6, 0xEC])
            body = b"\0" * 8 + b"LOCL" + self._stamp(self.now - 1)
            reply = head + body + data[40:48] + self._stamp(self.now) + self._stamp(self.now)
            if self.stale:
                self.sock.sendto(reply[:24] + b"\x01" * 8 + reply[32:], addr)
            self.sock.sendto(reply, addr)

    def close(self):
        self._stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def test_the_server_is_an_ntp_server_for_ntplib(server):
    r = ntplib.NTPClient().request("127.0.0.1", version=4, port=server.port, timeout=2)
    assert abs(r.tx_time - T_UNIX) < 0.01 and r.stratum == 2 and r.leap == 0 and r.mode == 4


def test_ntp_reads_the_server_time_in_firmware_seconds(server):
    src = Ntp(socket, "127.0.0.1", server.port, timeout_ms=500)
    r = src.read()
    assert r is not None and r[0] == int(T_UNIX) - 946684800 and 500 <= r[1] < 1000
    server.now += 3600.8  # the half round trip and the fraction are rounded into the second
    assert src.read()[0] == int(T_UNIX) - 946684800 + 3601 and src.requests == 2
    src.close()


def test_bad_replies_and_silence_give_no_time(server):
    src = Ntp(socket, "127.0.0.1", server.port, timeout_ms=300)
    server.stratum = 0  # kiss-o'-death
    assert src.read() is None and src.rejected == 1
    server.stratum, server.li = 2, 3  # the server is not synchronised
    assert src.read() is None and src.rejected == 2
    server.li = 0
    server.stale = True  # a reply to another request first: skipped, ours taken
    assert src.read()[0] == int(T_UNIX) - 946684800
    server.drop = True
    t0 = time.monotonic()
    assert src.read() is None and src.timeouts == 1
    assert time.monotonic() - t0 < 1.0  # the tick waits no longer than the timeout
    server.drop = False
    assert src.read() is not None  # a fresh socket after the timeout


def test_no_server_at_all_is_no_time_not_an_error():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    src = Ntp(socket, "127.0.0.1", port, timeout_ms=200)
    assert src.read() is None and src.read() is None


def test_keeper_prefers_ntp_and_falls_back(server):
    class Rtc:
        w = 0

        def wall(self):
            return self.w

        def set(self, wall):
            self.w = wall

    class Module:
        reading = [0, 1000]

        def read(self):
            self.reading[0] = int(T_UNIX) - 946684800 + 7  # an RTC module 7 s fast
            return self.reading

    k = ClockKeeper(Rtc(), [("ntp", Ntp(socket, "127.0.0.1", server.port)), ("ds3231", Module())])
    assert k.tick(0) == int(T_UNIX) - 946684800 and k.source == 0
    server.drop = True
    k.tick(3600)
    assert k.source == 1 and k.last_delta_s == 7 and k.corrections == 1

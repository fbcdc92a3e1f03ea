"""The SNTP time source (firmware/sunprint/clock/ntp.py): against a real NTP server (Debian's
chronyd, tests/host/chrony_rig.py) and against a small NTP server of our own on a local UDP
port that makes the faults chrony will not (kiss-o'-death, garbage, stale replies), itself
checked with an outside client (PyPI ntplib 0.4.0). CPython: real sockets. A read never waits:
it sends, and a later read collects (ask() below is the keeper's tick loop, in little)."""

import socket
import struct
import threading
import time

import ntplib
import pytest
from chrony_rig import Chrony

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
        self.garbage = False  # answer with 48 bytes of noise, then a 13-byte datagram
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
            if self.garbage:
                self.sock.sendto(bytes((i * 37 + 11) & 255 for i in range(48)), addr)
                self.sock.sendto(b"hello, world!", addr)
                continue
            head = bytes([self.li << 6 | 4 << 3 | 4, self.stratum, 6, 0xEC])
            ref = b"RATE" if self.stratum == 0 else b"LOCL"  # a kiss code when stratum 0
            body = b"\0" * 8 + ref + self._stamp(self.now - 1)
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


def ask(src, limit_s=3.0):
    """read() until the source is no longer waiting: (reading or None, reads, longest read s)."""
    longest = 0.0
    reads = 0
    deadline = time.monotonic() + limit_s
    while True:
        t0 = time.perf_counter()
        r = src.read()
        longest = max(longest, time.perf_counter() - t0)
        reads += 1
        if r is not None or not src.pending or time.monotonic() > deadline:
            return (list(r) if r is not None else None), reads, longest
        time.sleep(0.002)


def test_the_server_is_an_ntp_server_for_ntplib(server):
    r = ntplib.NTPClient().request("127.0.0.1", version=4, port=server.port, timeout=2)
    assert abs(r.tx_time - T_UNIX) < 0.01 and r.stratum == 2 and r.leap == 0 and r.mode == 4


def test_ntp_reads_chronyd_time():
    with Chrony() as chrony:
        peer = ntplib.NTPClient().request("127.0.0.1", version=4, port=chrony.port, timeout=2)
        assert peer.stratum == 8 and peer.mode == 4
        src = Ntp(socket, "127.0.0.1", chrony.port)
        assert src.read() is None and src.pending and src.requests == 1  # sent, not waited
        r, reads, longest = ask(src)
        assert r is not None and reads >= 1 and longest < 0.05
        now = time.time() - 946684800
        assert abs(r[0] - now) <= 1 + r[1] / 1000 and 500 <= r[1] < 1500 and src.replies == 1
        r2, _, _ = ask(src)  # and again, on the same socket
        assert r2 is not None and src.requests == 2 and src.timeouts == 0
        src.close()


def test_a_chronyd_that_refuses_us_costs_no_wait():
    with Chrony(deny=True) as chrony:
        src = Ntp(socket, "127.0.0.1", chrony.port, timeout_ms=300)
        r, reads, longest = ask(src)
        assert r is None and not src.pending and src.timeouts == 1
        assert reads > 10 and longest < 0.05  # each read returned at once


def test_ntp_reads_the_server_time_in_firmware_seconds(server):
    src = Ntp(socket, "127.0.0.1", server.port, timeout_ms=500)
    r, _, _ = ask(src)
    assert r is not None and r[0] == int(T_UNIX) - 946684800 and 500 <= r[1] < 1000
    server.now += 3600.8  # the half round trip and the fraction are rounded into the second
    assert ask(src)[0][0] == int(T_UNIX) - 946684800 + 3601 and src.requests == 2
    src.close()


def test_bad_replies_and_silence_give_no_time(server):
    src = Ntp(socket, "127.0.0.1", server.port, timeout_ms=300)
    server.stratum = 0  # kiss-o'-death
    assert ask(src)[0] is None and src.kod == 1 and src.kiss == "RATE" and not src.pending
    server.stratum, server.li = 2, 3  # the server is not synchronised
    assert ask(src)[0] is None and src.rejected == 1
    server.li = 0
    server.stale = True  # a reply to another request first: skipped, ours taken
    assert ask(src)[0][0] == int(T_UNIX) - 946684800 and src.rejected == 2
    server.stale = False
    server.garbage = True  # noise: rejected, then the request times out
    r, reads, longest = ask(src)
    assert r is None and src.rejected >= 3 and src.timeouts == 1 and longest < 0.05
    server.garbage = False
    server.drop = True
    r, reads, longest = ask(src)
    assert r is None and src.timeouts == 2 and longest < 0.05  # no read waited
    server.drop = False
    assert ask(src)[0] is not None  # a fresh socket after the timeout
    st = src.status()
    assert st["kod"] == 1 and st["timeouts"] == 2 and st["kiss"] == "RATE"


def test_no_server_at_all_is_no_time_not_an_error():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    src = Ntp(socket, "127.0.0.1", port, timeout_ms=200)
    assert ask(src)[0] is None and ask(src)[0] is None  # ICMP refused or a timeout: no raise


def test_no_link_no_request():
    class Link:
        state = 5  # sunprint.net.wifi.DOWN
        ups = 0

    link = Link()
    src = Ntp(socket, "127.0.0.1", 9, link=link)
    assert src.read() is None and src.requests == 0 and not src.pending


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

    ntp = Ntp(socket, "127.0.0.1", server.port, timeout_ms=300)
    k = ClockKeeper(Rtc(), [("ntp", ntp), ("ds3231", Module())])
    k.tick(0)
    assert k.pending and k.source == -1  # asked: the round waits for NTP, not the module
    for now in range(1, 5):
        time.sleep(0.02)
        k.tick(now)
        if not k.pending:
            break
    assert k.source == 0 and k.rtc.w == int(T_UNIX) - 946684800
    server.drop = True
    now = 3700  # the next sync is due (an hour after the first)
    while True:
        k.tick(now)
        if not k.pending:
            break
        time.sleep(0.05)
        now += 1
    assert k.source == 1 and k.last_delta_s == 7 and k.corrections == 1 and now > 3700


def test_a_failed_look_up_backs_off():
    class NoDns:
        AF_INET = socket.AF_INET
        SOCK_DGRAM = socket.SOCK_DGRAM
        calls = 0

        def getaddrinfo(self, host, port):
            self.calls += 1
            raise OSError(-2, "name not known")  # as a resolver that has no answer

    class Ms:
        ms = 0

        def __call__(self):
            return self.ms

    dns, ms = NoDns(), Ms()
    src = Ntp(dns, "pool.ntp.org", ticks_ms=ms)
    assert src.read() is None and dns.calls == 1 and src.lookup_errors == 1
    waits = []
    for _ in range(8):
        start = ms.ms
        while dns.calls == len(waits) + 1:
            ms.ms += 1000
            assert src.read() is None and not src.pending
        waits.append((ms.ms - start) // 60000)
    assert waits == [1, 2, 4, 8, 16, 32, 64, 64]  # minutes between look-ups
    assert src.status()["lookup_errors"] == 9 == src.errors  # the waits are no errors

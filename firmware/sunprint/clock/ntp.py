"""SNTP (RFC 4330) as a time source (sunprint.clock), ntptime-style but never waiting.

    src = Ntp(socket, "pool.ntp.org", link=wifi)   # the socket module handed in
    r = src.read()        # [wall_s, quality_ms], or None (no link, asked, waiting, no answer)

A read never waits for the network. The first read (the link up: link.state == wifi UP, or no
link given) sends a 48-byte client request (LI 0, version 4, mode 3) from one preallocated
buffer on a non-blocking UDP socket and returns None with `pending` set; each later read polls
the socket (select.poll, zero timeout: ipoll on MicroPython, which allocates nothing) and takes
the reply when it is there. No reply within timeout_ms (ticks_ms since the request) is a
timeout: None, `pending` cleared, the socket closed (a fresh one next time). The caller
(clock.keeper.ClockKeeper) reads again on its next tick while `pending` is set.

The reply is checked as RFC 4330 section 5 says a client must: mode 4 (server), a stratum of
1-15 (0 is a kiss-o'-death: `kod` counts them and the code, e.g. "RATE", is kept in kiss),
leap indicator not 3 (server unsynchronised), a non-zero transmit timestamp, and our transmit
timestamp echoed as the originate timestamp (a late reply to an earlier request, or one not
for us, is skipped). Anything else that arrives (a short datagram, garbage) is `rejected`. The
reading is the server's transmit time plus half the round trip, in whole seconds; quality_ms
is half the round trip plus the rounding. The server's address is looked up once
(getaddrinfo, at the first request with the link up) and kept; a failed look-up is retried
after 1 min, then 2, 4... up to 64 min (a DNS name may wait for the resolver: the only call
that can).
Seconds are taken from the 32-bit NTP timestamp in two 16-bit halves, so the 1900 -> 2000 epoch
shift never builds an int above 2**30: nothing is allocated by a read once the socket exists.
"""

from sunprint.compat import const, ticks_diff, ticks_ms

_NTP_2000_HI = const(0xBC17)  # 3155673600 s, 1900-01-01 to 2000-01-01, as two 16-bit halves
_NTP_2000_LO = const(0xC200)
_MODE_CLIENT = const(0x23)  # LI 0, VN 4, mode 3
_MODE_SERVER = const(4)
_LINK_UP = const(2)  # sunprint.net.wifi.UP (not imported: a unit without Wi-Fi never loads it)
_POLLIN = const(1)
_MAX_DRAIN = const(4)  # datagrams read per poll at most (stale or foreign ones are skipped)
# getaddrinfo is the one call that can wait (a DNS name: the resolver): after a failed look-up
# the next waits 1 min, doubling up to 64 min, so a dead resolver cannot stall every round
_LOOKUP_BACKOFF_MS = const(60000)
_LOOKUP_BACKOFF_MAX = const(6)  # doublings


class Ntp:
    def __init__(self, socket, host, port=123, timeout_ms=1500, ticks_ms=ticks_ms, link=None):
        self._socket = socket
        self.host = host
        self.port = port
        self.timeout_ms = timeout_ms
        self.link = link  # an object with .state (sunprint.net.wifi.Wifi), or None: always up
        self._ticks_ms = ticks_ms
        self._buf = bytearray(48)
        self._addr = None
        self._lookup_fails = 0
        self._lookup_at = 0  # ticks_ms of the last failed look-up
        self._sock = None
        self._poll = None
        self._ipoll = None  # the poller's ipoll (MicroPython), or None (CPython: poll)
        self._seq = 0
        self._sent = 0
        self.pending = False  # a request is on its way: read again on a later tick
        self.reading = [0, 0]
        self.requests = 0
        self.replies = 0  # readings given
        self.timeouts = 0  # requests that got no usable answer in time
        self.rejected = 0  # datagrams that failed a check (garbage, a foreign or stale reply)
        self.kod = 0  # kiss-o'-death replies (stratum 0)
        self.kiss = ""  # the last one's code ("RATE", "DENY"...)
        self.errors = 0  # socket errors (no route, a look-up that failed)
        self.lookup_errors = 0  # failed look-ups of host
        self.rtt_ms = -1

    def status(self):
        """{name: value} for the status JSON's clock (ClockKeeper.status): what went wrong."""
        return {
            "host": self.host,
            "requests": self.requests,
            "replies": self.replies,
            "timeouts": self.timeouts,
            "rejected": self.rejected,
            "kod": self.kod,
            "kiss": self.kiss or None,
            "errors": self.errors,
            "lookup_errors": self.lookup_errors,
            "rtt_ms": self.rtt_ms if self.rtt_ms >= 0 else None,
        }

    def close(self):
        self.pending = False
        sock = self._sock
        if sock is not None:
            self._sock = None
            self._poll = None
            self._ipoll = None
            try:
                sock.close()
            except OSError:
                pass

    def read(self):
        link = self.link
        if link is not None and link.state != _LINK_UP:
            if self._sock is not None:
                self.close()  # the link went: whatever was asked is lost with it
            return None
        try:
            if self.pending:
                return self._collect()
            self._request()
        except OSError:  # no route, a look-up that failed, the network down: none this round
            self.errors += 1
            self.close()
        return None

    def _open(self):
        s = self._socket
        if self._addr is None:
            n = self._lookup_fails
            if n:
                wait = _LOOKUP_BACKOFF_MS << (
                    n - 1 if n <= _LOOKUP_BACKOFF_MAX else _LOOKUP_BACKOFF_MAX
                )
                if ticks_diff(self._ticks_ms(), self._lookup_at) < wait:
                    return None  # not yet: no request this round
            try:
                self._addr = s.getaddrinfo(self.host, self.port)[0][-1]
            except OSError:
                self._lookup_fails = n + 1
                self._lookup_at = self._ticks_ms()
                self.lookup_errors += 1
                raise
            self._lookup_fails = 0
        sock = s.socket(s.AF_INET, s.SOCK_DGRAM)
        sock.setblocking(False)
        self._sock = sock
        import select  # only a unit with NTP loads it

        p = select.poll()
        p.register(sock, _POLLIN)
        self._poll = p
        self._ipoll = getattr(p, "ipoll", None)
        return sock

    def _request(self):
        sock = self._sock
        if sock is None:
            sock = self._open()
            if sock is None:
                return
        buf = self._buf
        for i in range(48):
            buf[i] = 0
        buf[0] = _MODE_CLIENT
        seq = self._seq = (self._seq + 1) & 0x3FFFFFFF
        # our transmit timestamp: a sequence number, echoed back as the originate timestamp
        buf[44] = seq >> 24
        buf[45] = seq >> 16 & 0xFF
        buf[46] = seq >> 8 & 0xFF
        buf[47] = seq & 0xFF
        self._sent = self._ticks_ms()
        sock.sendto(buf, self._addr)
        self.requests += 1
        self.pending = True

    def _ready(self):
        ipoll = self._ipoll
        if ipoll is not None:
            for _ in ipoll(0):  # MicroPython: no list, the same tuple each time
                return True
            return False
        poll = self._poll
        return poll is not None and len(poll.poll(0)) > 0  # CPython

    def _collect(self):
        sock = self._sock
        if sock is None:  # (closed under a pending request: nothing to collect)
            self.pending = False
            return None
        buf = self._buf
        seq = self._seq
        rtt = ticks_diff(self._ticks_ms(), self._sent)
        for _ in range(_MAX_DRAIN):
            if not self._ready():
                break
            n = sock.readinto(buf) if hasattr(sock, "readinto") else sock.recv_into(buf)
            if n is None:
                break  # nothing after all (a non-blocking read)
            if n != 48 or not _echoes(buf, seq):
                self.rejected += 1  # garbage, or a reply to another request
                continue
            self.pending = False
            return self._take(buf, rtt)
        if rtt > self.timeout_ms:
            self.timeouts += 1
            self.close()  # a fresh socket next time: a late answer is not read by the next
        return None

    def _take(self, buf, rtt):
        self.rtt_ms = rtt
        if buf[1] == 0 and buf[0] & 7 == _MODE_SERVER:
            self.kod += 1  # kiss-o'-death: the code is in the reference id (bytes 12-15)
            kiss = ""  # rare: may allocate
            for j in range(12, 16):
                c = buf[j]
                kiss += chr(c) if 32 < c < 127 else "?"  # a server's garbage stays printable
            self.kiss = kiss
            return None
        if buf[0] >> 6 == 3 or buf[0] & 7 != _MODE_SERVER or not 1 <= buf[1] <= 15:
            self.rejected += 1
            return None
        hi = buf[40] << 8 | buf[41]
        lo = buf[42] << 8 | buf[43]
        if hi == 0 and lo == 0:
            self.rejected += 1
            return None
        # milliseconds: the fraction (first byte: 1/256 s) and half the round trip
        ms = buf[44] * 1000 // 256 + rtt // 2
        r = self.reading
        r[0] = (hi - _NTP_2000_HI) * 65536 + (lo - _NTP_2000_LO) + ms // 1000
        r[1] = rtt // 2 + 500  # half the round trip, plus the whole-second rounding
        self.replies += 1
        return r


def _echoes(buf, seq):
    return (
        buf[24] == 0
        and buf[25] == 0
        and buf[26] == 0
        and buf[27] == 0
        and buf[28] == seq >> 24
        and buf[29] == seq >> 16 & 0xFF
        and buf[30] == seq >> 8 & 0xFF
        and buf[31] == seq & 0xFF
    )

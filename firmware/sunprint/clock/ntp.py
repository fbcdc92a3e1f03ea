"""SNTP (RFC 4330) as a time source (sunprint.clock), ntptime-style: one request, one reply.

    src = Ntp(socket, "pool.ntp.org")   # the socket module handed in (usocket on a unit)
    r = src.read()                      # [wall_s, quality_ms] or None

read() sends a 48-byte client request (LI 0, version 4, mode 3) from one preallocated buffer
and waits for the reply at most timeout_ms (a short socket timeout: the tick never stalls
longer), then checks it as RFC 4330 section 5 says a client must: mode 4 (server), a stratum
of 1-15 (0 is a kiss-o'-death), leap indicator not 3 (server unsynchronised), a non-zero
transmit timestamp, and our transmit timestamp echoed as the originate timestamp (a late reply
to an earlier request, or one not for us, is dropped). The reading is the server's transmit
time plus half the round trip, in whole seconds; quality_ms is half the round trip plus the
rounding. The server's address is looked up once (getaddrinfo, at the first read) and kept.
Seconds are taken from the 32-bit NTP timestamp in two 16-bit halves, so the 1900 -> 2000 epoch
shift never builds an int above 2**30 (nothing allocated on a read once the socket exists).
"""

from sunprint.compat import const, ticks_diff, ticks_ms

_NTP_2000_HI = const(0xBC17)  # 3155673600 s, 1900-01-01 to 2000-01-01, as two 16-bit halves
_NTP_2000_LO = const(0xC200)
_MODE_CLIENT = const(0x23)  # LI 0, VN 4, mode 3
_MODE_SERVER = const(4)


class Ntp:
    def __init__(self, socket, host, port=123, timeout_ms=500, ticks_ms=ticks_ms):
        self._socket = socket
        self.host = host
        self.port = port
        self.timeout_ms = timeout_ms
        self._ticks_ms = ticks_ms
        self._buf = bytearray(48)
        self._addr = None
        self._sock = None
        self._seq = 0
        self.reading = [0, 0]
        self.requests = 0
        self.timeouts = 0
        self.rejected = 0  # replies that failed a check
        self.rtt_ms = -1

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def read(self):
        try:
            return self._read()
        except OSError:  # no route, a timeout, the network down: no time this round
            self.timeouts += 1
            self.close()  # a fresh socket next time
            return None

    def _read(self):
        s = self._socket
        if self._addr is None:
            self._addr = s.getaddrinfo(self.host, self.port)[0][-1]
        if self._sock is None:
            sock = s.socket(s.AF_INET, s.SOCK_DGRAM)
            sock.settimeout(self.timeout_ms / 1000)
            self._sock = sock
        sock = self._sock
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
        ticks = self._ticks_ms
        sent = ticks()
        sock.sendto(buf, self._addr)
        self.requests += 1
        while True:
            n = sock.readinto(buf) if hasattr(sock, "readinto") else sock.recv_into(buf)
            rtt = ticks_diff(ticks(), sent)
            if n == 48 and _echoes(buf, seq):
                break
            if rtt > self.timeout_ms:
                raise OSError(110)  # ETIMEDOUT: only stale or foreign datagrams came
        self.rtt_ms = rtt
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

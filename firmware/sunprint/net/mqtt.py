"""A minimal MQTT 3.1.1 client that never blocks the tick: QoS 0 publish, last will, keepalive.

Written for sunprint instead of vendoring micropython-lib's umqtt.simple (MIT), whose connect()
and publish() block on the socket (a broker that never answers CONNECT holds the caller until
the socket timeout) and allocate per publish (bytearray header, topic and payload writes). This
one keeps a state machine that tick(now) advances by at most one non-blocking step:

  IDLE     no connection; the next try after the backoff (2 s doubling to 300 s)
  TCP      a non-blocking connect() in progress; polled for writability
  CONNACK  CONNECT sent; waiting (up to timeout_ms, real time: the app's seconds may be a
           replay's) for the broker's CONNACK
  UP       connected: publish() sends, keepalive PINGREQ after keepalive_s / 2 of silence

A broker that is down, refuses the connection or the credentials, sends garbage, closes
mid-packet or never answers is a fault: `faults` counts them, `last_error` names the last one
(a constant text: never the credentials), the socket is closed and a retry follows the
backoff. The only name lookup is socket.getaddrinfo of mqtt_host on the first try (an address
literal resolves at once; a DNS name may block for the resolver's timeout, once).

publish(topic, buf, start, end, retain) sends buf[start:end] as the payload: the PUBLISH
header and the topic are written into buf just before start (buf must have room: HEADROOM +
len(topic) bytes), so one preallocated buffer serves every message and no bytes are copied
or allocated (MicroPython: socket.write(buf, off, n)).
"""

import socket

from sunprint.compat import const, ticks_diff, ticks_ms

try:
    import select
except ImportError:  # pragma: no cover - a port without select
    select = None

IDLE = const(0)
TCP = const(1)
CONNACK = const(2)
UP = const(3)
STATE_NAMES = ("down", "connecting", "connecting", "up")
HEADROOM = const(5)  # fixed header (1) + remaining length (up to 2 used here) + topic length (2)

_EAGAIN = (11, 35)  # EAGAIN / EWOULDBLOCK (Linux, lwIP 11; BSD 35)
_EINPROGRESS = (115, 119, 36)  # Linux 115, lwIP 119, BSD 36
_BACKOFF_MIN_S = const(2)
_BACKOFF_MAX_S = const(300)
_READS = const(8)  # reads of the 16-byte buffer per tick, at most
_POLLOUT = const(4)
_POLLERR = const(8)
_POLLHUP = const(16)
_REFUSED = (
    "CONNACK: refused",
    "CONNACK: refused: protocol version",
    "CONNACK: refused: client id",
    "CONNACK: refused: server unavailable",
    "CONNACK: refused: bad user name or password",
    "CONNACK: refused: not authorised",
)


class Client:
    def __init__(
        self,
        client_id,
        host,
        port=1883,
        user="",
        password="",
        will_topic=None,
        will_message=b"offline",
        keepalive_s=60,
        timeout_ms=10000,
    ):
        self.client_id = client_id
        self.host = host
        self.port = port
        self.user = user
        self._password = password
        self.will_topic = will_topic
        self.will_message = will_message
        self.keepalive_s = keepalive_s
        self.timeout_ms = timeout_ms  # real time: TCP connect and CONNACK, each
        self.state = IDLE
        self.faults = 0
        self.last_error = None
        self.connects = 0  # CONNACKs accepted
        self.sent = 0  # PUBLISH packets written
        self._sock = None
        self._addr = None
        self._poll = None
        self._next_try = 0
        self._backoff = _BACKOFF_MIN_S
        self._since = 0  # ticks_ms when the connect or CONNECT was sent
        self._last_tx = 0
        self._pinging = False  # a PINGREQ in flight, sent at ticks_ms _ping_at
        self._ping_at = 0
        self._rx = bytearray(16)
        self._small = bytearray(2)
        # the packet parser: header byte (-1: none), remaining length, its varint shift,
        # bytes of body still to come, the first two body bytes
        self._ph = -1
        self._plen = 0
        self._pshift = -1
        self._pleft = 0
        self._pbody = bytearray(2)
        self._pgot = 0

    # --- the state machine ---

    def tick(self, now):
        """One non-blocking step at monotonic second now; True when connected."""
        st = self.state
        if st == UP:
            self._read(now)
            if self.state == UP:
                # keepalive is the broker's real time (the app's seconds may be a replay's)
                ka = self.keepalive_s * 1000
                t = ticks_ms()
                if self._pinging:
                    if ticks_diff(t, self._ping_at) >= ka:
                        self._fail(now, "no PINGRESP")
                elif ticks_diff(t, self._last_tx) >= ka // 2:
                    small = self._small
                    small[0] = 0xC0
                    small[1] = 0
                    if self._send(now, small, 0, 2):
                        self._ping_at = t
                        self._pinging = True
            return self.state == UP
        if st == IDLE:
            if now >= self._next_try:
                self._open(now)
            return False
        if st == TCP:
            ev = self._poll_events()
            if ev & (_POLLERR | _POLLHUP):
                self._fail(now, "connection refused")
            elif ev & _POLLOUT:
                self._send_connect(now)
            elif ticks_diff(ticks_ms(), self._since) >= self.timeout_ms:
                self._fail(now, "no TCP connection")
            return False
        # CONNACK
        self._read(now)
        if self.state == CONNACK and ticks_diff(ticks_ms(), self._since) >= self.timeout_ms:
            self._fail(now, "no CONNACK")
        return self.state == UP

    def publish(self, now, topic, buf, start, end, retain=False):
        """Send buf[start:end] to topic (bytes) at QoS 0; False (and a fault) when it could
        not be sent. The header goes into buf[start - HEADROOM - len(topic):start]."""
        if self.state != UP:
            return False
        tl = len(topic)
        rem = end - start + tl + 2
        i = start - tl
        for k in range(tl):  # the topic, byte by byte: a slice assignment may allocate
            buf[i + k] = topic[k]
        buf[i - 2] = tl >> 8
        buf[i - 1] = tl & 0xFF
        i -= 2  # the topic length's first byte
        if rem > 127:
            if rem >> 7 > 127:
                self._fail(now, "message too long")
                return False
            i -= 3
            buf[i + 1] = (rem & 0x7F) | 0x80
            buf[i + 2] = rem >> 7
        else:
            i -= 2
            buf[i + 1] = rem
        buf[i] = 0x31 if retain else 0x30
        if not self._send(now, buf, i, end - i):
            return False
        self.sent += 1
        return True

    def drop(self):
        """The link is gone: close without DISCONNECT (the broker then sends the will, as it
        would for a unit that lost power) and start again after it is back."""
        self._close()
        self.state = IDLE

    def disconnect(self):
        """A clean DISCONNECT (the broker then does not send the will) and close."""
        if self.state == UP:
            small = self._small
            small[0] = 0xE0
            small[1] = 0
            try:
                self._write(small, 0, 2)
            except OSError:
                pass
        self._close()
        self.state = IDLE

    # --- steps ---

    def _open(self, now):
        try:
            if self._addr is None:
                self._addr = socket.getaddrinfo(self.host, self.port)[0][-1]
            s = socket.socket()
        except (OSError, IndexError):
            self._fail(now, "cannot resolve the broker")
            return
        self._sock = s
        s.setblocking(False)
        try:
            s.connect(self._addr)
        except OSError as e:
            if not e.args or e.args[0] not in _EINPROGRESS:
                self._fail(now, "connection refused")
                return
        if select is not None:
            p = select.poll()
            p.register(s, _POLLOUT)
            self._poll = p
        self.state = TCP
        self._since = ticks_ms()

    def _poll_events(self):
        p = self._poll
        if p is None:
            return _POLLOUT
        ev = 0
        for entry in p.poll(0):
            ev |= entry[1]
        return ev

    def _send_connect(self, now):
        self._poll = None
        pkt = bytearray(b"\x00\x04MQTT\x04\x02")
        flags = 0x02  # clean session
        pkt.append(self.keepalive_s >> 8)
        pkt.append(self.keepalive_s & 0xFF)
        _field(pkt, self.client_id)
        if self.will_topic:
            flags |= 0x24  # will, retained, QoS 0
            _field(pkt, self.will_topic)
            _field(pkt, self.will_message)
        if self.user:
            flags |= 0x80
            _field(pkt, self.user)
            if self._password:
                flags |= 0x40
                _field(pkt, self._password)
        pkt[7] = flags
        rem = len(pkt)
        head = bytearray(b"\x10")
        while True:
            b = rem & 0x7F
            rem >>= 7
            head.append(b | 0x80 if rem else b)
            if not rem:
                break
        pkt = head + pkt
        if not self._send(now, pkt, 0, len(pkt)):
            return
        self._ph = -1
        self.state = CONNACK
        self._since = ticks_ms()

    def _read(self, now):
        # at most _READS buffers a tick: a broker that floods the unit cannot hold the tick
        rx = self._rx
        for _ in range(_READS):
            if self.state != CONNACK and self.state != UP:
                return
            try:
                n = self._recv(rx)
            except OSError:
                self._fail(now, "connection lost")
                return
            if n is None:
                return  # nothing more for now
            if n == 0:
                what = "closed mid-packet" if self._ph >= 0 else "closed by the broker"
                self._fail(now, what)
                return
            for k in range(n):
                if not self._byte(now, rx[k]):
                    return

    def _byte(self, now, b):
        # One received byte into the parser; False when it ended the connection.
        if self._ph < 0:
            kind = b & 0xF0
            if kind != 0x20 and kind != 0xD0 or (kind == 0x20) != (self.state == CONNACK):
                self._fail(now, "garbage from the broker")
                return False
            self._ph = b
            self._plen = 0
            self._pshift = 0
            self._pgot = 0
            return True
        if self._pshift >= 0:
            self._plen |= (b & 0x7F) << self._pshift
            if b & 0x80:
                self._pshift += 7
                if self._pshift > 21:
                    self._fail(now, "garbage from the broker")
                    return False
                return True
            self._pshift = -1
            self._pleft = self._plen
            want = 2 if self._ph == 0x20 else 0
            if self._plen != want:
                self._fail(now, "garbage from the broker")
                return False
        else:
            self._pbody[self._pgot] = b
            self._pgot += 1
            self._pleft -= 1
        if self._pleft > 0:
            return True
        return self._packet(now)

    def _packet(self, now):
        ph = self._ph
        self._ph = -1
        if ph == 0xD0:  # PINGRESP
            self._pinging = False
            return True
        rc = self._pbody[1]  # CONNACK
        if rc != 0:
            self._fail(now, _REFUSED[rc] if rc < len(_REFUSED) else _REFUSED[0])
            self._next_try = now + max(self._backoff, 60)  # refusals do not go away fast
            return False
        self.state = UP
        self.connects += 1
        self._backoff = _BACKOFF_MIN_S
        self._pinging = False
        self._last_tx = ticks_ms()
        return True

    # --- the socket ---

    def _recv(self, buf):
        # bytes read (0: closed by the peer) or None when none are waiting
        s = self._sock
        if s is None:
            raise OSError(9)  # EBADF: closed
        try:
            if hasattr(s, "readinto"):  # MicroPython: None when nothing is waiting
                return s.readinto(buf)
            return s.recv_into(buf)  # type: ignore[attr-defined]  # CPython
        except OSError as e:
            if e.args and e.args[0] in _EAGAIN:
                return None
            raise

    def _write(self, buf, off, n):
        s = self._sock
        if s is None:
            raise OSError(9)  # EBADF: closed
        if hasattr(s, "readinto"):  # MicroPython: write(buf, off, len), None when full
            return s.write(buf, off, n)  # type: ignore[call-arg]  # MicroPython's stream write
        try:
            return s.send(memoryview(buf)[off : off + n])
        except OSError as e:
            if e.args and e.args[0] in _EAGAIN:
                return None
            raise

    def _send(self, now, buf, off, n):
        try:
            sent = self._write(buf, off, n)
        except OSError:
            self._fail(now, "connection lost")
            return False
        if sent != n:  # a full send buffer: the link is stuck, start again
            self._fail(now, "send buffer full")
            return False
        self._last_tx = ticks_ms()
        return True

    def _fail(self, now, what):
        self.faults += 1
        self.last_error = what
        self._close()
        self.state = IDLE
        self._next_try = now + self._backoff
        self._backoff = min(self._backoff * 2, _BACKOFF_MAX_S)

    def _close(self):
        self._poll = None
        s = self._sock
        self._sock = None
        self._ph = -1
        if s is not None:
            try:
                s.close()
            except OSError:
                pass

    @property
    def state_name(self):
        return STATE_NAMES[self.state]


def _field(pkt, value):
    # a length-prefixed UTF-8 string (str or bytes) appended to pkt
    if type(value) is str:
        value = value.encode()
    pkt.append(len(value) >> 8)
    pkt.append(len(value) & 0xFF)
    pkt.extend(value)

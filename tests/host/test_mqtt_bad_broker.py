"""Brokers that misbehave, each a tiny Python socket server on a loopback port: the firmware's
MQTT client (sunprint/net/mqtt.py) runs inside the 32-bit MicroPython unix port, ticked for
1.5 s of real time. Garbage, a close mid-packet, a broker that never answers CONNECT or that
refuses it: each is a counted fault with the reason, then a retry after the backoff; no tick
stalls (the longest tick is reported and bounded), nothing crashes.
"""

import socket
import subprocess
import threading

import mp32
import pytest
from conftest import micropython_env

_CLIENT = """
import sys, time
from sunprint.net import mqtt
port, run_ms = int(sys.argv[1]), int(sys.argv[2])
c = mqtt.Client("u", "127.0.0.1", port, user="sign", password="Pa55-hidden", timeout_ms=600,
                will_topic=b"sunprint/u/availability")
t0 = time.ticks_ms()
now = 0
worst = 0
ups = 0
while time.ticks_diff(time.ticks_ms(), t0) < run_ms:
    a = time.ticks_us()
    up = c.tick(now)
    d = time.ticks_diff(time.ticks_us(), a)
    if d > worst:
        worst = d
    time.sleep_ms(5)
    now += 1  # a virtual second per 5 ms: the backoff (2, 4, 8 s) passes in real time
print("END", c.faults, c.connects, worst, c.last_error)
"""

CONNACK_OK = b"\x20\x02\x00\x00"


class BadBroker:
    """Accepts connections; for each, reads the CONNECT and does `mode`."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.keep = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.settimeout(1)
            try:
                conn.recv(256)  # the CONNECT
                mode = self.mode
                if mode == "garbage":
                    conn.sendall(b"\xff\x13HTTP/1.1 400 Bad\r\n")
                elif mode == "mid_packet":
                    conn.sendall(b"\x20")  # a CONNACK's first byte, then nothing
                    conn.close()
                    continue
                elif mode == "refuse":
                    conn.sendall(b"\x20\x02\x00\x05")  # not authorised
                elif mode == "garbage_after_connack":
                    conn.sendall(CONNACK_OK)
                    conn.sendall(b"\x00\x00\x00")
                elif mode == "flood":
                    conn.sendall(CONNACK_OK)
                    conn.settimeout(5)
                    try:
                        conn.sendall(b"\xd0\x00" * 200000)  # PINGRESPs, unasked, 400 KB
                    except OSError:
                        pass
                elif mode == "long_connack":
                    conn.sendall(b"\x20\xff\xff\xff\xff\x7f")  # a length past 4 bytes
                # "silent": never answers
            except OSError:
                pass
            self.keep.append(conn)  # open until the end (silent: no answer, no close)

    def close(self):
        self._stop = True
        self.thread.join(2)
        for c in self.keep:
            c.close()
        self.sock.close()


def _run(port, tmp_path, run_ms=3000):  # (1.5 s saw no CONNACK timeout on a loaded machine)
    mp32.check()
    script = tmp_path / "client.py"
    script.write_text(_CLIENT)
    proc = subprocess.run(
        [str(mp32.MICROPYTHON32), "-X", "heapsize=%d" % mp32.HEAPSIZE, str(script), str(port)]
        + [str(run_ms)],
        env=micropython_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Pa55-hidden" not in proc.stdout + proc.stderr
    line = [x for x in proc.stdout.splitlines() if x.startswith("END ")][-1]
    _, faults, connects, worst_us, error = line.split(" ", 4)
    return int(faults), int(connects), int(worst_us), error


@pytest.mark.parametrize(
    "mode, error",
    [
        ("garbage", "garbage from the broker"),
        ("mid_packet", "closed mid-packet"),
        ("silent", "no CONNACK"),
        ("refuse", "CONNACK: refused: not authorised"),
        ("garbage_after_connack", "garbage from the broker"),
        ("long_connack", "garbage from the broker"),
    ],
)
def test_a_bad_broker_is_a_fault_and_a_retry_never_a_stall(mode, error, tmp_path):
    server = BadBroker(mode)
    try:
        faults, connects, worst_us, last = _run(server.port, tmp_path)
    finally:
        server.close()
    assert last == error, (mode, last)
    assert faults >= 1 and server.connections >= 1
    if mode != "refuse":  # a refusal waits a minute of (virtual) seconds before the retry
        assert server.connections >= 2 and faults >= 2, (mode, faults, server.connections)
    if mode == "garbage_after_connack":
        assert connects >= 1  # connected, then the garbage ended it
    else:
        assert connects == 0
    # no tick waited for the network (a wait would be the 600 ms timeout; the bound leaves
    # room for a busy machine's scheduling)
    assert worst_us < 250000, (mode, worst_us)


def test_a_flooding_broker_never_holds_a_tick(tmp_path):
    server = BadBroker("flood")
    try:
        faults, connects, worst_us, last = _run(server.port, tmp_path)
    finally:
        server.close()
    assert connects >= 1
    assert worst_us < 250000, worst_us  # a tick reads a bounded number of bytes


def test_no_broker_at_all_is_a_fault_and_a_retry(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    faults, connects, worst_us, last = _run(port, tmp_path)
    assert faults >= 2 and connects == 0 and last == "connection refused", last
    assert worst_us < 250000

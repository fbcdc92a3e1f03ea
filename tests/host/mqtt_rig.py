"""A real MQTT broker for the network tests: Debian's Mosquitto on a free loopback port with a
temporary config (no persistence, nothing written outside the temporary folder), a paho-mqtt
peer that records what the unit publishes, and the unit's code (sunprint/net) run inside the
32-bit MicroPython unix port with the simulated network.WLAN (tests/firmware/network.py).

    with Broker(users={"sign": "pw"}) as broker:
        peer = Peer(broker.port, "sign", "pw")
        ...
        broker.restart()
"""

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def need_mosquitto():
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed: run `make setup`")


def run_unit(cmd, env, cwd, on_pause=None, timeout=120):
    """Run the unit's VM (cmd, its argv) to its end: at each line it prints that starts with
    PAUSE, on_pause() (a broker restart, a Wi-Fi drop) and then "go" on its stdin.
    (the lines it printed, without their newline; its stderr; its exit code)"""
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = []
    assert proc.stdout is not None and proc.stdin is not None
    for line in proc.stdout:
        out.append(line.rstrip("\n"))
        if line.startswith("PAUSE") and on_pause is not None:
            on_pause()
            proc.stdin.write("go\n")
            proc.stdin.flush()
    err = proc.stderr.read() if proc.stderr else ""
    return out, err, proc.wait(timeout=timeout)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on 127.0.0.1:%d" % port)


class Broker:
    def __init__(self, users=None):
        need_mosquitto()
        self.dir = Path(tempfile.mkdtemp(prefix="sunprint-mosquitto-"))
        self.port = free_port()
        lines = [
            "listener %d 127.0.0.1" % self.port,
            "persistence false",
            # run as root, mosquitto drops to user "mosquitto", who cannot read this folder;
            # as any other user this line does nothing
            "user %s" % getpass.getuser(),
            "log_dest file %s" % (self.dir / "mosquitto.log"),
        ]
        if users:
            pw = self.dir / "passwd"
            for i, (user, password) in enumerate(users.items()):
                flags = ["-b"] + (["-c"] if i == 0 else [])
                subprocess.run(
                    [MOSQUITTO_PASSWD, *flags, str(pw), user, password],
                    check=True,
                    capture_output=True,
                )
            os.chmod(pw, 0o600)
            lines += ["allow_anonymous false", "password_file %s" % pw]
        else:
            lines.append("allow_anonymous true")
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_port(self.port)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self):
        p = self.proc
        self.proc = None
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p is not None and p.stderr is not None:
            p.stderr.close()

    def restart(self):
        self.stop()
        self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Peer:
    """A paho-mqtt client subscribed to everything: messages as (topic, payload bytes, retain)."""

    def __init__(self, port, user=None, password=None, topics=("#",)):
        import paho.mqtt.client as mqtt

        self.messages = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sunprint-test-peer")
        if user:
            c.username_pw_set(user, password)

        def on_connect(client, userdata, flags, rc, props=None):
            for t in topics:
                client.subscribe(t)
            self._ready.set()

        def on_message(client, userdata, msg):
            with self._lock:
                self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

        c.on_connect = on_connect
        c.on_message = on_message
        c.reconnect_delay_set(0.1, 0.5)
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        self.client = c
        if not self._ready.wait(10):
            raise RuntimeError("the peer did not connect")
        time.sleep(0.2)  # the subscription is in place

    def wait_ready(self, timeout=10.0):
        self._ready.wait(timeout)

    def take(self):
        with self._lock:
            return list(self.messages)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()

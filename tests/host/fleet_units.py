"""Test helpers for `sunprint fleet`: a real Mosquitto on a free loopback port, simulated units
that publish in the provisional schema (host_tools/fleet/topics.py) with paho-mqtt, and the
fleet command run as its own process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import paho.mqtt.client as paho

from host_tools.fleet import topics

ROOT = Path(__file__).resolve().parents[2]
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("the process ended (%s) before listening" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nothing listens on 127.0.0.1:%d" % port)


class Broker:
    """Mosquitto on 127.0.0.1:<free port>, its config in a temp folder; stop() ends it."""

    def __init__(self):
        if not os.path.exists(MOSQUITTO):
            raise RuntimeError(
                "mosquitto is not installed: `make setup` installs it (make mosquitto)"
            )
        self.dir = Path(tempfile.mkdtemp(prefix="sunprint-mosquitto-"))
        self.port = free_port()
        conf = self.dir / "mosquitto.conf"
        conf.write_text(
            "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest stderr\nlog_type error\nmax_queued_messages 100000\n" % self.port
        )
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_port(self.port, proc=self.proc)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def client(port, client_id, will_unit=None):
    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id)
    if will_unit is not None:
        c.will_set("sunprint/%s/availability" % will_unit, b"offline", qos=1, retain=True)
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    return c


STATUS = {
    "firmware": "0.1.0",
    "app_version": "0.1.0",
    "board": "esp32-epd29-ina226",
    "lang": "both",
    "faults": {},
    "last_fault": "",
    "free_heap": 52300,
    "clock_source": "ds3231 +2s",
}


class SimUnit:
    """A unit that publishes availability, state and status, retained, in the schema."""

    def __init__(self, port, unit_id, board="esp32-epd29-ina226", lang="both"):
        self.id = unit_id
        self.c = client(port, "sim-" + unit_id[:20] + "-%d" % os.getpid(), will_unit=unit_id)
        self.status = dict(STATUS, board=board, lang=lang, faults={})
        self.state = {
            "t": int(time.time()), "power_w": 0.0, "today_mwh": 0, "month_mwh": 0,
            "year_mwh": 0, "lifetime_mwh": 1_000_000_000, "co2_g": 530_600, "coal_g": 305_500,
            "factor_dg": 5306, "factor_source": "MEE/NBS 2023",
        }  # fmt: skip
        self.pub("availability", b"online")

    def pub(self, kind, payload, retain=True):
        info = self.c.publish("sunprint/%s/%s" % (self.id, kind), payload, qos=1, retain=retain)
        info.wait_for_publish(5)

    def publish_state(self, **change):
        self.state.update(change)
        self.pub("state", topics.state_payload(self.state))

    def publish_status(self, **change):
        self.status.update(change)
        self.pub("status", json.dumps(self.status).encode())

    def step(self, dt_s, power_w):
        """dt_s of power_w: the energies go up by what it made."""
        mwh = int(round(power_w * dt_s / 3.6))
        s = self.state
        for k in ("today_mwh", "month_mwh", "year_mwh", "lifetime_mwh"):
            s[k] += mwh
        s["co2_g"] += mwh * 5306 // 10_000_000
        self.publish_state(t=s["t"] + dt_s, power_w=power_w)

    def close(self, clean=True):
        if clean:
            self.pub("availability", b"offline")
            self.c.disconnect()
        self.c.loop_stop()
        if not clean:
            self.c._sock_close()  # dropped: the broker sends the last will


class FleetProcess:
    """`sunprint fleet` as a child process on a free loopback port."""

    def __init__(self, mqtt_port, *extra):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/" % self.port
        cmd = [sys.executable, "-m", "host_tools.cli", "fleet", "--mqtt", "127.0.0.1:%d" % mqtt_port,
               "--listen", "127.0.0.1:%d" % self.port, *extra]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        wait_port(self.port, 20, self.proc)

    def get(self, path="", timeout=10):
        with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
            return r.status, r.headers.get("content-type"), r.read()

    def units(self):
        return json.loads(self.get("api/units")[2])

    def wait_for(self, pred, timeout=10.0):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            last = self.units()
            if pred(last):
                return last
            time.sleep(0.05)
        raise AssertionError("not seen in %g s; last: %s" % (timeout, json.dumps(last)[:2000]))

    def stop(self):
        self.proc.terminate()
        try:
            out, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out, err

# Runs inside the 32-bit MicroPython unix port (tests/host/test_mqtt_broker.py): a unit (the
# app, its ledger and store on a folder as flash, and sunprint/net) through rows of a bundled
# log, with the simulated network.WLAN, talking to a real broker. One process is one power-up:
# the flash folder carries the ledger and the kept lifetime to the next one.
#
#   micropython32 mqtt_unit.py LOG FLASH PORT FIRST LAST EVENTS [USER PASSWORD WIFI_PW]
#
# EVENTS: comma-separated ROW:WHAT, WHAT one of wifi_down, wifi_up, pause (print "PAUSE",
# wait for a line on stdin: the host restarts the broker). Prints "UP <row> <ms>" when the
# first state is published after Wi-Fi came up, and "END <json>" with the counters.
import gc
import sys
import time

import network
from app_rig import make_app, power_source

from sunprint.compat import EPOCH_2000_UNIX
from sunprint.core.ledger import Ledger
from sunprint.net import mqtt, wifi
from sunprint.net.publish import start
from sunprint.store import FileBackend, OsFs, PersistPolicy, Store

LOG, FLASH, PORT, FIRST, LAST, EVENTS = sys.argv[1:7]
PORT, FIRST, LAST = int(PORT), int(FIRST), int(LAST)
EXTRA = sys.argv[7:] + ["", "", "pw"][len(sys.argv[7:]) :]
USER, PASSWORD, WIFI_PW = EXTRA[0], EXTRA[1], EXTRA[2]
events = {}
for ev in EVENTS.split(","):
    if ev:
        r, what = ev.split(":")
        events[int(r)] = what


network.reset()
network.AP.password = "W1fi-secret-7"  # the site's (test_mqtt_broker.WIFI_PW)
flash = OsFs(FLASH)
src = power_source(0)
app = make_app(src, Ledger())
app.store = Store(FileBackend(flash))
app.policy = PersistPolicy(600, 10)
app.restore()
config = {
    "unit_id": "sp-a1b2c3",
    "wifi_ssid": "site",
    "wifi_password": WIFI_PW,
    "mqtt_host": "127.0.0.1",
    "mqtt_port": PORT,
    "mqtt_user": USER,
    "mqtt_password": PASSWORD,
    "mqtt_period_s": 60,
    "mqtt_prefix": "sunprint",
    "mqtt_discovery": True,
}
net = start(app, network, config, flash)
client = net.client
gc.collect()
heap0 = gc.mem_alloc()
peak = heap0
row = 0
up_ms = -1
wifi_up_ms = -1
max_tick_us = 0
with open(LOG) as f:
    for line in f:
        if not line or line[0] not in "0123456789":
            continue
        if row < FIRST:
            row += 1
            continue
        if row >= LAST:
            break
        what = events.get(row)
        if what == "wifi_down":
            network.AP.up = False
        elif what == "wifi_up":
            network.AP.up = True
        elif what == "pause":
            print("PAUSE", row)
            sys.stdin.readline()
        t, w = line.split(",")
        now = int(t) - EPOCH_2000_UNIX
        src.driver.mw = int(float(w) * 1000)
        t0 = time.ticks_us()
        app.tick(now, now)
        dt = time.ticks_diff(time.ticks_us(), t0)
        if dt > max_tick_us:
            max_tick_us = dt
        if wifi_up_ms < 0 and net.wifi.state == wifi.UP:
            wifi_up_ms = time.ticks_ms()
        # a replay runs faster than the network: give the broker real time to answer
        n = 0
        while net.wifi.state == wifi.UP and client.state in (mqtt.TCP, mqtt.CONNACK) and n < 400:
            time.sleep_ms(5)
            t0 = time.ticks_us()
            net.tick(now)
            dt = time.ticks_diff(time.ticks_us(), t0)
            if dt > max_tick_us:
                max_tick_us = dt
            n += 1
            if client.state == mqtt.UP:
                app.tick(now, now)  # publishes at once
        if up_ms < 0 and net.published:
            up_ms = time.ticks_diff(time.ticks_ms(), wifi_up_ms)
            print("UP", row, up_ms)
        if row % 50 == 0:
            gc.collect()
            used = gc.mem_alloc()
            if used > peak:
                peak = used
        row += 1
# no shutdown: the power goes (the ledger keeps what it saved)
st = net.status()
print(
    'END {"published": %d, "mqtt_faults": %d, "wifi_drops": %d, '
    '"max_tick_us": %d, "peak_over_start": %d, "mqtt_error": "%s", "wifi": "%s"}'
    % (
        net.published,
        st["mqtt_faults"],
        st["wifi_drops"],
        max_tick_us,
        peak - heap0,
        st["mqtt_error"],
        st["wifi"],
    )
)

# Runs inside the 32-bit MicroPython unix port with the app frozen (tests/host/test_ntp_unit.py):
# firmware/main.py boots esp32-epd29-ina226 on the fake machine (its models in the host, over
# the model link) with config.json in the working folder (Wi-Fi, ntp_host 127.0.0.1:<port>),
# the simulated network.WLAN and real UDP sockets. The ESP32's RTC starts at 2000-01-01 00:00
# (VRtc). The unit runs `minutes` of its virtual clock at 200 W; each runner step is timed on
# the VM's own microsecond ticks. Arguments in ntp_args.json; prints "END <json>".
import gc
import json
import time

import network
from unit_boot import boot  # tests/firmware/unit_boot.py
from vrtc import VRtc

from sunprint.core.ledger import LIFETIME, TODAY
from sunprint.store import OsFs

with open("ntp_args.json") as f:
    A = json.load(f)


network.reset()
network.AP.password = A["wifi_pw"]
runner, clock, rig, _ = boot(A["board"], 1000, fs=OsFs("flash"), config_path="config.json")
app = runner.unit.app
keeper = app.timekeeper
keeper.rtc = VRtc(clock)
until = clock.now() + A["minutes"] * 60
max_us = 0
steps = 0
trusted_at = -1
gc.collect()
heap0 = gc.mem_alloc()
while clock.now() < until:
    rig.set_power(200 + (clock.now() // 60) % 3 - 1)
    t0 = time.ticks_us()
    ms = runner.step()
    dt = time.ticks_diff(time.ticks_us(), t0)
    steps += 1
    if dt > max_us:
        max_us = dt
    if trusted_at < 0 and keeper.trusted():
        trusted_at = clock.now()
    if keeper.pending:
        time.sleep_ms(2)  # the server's answer travels in real time, the unit's clock is virtual
    clock.advance_ms(min(ms, until * 1000 - clock.ms))
gc.collect()
from sunprint import status  # noqa: E402

st = status.status(app, "x", clock.now())
ledger = app.ledger
out = {
    "steps": steps,
    "max_step_us": max_us,
    "trusted_after_s": trusted_at - 1000 if trusted_at >= 0 else None,
    "rtc_wall": keeper.rtc.wall(),
    "day": ledger.day,
    "vouched": ledger.vouched(),
    "today_mwh": ledger.mwh(TODAY),
    "lifetime_mwh": ledger.mwh(LIFETIME),
    "held_mwh": ledger.held(),
    "unattributed_mwh": ledger.unattributed(),
    "clock": st["clock"],
    "wifi": app.net.wifi.state_name,
    "faults": app.faults,
    "heap_growth": gc.mem_alloc() - heap0,
}
print("END " + json.dumps(out))

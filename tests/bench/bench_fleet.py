"""sunprint fleet benchmarks, on a real Mosquitto with `sunprint fleet` as its own process:

fleet_page_100_units_server_ms   the server's time to make the page of 100 units (its
                                 Server-Timing header; median of 30), with the request's
                                 whole time over loopback as the peer line
fleet_sign_png_ms                drawing one unit's sign (firmware render code) as PNG, the
                                 first time (uncached; median over the 100 units)
fleet_rss_1000_units_mb          the fleet process's resident memory with 1,000 units
                                 (each: availability, status, 30 states), peer: at start
fleet_publish_to_api_ms          a unit's publish (paho, QoS 1) to the fleet's JSON showing
                                 it (median of 20)
fleet_publish_to_browser_ms      the same to headless Chromium's page showing it (the page
                                 polls every POLL_MS: up to that much more; median of 8)

.venv/bin/python tests/bench/bench_fleet.py
"""

import json
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "tests", ROOT / "tests" / "host", ROOT / "tests" / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

STATUS = {"firmware": "0.1.0", "app_version": "0.1.0", "board": "esp32-epd29-ina226",
          "lang": "both", "faults": {"sensor": 1}, "last_fault": "sensor: ETIMEDOUT",
          "free_heap": 52300, "clock_source": "ds3231 +2s"}  # fmt: skip


def _line(name, value, unit, goal=None, peer=None):
    from timing import line  # tests/bench/timing.py, the format of shared/DESIGN.md

    line(name, value, unit, goal, peer)


def _publish_units(c, ids, states_each, t0=1_765_000_000):
    from host_tools.fleet import topics

    for uid in ids:
        c.publish("sunprint/%s/availability" % uid, b"online", retain=True)
        c.publish("sunprint/%s/status" % uid, json.dumps(STATUS).encode(), retain=True)
        for k in range(states_each):
            st = {"t": t0 + 60 * k, "power_w": 100.0 + k, "today_mwh": 1000 * k,
                  "lifetime_mwh": 10**9 + 1000 * k, "co2_g": 530_600, "coal_g": 305_500,
                  "factor_dg": 5306, "factor_source": "MEE/NBS 2023"}  # fmt: skip
            c.publish(
                "sunprint/%s/state" % uid, topics.state_payload(st), retain=k == states_each - 1
            )
    c.publish("sunprint/bench-barrier/availability", b"online", qos=1).wait_for_publish(30)


def _rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1]) / 1024
    return float("nan")


def _get(url):
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read()
        timing = r.headers.get("Server-Timing", "")
    wall = time.perf_counter() - t0
    server = float(timing.split("dur=")[1]) if "dur=" in timing else float("nan")
    return body, server, wall * 1000


def bench_fleet():
    from fleet_units import Broker, FleetProcess, client

    broker = Broker()
    procs = []
    try:
        # --- 100 units: the page, and one sign picture each
        fleet = FleetProcess(broker.port, "--stale-after", "3600")
        procs.append(fleet)
        c = client(broker.port, "bench-100")
        ids = ["unit-%03d" % i for i in range(100)]
        _publish_units(c, ids, 5)
        fleet.wait_for(lambda s: sum(1 for u in s["units"] if u["power"]) >= 100, 60)
        servers, walls = [], []
        for _ in range(30):
            body, server, wall = _get(fleet.url)
            servers.append(server)
            walls.append(wall)
        assert body.count(b'class="unit online"') >= 100, body[:500]  # and the barrier
        _line("fleet_page_100_units_server_ms", "%.1f" % statistics.median(servers), "ms", "<= 100",
              ("request_over_loopback", "%.1f" % statistics.median(walls), "ms"))  # fmt: skip
        signs = [_get(fleet.url + "unit/%s/sign.png" % uid)[2] for uid in ids]
        _line("fleet_sign_png_ms", "%.1f" % statistics.median(signs), "ms", "<= 50")
        # --- publish to page: the JSON the page is made from, then a real browser
        lat = []
        for k in range(20):
            t0 = time.perf_counter()
            c.publish("sunprint/unit-000/state", b'{"t": %d, "power_w": %d.5}' % (1_765_100_000 + k, 7000 + k),
                      qos=1)  # fmt: skip
            want = "%d.5 W" % (7000 + k)
            end = time.monotonic() + 10
            while time.monotonic() < end:
                units = json.loads(_get(fleet.url + "api/units")[0])["units"]
                if any(u["id"] == "unit-000" and u["power"] == want for u in units):
                    break
            else:
                raise RuntimeError("the fleet did not show %s in 10 s" % want)
            lat.append((time.perf_counter() - t0) * 1000)
        _line("fleet_publish_to_api_ms", "%.1f" % statistics.median(lat), "ms", "<= 100")
        _line("fleet_publish_to_browser_ms", "%.0f" % _browser_latency(fleet, c), "ms", "<= 1500")
        c.disconnect()
        c.loop_stop()
        fleet.stop()
        procs.remove(fleet)
        # --- 1,000 units: the fleet process's memory
        fleet = FleetProcess(broker.port, "--stale-after", "3600", "--max-units", "2000")
        procs.append(fleet)
        time.sleep(1.0)
        idle = _rss_mb(fleet.proc.pid)
        c = client(broker.port, "bench-1000")
        n = 300 if os.environ.get("BENCH_QUICK") else 1000
        _publish_units(c, ["big-%04d" % i for i in range(n)], 30)
        fleet.wait_for(lambda s: sum(1 for u in s["units"] if u["id"].startswith("big-")) >= n, 120)
        fleet.get("")
        rss = _rss_mb(fleet.proc.pid)
        name = "fleet_rss_1000_units_mb" if n == 1000 else "fleet_rss_%d_units_mb" % n
        _line(name, "%.1f" % rss, "MB", "<= 200", ("fleet_at_start", "%.1f" % idle, "MB"))
        c.disconnect()
        c.loop_stop()
    finally:
        for p in procs:
            p.stop()
        broker.stop()


def _browser_latency(fleet, c):
    import shutil
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    profile = tempfile.mkdtemp(prefix="sunprint-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--user-data-dir=" + profile):  # fmt: skip
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                              options=opts)  # fmt: skip
    try:
        driver.get(fleet.url)
        lat = []
        for k in range(8):
            want = "%d.5 W" % (8000 + k)
            t0 = time.perf_counter()
            c.publish("sunprint/unit-000/state", b'{"t": %d, "power_w": %d.5}' % (1_765_200_000 + k, 8000 + k),
                      qos=1)  # fmt: skip
            end = time.monotonic() + 10
            while (
                driver.execute_script(
                    "var c = document.querySelector('tr[data-unit=\"unit-000\"] td.power');"
                    "return c && c.textContent;"
                )
                != want
            ):
                if time.monotonic() > end:
                    raise RuntimeError("the browser did not show %s in 10 s" % want)
                time.sleep(0.005)
            lat.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.37 * (k % 3))  # publishes at different phases of the page's poll
        return statistics.median(lat)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        _ = By


if __name__ == "__main__":
    bench_fleet()

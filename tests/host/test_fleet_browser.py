"""sunprint fleet in a real browser: headless Chromium (Debian's chromium and chromium-driver,
`make setup` installs them where missing), driven by Selenium, loads the page while three
simulated units publish to a real Mosquitto; it checks the table, a unit's picture, a live
update and the stale state. Screenshots go to build/."""

import shutil
import tempfile
import time

import pytest
from fleet_units import ROOT, Broker, FleetProcess, SimUnit
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
BUILD = ROOT / "build"
STALE_S = 2


@pytest.fixture
def browser():
    profile = tempfile.mkdtemp(prefix="sunprint-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--user-data-dir=" + profile, "--window-size=1500,680"):  # fmt: skip
        opts.add_argument(flag)
    # the driver named, never looked up or downloaded (Selenium Manager stays out)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_the_page_in_chromium(browser, tmp_path):
    broker = Broker()
    fleet = units = None
    try:
        fleet = FleetProcess(broker.port, "--stale-after", str(STALE_S))
        units = [SimUnit(broker.port, "roof-1"), SimUnit(broker.port, "roof-2", lang="en"),
                 SimUnit(broker.port, "hall-3", board="esp32-max7219-s0", lang="en")]  # fmt: skip
        for i, u in enumerate(units):
            u.publish_status(faults={"sensor": i} if i else {})
            u.step(600, 250.0 * (i + 1))
        fleet.wait_for(lambda s: sum(1 for x in s["units"] if x["power"]) == 3)
        browser.get(fleet.url)
        wait = WebDriverWait(browser, 10, poll_frequency=0.05)

        # the table is swapped in anew at each poll: every look-up is a fresh query
        def js(expr, uid):
            return browser.execute_script(
                "var r = document.querySelector('tr[data-unit=\"' + arguments[0] + '\"]');"
                "return r && (%s);" % expr,
                uid,
            )

        def cell(uid, cls):
            return js("r.querySelector('td.%s').textContent" % cls, uid)

        def row_class(uid):
            return js("r.className", uid).split()

        # the table: three units with their numbers
        ids = browser.execute_script(
            "return Array.from(document.querySelectorAll('tr.unit'), r => r.dataset.unit)"
        )
        assert ids == ["hall-3", "roof-1", "roof-2"]
        assert cell("roof-2", "power") == "500.0 W" and cell("hall-3", "power") == "750.0 W"
        assert (
            cell("roof-1", "lifetime") == "1000.041 kWh" and cell("roof-2", "faults") == "sensor 1"
        )
        # a unit's picture: loaded, at the panel's size
        size = "(function(i){return i.complete && i.naturalWidth ? [i.naturalWidth, i.naturalHeight] : null})(r.querySelector('img.sign'))"
        assert wait.until(lambda d: js(size, "roof-1")) == [296, 128]
        # a live update: published, shown without reloading the page
        units[0].step(60, 1234.0)
        wait.until(lambda d: cell("roof-1", "power") == "1234.0 W")
        browser.save_screenshot(str(tmp_path / "fleet.png"))
        # stale: roof-2 stops publishing, the others go on; the page says so by itself
        t_end = time.monotonic() + STALE_S + 6
        while time.monotonic() < t_end:
            units[0].step(1, 1000.0)
            units[2].step(1, 300.0)
            if "stale" in row_class("roof-2"):
                break
            time.sleep(0.3)
        assert "stale" in row_class("roof-2"), js("r.outerHTML", "roof-2")
        assert cell("roof-2", "state").startswith("stale")
        assert "stale" not in row_class("roof-1")
        assert browser.find_element(By.ID, "stale-after").text == str(STALE_S)
        BUILD.mkdir(exist_ok=True)
        browser.save_screenshot(str(BUILD / "fleet-page.png"))
        # one unit's page: every screen of its rotation drawn, and the day plot
        browser.find_element(By.LINK_TEXT, "roof-1").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "img.sign"))
        imgs = browser.find_elements(By.CSS_SELECTOR, "img.sign")
        assert len(imgs) == 7  # main, total, carbon in Chinese and in English, and status
        wait.until(
            lambda d: all(
                d.execute_script("return arguments[0].naturalWidth", i) == 296 for i in imgs
            )
        )
        plot = browser.find_element(By.CSS_SELECTOR, 'img[alt="power and energy"]')
        wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", plot) == 1200)
        browser.save_screenshot(str(BUILD / "fleet-unit.png"))
    finally:
        for u in units or ():
            u.close()
        if fleet is not None:
            rc, out, err = fleet.stop()
            assert "Traceback" not in err, err
        broker.stop()

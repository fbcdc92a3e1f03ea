"""The unit's own config (/config.json): unit id, site, carbon region and year, time zone.

`sunprint flash` writes it after the app and reads the unit's status back to confirm. The text
is made and checked by the firmware's own parser (sunprint.core.config), so a bad value is
refused on the host, naming the option, before anything is written.
"""

import hashlib
import json
import re

from host_tools.errors import UserError
from host_tools.paths import use_firmware

_TZ = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def tz_minutes(text):
    """'+08:00' -> 480; UserError naming --tz otherwise."""
    m = _TZ.match(text or "")
    if not m:
        raise UserError('--tz: expected "+HH:MM" or "-HH:MM", got %r' % text)
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return minutes if m.group(1) == "+" else -minutes


def unit_id_for(mac, prefix="sp"):
    """A unit id from the MAC's last three bytes: sp-a1b2c3 (what flash uses by default)."""
    tail = mac.replace(":", "")[-6:].lower() if mac else ""
    return "%s-%s" % (prefix, tail) if tail else prefix


def make_config(*, unit_id, site="", carbon_region="CN", carbon_year=None, tz="+08:00"):
    """(text, sha256 hex) of a valid config.json; UserError naming the option at fault."""
    use_firmware()
    from sunprint.core import config

    d = config.defaults()
    d.update(unit_id=unit_id, site=site, carbon_region=carbon_region, tz_offset_min=tz_minutes(tz))
    if carbon_year is not None:
        d["carbon_year"] = carbon_year
    else:  # the newest factor the region has
        from sunprint.core import carbon

        years = [row[1] for row in carbon.FACTORS if row[0] == carbon_region]
        if years:
            d["carbon_year"] = max(years)
    options = {
        "unit_id": "--unit-id",
        "site": "--site",
        "carbon_region": "--carbon-region",
        "carbon_year": "--carbon-year",
        "tz_offset_min": "--tz",
    }
    try:
        text = config.dumps(d)
        config.parse(text)
    except config.ConfigError as e:
        option = options.get(e.key)
        raise UserError("%s: %s" % (option, e) if option else str(e)) from None
    return text, hashlib.sha256(text.encode()).hexdigest()


_STATUS = (
    "import sunprint.service as _sv\n"
    "_sv._app()\n"  # builds the app from the new config when it is not running
    "import sunprint.status as _st\n"
    "print(_st.json())\n"
)


def write_config(port, text, *, timeout=10):
    """Write text as the unit's /config.json (atomically), have the unit build its app with it
    and return the unit's status dict; the app is then restarted. Raises host_tools.link's
    errors (LinkLost, DeviceError) or UserError for the port."""
    from host_tools.link import open_link

    with open_link(port, timeout=timeout) as link:
        link.write_file("/config.json", text.encode(), atomic=True)
        out = link.exec(_STATUS, timeout=30)
        status = json.loads(out.decode().strip().splitlines()[-1])
        link.restart()  # the app boots with the new config, as after power-up
    return status


def check_status(status, config_text):
    """What is wrong with the unit's status against the config written, or None."""
    want = json.loads(config_text)
    if "error" in status:
        return "the unit reported no status: %s" % status["error"]
    if status.get("unit_id") != want["unit_id"]:
        return "the unit calls itself %r, not %r" % (status.get("unit_id"), want["unit_id"])
    source = status.get("carbon_source") or ""
    region_year = "%s %s:" % (want["carbon_region"], want["carbon_year"])
    if not source.startswith(region_year):
        return "the unit's carbon factor is %r, not %s's" % (source, region_year[:-1])
    return None

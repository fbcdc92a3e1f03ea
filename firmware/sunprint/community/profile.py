# The "community" section of a board profile: the meters on the unit's RS-485 bus, validated
# with one named message per fault (issue 18). Not yet read by board.build (docs/community.md).
#
#     "community": {
#         "protocol": "dlt645",          # or "modbus": one protocol per bus
#         "baudrate": 2400,
#         "read_power": true,            # energy and power (false: energy only)
#         "timeout_ms": 500,             # per read; DL/T 645 allows the meter 500 ms
#         "meters": [
#             {"address": "000000000001", "max_power_w": 8000},   # DL/T 645: 12 digits
#             {"unit": 3, "model": "sdm120"}                       # Modbus: unit id 1..247
#         ],
#         "per_home_screen": false,      # a public sign shows no household's production
#         "uart": {"id": 2, "tx": 17, "rx": 16, "baudrate": 2400, "bits": 8, "parity": "even",
#                  "stop": 1},                   # the bus: parts.py checks it as a sensor's
#         "de": 4                        # the transceiver's driver-enable pin, if it has one
#     }
#
# check(section, sample_period_s) returns a Community with the wire addresses (DL/T 645) or
# unit ids (Modbus) in profile order; a fault raises CommunityError, "field: what is wrong".

from sunprint.community.schedule import DLT645, MODBUS
from sunprint.community.schedule import check as check_schedule

_KEYS = ("protocol", "baudrate", "read_power", "timeout_ms", "meters", "per_home_screen")
_KEYS += ("uart", "de")  # its bus, checked by sunprint/parts.py as a sensor's
_METER_KEYS = ("address", "unit", "model", "max_power_w", "name")
MODBUS_MODELS = ("sdm120", "sdm630", "ddsu666", "dtsu666")
MAX_METERS = 64
DEFAULT_MAX_POWER_W = 30000


class CommunityError(ValueError):
    """A community section the unit cannot run: str() is "field: what is wrong", one line."""

    def __init__(self, field, msg):
        super().__init__(field + ": " + msg)
        self.field = field


class Community:
    def __init__(
        self,
        protocol,
        baudrate,
        read_power,
        timeout_ms,
        keys,
        max_power_w,
        round_us,
        per_home_screen,
        models=None,
    ):
        self.protocol = protocol  # schedule.DLT645 or schedule.MODBUS
        self.baudrate = baudrate
        self.read_power = read_power
        self.timeout_ms = timeout_ms
        self.keys = keys  # 6-byte wire addresses, or unit ids
        self.max_power_w = max_power_w
        self.round_us = round_us  # a round's worst case
        self.per_home_screen = per_home_screen
        self.models = models  # Modbus: the register map's name per meter (drivers/modbus.py)


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _digits(text):
    if not isinstance(text, str) or not 0 < len(text) <= 12:
        return None
    for ch in text:
        if not "0" <= ch <= "9":
            return None
    return "0" * (12 - len(text)) + text


def check(section, sample_period_s):
    f = "community"
    if not isinstance(section, dict):
        raise CommunityError(f, "must be an object")
    for k in section:
        if k not in _KEYS:
            raise CommunityError(f + "." + k, "unknown key (known: %s)" % ", ".join(_KEYS))
    name = section.get("protocol")
    if name == "dlt645":
        protocol = DLT645
    elif name == "modbus":
        protocol = MODBUS
    else:
        raise CommunityError(f + ".protocol", 'must be "dlt645" or "modbus", not %r' % (name,))
    uart = section.get("uart")
    if isinstance(uart, dict) and "baudrate" in uart:
        baud = section.get("baudrate", uart["baudrate"])  # the bus's rate unless said again
    else:
        baud = section.get("baudrate", 2400 if protocol == DLT645 else 9600)
    if baud not in (1200, 2400, 4800, 9600, 19200) or not _int(baud):
        raise CommunityError(f + ".baudrate", "must be 1200, 2400, 4800, 9600 or 19200")
    read_power = section.get("read_power", True)
    if read_power is not True and read_power is not False:
        raise CommunityError(f + ".read_power", "must be true or false")
    timeout = section.get("timeout_ms", 500 if protocol == DLT645 else 200)
    if not _int(timeout) or not 20 <= timeout <= 2000:
        raise CommunityError(f + ".timeout_ms", "must be an integer from 20 to 2000")
    per_home = section.get("per_home_screen", False)
    if per_home is not True and per_home is not False:
        raise CommunityError(f + ".per_home_screen", "must be true or false")
    meters = section.get("meters")
    if not isinstance(meters, list) or not 1 <= len(meters) <= MAX_METERS:
        raise CommunityError(f + ".meters", "must list 1 to %d meters" % MAX_METERS)
    keys = []
    models = []
    seen = {}
    powers = []
    for j, m in enumerate(meters):
        g = "%s.meters[%d]" % (f, j)
        if not isinstance(m, dict):
            raise CommunityError(g, "must be an object")
        for k in m:
            if k not in _METER_KEYS:
                raise CommunityError(g + "." + k, "unknown key")
        if protocol == DLT645:
            if "unit" in m:
                raise CommunityError(
                    g + ".unit", "a Modbus unit id on a DL/T 645 bus: one protocol per bus"
                )
            text = _digits(m.get("address"))
            if text is None:
                raise CommunityError(g + ".address", "must be the meter's 1 to 12 digits")
            key = text
            wire = bytearray(6)
            for i in range(6):
                wire[i] = (ord(text[10 - 2 * i]) - 48) << 4 | (ord(text[11 - 2 * i]) - 48)
            item = bytes(wire)
            field = g + ".address"
        else:
            if "address" in m:
                raise CommunityError(
                    g + ".address", "a DL/T 645 address on a Modbus bus: one protocol per bus"
                )
            unit = m.get("unit")
            if not isinstance(unit, int) or isinstance(unit, bool) or not 1 <= unit <= 247:
                raise CommunityError(g + ".unit", "must be a Modbus unit id from 1 to 247")
            model = m.get("model")
            if model not in MODBUS_MODELS:
                raise CommunityError(g + ".model", "must be one of %s" % ", ".join(MODBUS_MODELS))
            models.append(model)
            key = unit
            item = unit
            field = g + ".unit"
        if key in seen:
            raise CommunityError(field, "%s is also meters[%d]'s" % (key, seen[key]))
        seen[key] = j
        p = m.get("max_power_w", DEFAULT_MAX_POWER_W)
        if not _int(p) or not 100 <= p <= 1000000:
            raise CommunityError(g + ".max_power_w", "must be an integer from 100 to 1000000 W")
        keys.append(item)
        powers.append(p)
    try:
        us = check_schedule(
            protocol, baud, len(keys), sample_period_s, 2 if read_power else 1, timeout
        )
    except ValueError as e:
        raise CommunityError(f + ".meters", str(e)[len("meters: ") :]) from None
    return Community(
        protocol, baud, read_power, timeout, keys, powers, us, per_home, models or None
    )

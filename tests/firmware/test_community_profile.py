# The profile's community section: every fault a named one-line message. CPython and MicroPython.
from sunprint.community.profile import CommunityError, check
from sunprint.community.schedule import DLT645, MODBUS


def _dlt(n, **kw):
    s = {"protocol": "dlt645", "meters": [{"address": "%012d" % (i + 1)} for i in range(n)]}
    s.update(kw)
    return s


def _refused(section, period=10):
    try:
        check(section, period)
    except CommunityError as e:
        return str(e)
    raise AssertionError("accepted: %r" % (section,))


def test_a_good_section():
    c = check(_dlt(5, baudrate=9600), 10)
    assert c.protocol == DLT645 and c.baudrate == 9600 and c.read_power
    assert c.keys[0] == b"\x01\x00\x00\x00\x00\x00" and len(c.keys) == 5
    assert c.max_power_w == [30000] * 5 and not c.per_home_screen
    assert c.round_us == 5 * 1099702
    m = check(
        {
            "protocol": "modbus",
            "meters": [
                {"unit": 1, "model": "sdm120"},
                {"unit": 7, "model": "ddsu666", "max_power_w": 5000},
            ],
        },
        10,
    )
    assert m.protocol == MODBUS and m.baudrate == 9600 and m.keys == [1, 7]
    assert m.max_power_w == [30000, 5000] and m.models == ["sdm120", "ddsu666"]
    s16 = check(_dlt(16, read_power=False, baudrate=9600), 10)
    assert len(s16.keys) == 16


def test_duplicates_mixed_protocols_and_too_many_are_named():
    s = _dlt(3)
    s["meters"][2]["address"] = "1"
    assert _refused(s) == "community.meters[2].address: 000000000001 is also meters[0]'s"
    s = {"protocol": "modbus", "meters": [{"unit": 4, "model": "sdm120"}] * 2}
    assert _refused(s) == "community.meters[1].unit: 4 is also meters[0]'s"
    s = _dlt(2)
    s["meters"][1] = {"unit": 3}
    assert _refused(s) == (
        "community.meters[1].unit: a Modbus unit id on a DL/T 645 bus: one protocol per bus"
    )
    s = {"protocol": "modbus", "meters": [{"unit": 4, "model": "sdm120"}, {"address": "12"}]}
    assert _refused(s).startswith("community.meters[1].address: a DL/T 645 address on a Modbus")
    assert _refused(_dlt(40, baudrate=2400)) == (
        "community.meters: 40 DL/T 645 meters at 2400 baud need 55.9 s per round, more than"
        " sample_period_s 10 (at most 7 fit)"
    )


def test_bad_values_are_named():
    cases = (
        ([], "community: must be an object"),
        ({"protocol": "mbus", "meters": []}, "community.protocol: "),
        (_dlt(1, baudrate=115200), "community.baudrate: "),
        (_dlt(1, read_power=1), "community.read_power: "),
        (_dlt(1, timeout_ms=5), "community.timeout_ms: "),
        (_dlt(1, colour="red"), "community.colour: unknown key"),
        (_dlt(0), "community.meters: must list 1 to 64 meters"),
        ({"protocol": "dlt645", "meters": [{"address": "12ab"}]}, "community.meters[0].address: "),
        (
            {"protocol": "dlt645", "meters": [{"address": "1", "max_power_w": 0}]},
            "community.meters[0].max_power_w",
        ),
        ({"protocol": "modbus", "meters": [{"unit": 248}]}, "community.meters[0].unit: "),
        ({"protocol": "modbus", "meters": [{"unit": True}]}, "community.meters[0].unit: "),
        ({"protocol": "modbus", "meters": [{"unit": 2}]}, "community.meters[0].model: "),
        (_dlt(1, per_home_screen="yes"), "community.per_home_screen: "),
    )
    for section, start in cases:
        msg = _refused(section)
        assert msg.startswith(start), (msg, start)
        assert "\n" not in msg

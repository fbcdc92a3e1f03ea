"""Home Assistant discovery: one retained config per sensor, sent after each connect.

Only the connect needs this module: publish.Net._announce imports it, sends, and lets it leave
the heap again (sys.modules), as main.py's boot-only modules do (a unit imports it from ROMFS
or .mpy: its code, tables and constants would otherwise stay on the heap for good). Each
payload is written piece by piece into the publisher's one buffer (no payload string is built).

Topic homeassistant/sensor/<uid>_<key>/config; uid = "sunprint_" + the Wi-Fi MAC (the unit id
where the port has none), so the same after any reflash. One device per unit.
"""

from sunprint import VERSION
from sunprint.net.putbytes import put as _put

# (key, name, unit, device_class, state_class, value key in the state JSON); "" for none.
# Lifetime energy is the Energy dashboard's meter (total_increasing); today's energy has no
# state_class: a period sum that HA would book as a meter reset every midnight.
SENSORS = (
    ("power", "Power", "W", "power", "measurement", "power_w"),
    ("lifetime", "Energy total", "kWh", "energy", "total_increasing", "lifetime_kwh"),
    ("today", "Energy today", "kWh", "energy", "", "today_kwh"),
    ("co2", "CO2 avoided", "kg", "weight", "total_increasing", "co2_kg"),
    ("coal", "Coal saved", "kg", "weight", "total_increasing", "coal_kg"),
    ("factor", "Grid CO2 factor", "kg/kWh", "", "", "factor_kg_per_kwh"),
)


def topic(net, key):
    return ("homeassistant/sensor/%s_%s/config" % (net.uid, key)).encode()


def write(net, row, buf, i):
    """The config JSON of sensor `row` into buf from i; the index after it. Every text is
    [A-Za-z0-9_ /:.-] (keys, names, the unit id, the MAC): no JSON escaping."""
    key, name, unit, dclass, sclass, field = row
    uid = net.uid.encode()
    k = key.encode()
    i = _put(buf, i, b'{"name":"')
    i = _put(buf, i, name.encode())
    i = _put(buf, i, b'","unique_id":"')
    i = _put(buf, i, uid)
    buf[i] = 95  # _
    i = _put(buf, i + 1, k)
    i = _put(buf, i, b'","object_id":"')
    i = _put(buf, i, net.unit_id.replace("-", "_").encode())
    buf[i] = 95
    i = _put(buf, i + 1, k)
    i = _put(buf, i, b'","state_topic":"')
    i = _put(buf, i, net.t_state)
    i = _put(buf, i, b'","value_template":"{{ value_json.')
    i = _put(buf, i, field.encode())
    i = _put(buf, i, b' }}","unit_of_measurement":"')
    i = _put(buf, i, unit.encode())
    i = _put(buf, i, b'","availability_topic":"')
    i = _put(buf, i, net.t_avail)
    buf[i] = 34
    i += 1
    if dclass:
        i = _put(buf, i, b',"device_class":"')
        i = _put(buf, i, dclass.encode())
        buf[i] = 34
        i += 1
    if sclass:
        i = _put(buf, i, b',"state_class":"')
        i = _put(buf, i, sclass.encode())
        buf[i] = 34
        i += 1
    if key == "power":
        i = _put(buf, i, b',"suggested_display_precision":0')
    i = _put(buf, i, b',"device":{"identifiers":["')
    i = _put(buf, i, uid)
    i = _put(buf, i, b'"],"name":"sunprint ')
    i = _put(buf, i, net.unit_id.encode())
    i = _put(buf, i, b'","manufacturer":"sunprint","model":"solar carbon sign","sw_version":"')
    i = _put(buf, i, VERSION.encode())
    buf[i] = 34
    i += 1
    m = net.mac
    if m:
        i = _put(buf, i, b',"connections":[["mac","')
        for j in range(0, 12, 2):
            if j:
                buf[i] = 58  # :
                i += 1
            i = _put(buf, i, m[j : j + 2].encode())
        i = _put(buf, i, b'"]]')
    return _put(buf, i, b"}}")


def config(net, row):
    """(topic, JSON payload str) of one sensor's config (for tests and tools)."""
    buf = bytearray(1024)
    return topic(net, row[0]).decode(), bytes(buf[: write(net, row, buf, 0)]).decode()


def announce(net, now, head):
    """Send every sensor's config, retained, from net.buf[head:] (the room before it is the
    topic's and the header's); False when a publish failed (the client then counts a fault and
    connects again: the next connect sends them all again)."""
    client, buf = net.client, net.buf
    for row in SENSORS:
        n = write(net, row, buf, head)
        if not client.publish(now, topic(net, row[0]), buf, head, n, True):
            return False
    return True

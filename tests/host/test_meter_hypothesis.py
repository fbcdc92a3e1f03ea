"""The meter stack's property (tests/firmware/meter_property.py) with hypothesis choosing the
events: register glitches anywhere in its range or just below it, glitches that last three
polls, meter resets and swaps, lost replies, reboots with the meter counting on while off, and
the power in between. The lifetime total never decreases and never exceeds the energy the
simulated meter produced plus one register count per register run. CPython only (hypothesis);
the seeded version, tests/firmware/test_meter_property.py, runs in both interpreters."""

import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host_tools.paths import ROOT, use_firmware

use_firmware()
sys.path.insert(0, str(ROOT / "tests" / "firmware"))

import meter_property as mp  # noqa: E402

_KWH = st.integers(0, 99999999).map(lambda c: c / 100)  # a DL/T 645 register's range


def _events(max_w):
    return st.lists(
        st.one_of(
            st.tuples(st.just(mp.POWER), st.integers(0, max_w)),
            st.tuples(st.just(mp.GLITCH), _KWH),
            st.tuples(st.just(mp.GLITCH_RUN), _KWH),
            st.tuples(st.just(mp.RESET), st.just(0)),
            st.tuples(st.just(mp.SWAP), st.integers(0, 409500).map(lambda c: c / 100)),
            st.tuples(st.just(mp.LINE), st.just(0)),
            st.tuples(st.just(mp.REBOOT), st.integers(0, 3600)),
        ),
        min_size=1,
        max_size=120,
    )


_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_SETTINGS
@given(_events(20000))
def test_dlt645_stack(events):
    mp.check("esp32-epd42-dlt645", events)


@_SETTINGS
@given(_events(6000))
def test_modbus_stack(events):
    mp.check("esp32-epd75-ddsu666", events)

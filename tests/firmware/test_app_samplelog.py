# What the unit records for replay: the calibrated reading and, beside it, the raw one the
# driver gave, so an installer can re-fit a calibration from a recorded day. CPython and
# MicroPython.
from app_rig import START, make_app

from host_tools.sim.platform.faultfs import FaultFS
from sunprint.core.calib import Linear
from sunprint.samplelog import SampleLogWriter, read_log
from sunprint.sources import PowerSource


class Driver:
    power_mw = 2000000  # what the chip says: 2,000 W

    def poll(self):
        return 0


def test_the_sample_log_keeps_the_raw_reading_beside_the_calibrated_one():
    fs = FaultFS()
    # The installer's reference meter read 3 % more than the chip; a 12 kW string in mW.
    app = make_app(PowerSource(Driver(), calib=Linear(1.03, max_raw=12000000)))
    app.samplelog = SampleLogWriter(fs, directory="/log", flush_rows=6)
    t = START
    for _ in range(12):
        app.tick(t)
        t += 10
    app.samplelog.close()
    rows = list(read_log(fs, "/log"))
    assert len(rows) == 12
    for row in rows:
        assert abs(row[1] - 2060.0) < 0.05, row  # calibrated, W
        assert row[2] == 2000000, row  # raw, as the driver read it


def test_the_app_records_its_samples_for_replay():
    class Driver:
        def __init__(self):
            self.power_mw = 1500000
            self.flag = 0

        def poll(self):
            return self.flag

    drv = Driver()
    fs = FaultFS()
    app = make_app(PowerSource(drv))
    app.samplelog = SampleLogWriter(fs, directory="/log", flush_rows=6)
    t = START
    for i in range(60):
        drv.flag = 1 if i == 30 else 0  # one reading the bus did not deliver
        app.tick(t)
        t += 10
    app.samplelog.close()
    rows = []
    for row in read_log(fs, "/log"):
        rows.append(row)
    assert len(rows) == 60
    assert rows[0][1] == 1500.0 and sum(1 for r in rows if r[3] != 0) == 1

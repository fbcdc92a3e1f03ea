# The device's sample log: format 2 rows written by SampleLogWriter into a ring of files on a
# flash that loses power (FaultFS), read back by the lenient reader; format 1 and 2 reading.
# Runs under CPython and MicroPython.
# micropython-heap: 160000 (the in-memory flash holds every log file in the VM, next to the
# bytecode of the writer, the reader and the flash model)
import gc
import io

from host_tools.sim.platform.faultfs import AFTER, BEFORE, FaultFS, PowerCut
from sunprint.samplelog import (
    ReadStats,
    SampleLogError,
    SampleLogWriter,
    log_files,
    read_log,
    read_rows,
    read_samples,
)

EPOCH = 946684800  # 2000-01-01 in UNIX seconds
T0 = 1728921600 - EPOCH  # 2024-10-14 16:00 UTC in firmware seconds


def _sample(i):
    # (firmware time, power mW, raw, flag) of sample i: negative, zero, large, flagged.
    mw = (i * 7919) % 400000 - 1500
    flag = 6 if i % 17 == 5 else 0
    return T0 + 10 * i, mw, mw + 3 * (i % 5) - 7, flag


def _expected(i):
    t, mw, raw, flag = _sample(i)
    return t + EPOCH, mw / 1000, raw, flag


def _write(w, lo, hi, done=None):
    for i in range(lo, hi):
        w.append(*_sample(i))
        if done is not None:
            done[0] = w.rows - w._rows  # rows handed to the flash (flushed) so far


def _read(fs, lenient=True):
    st = ReadStats()
    rows = list(read_log(fs, "/log", lenient, st))
    return rows, st


def _total(fs):
    d = fs.durable()
    return sum(len(d[p]) for p in d if p.startswith("/log/"))


def _index(row):
    return (row[0] - EPOCH - T0) // 10


def test_rows_read_back_exactly():
    fs = FaultFS()
    w = SampleLogWriter(fs, meta={"site": "test", "board": "esp32-epd29"})
    _write(w, 0, 100)
    w.close()
    fs = fs.reboot()
    rows, st = _read(fs, lenient=False)
    assert rows == [_expected(i) for i in range(100)]
    assert st.dropped == 0 and st.rows == 100 and st.flagged == 6
    assert log_files(fs) == ["/log/00000001.csv"]
    text = fs.peek("/log/00000001.csv").decode()
    lines = text.split("\n")
    assert lines[0:3] == [
        "# sunprint samplelog 2",
        "# board=esp32-epd29 site=test",
        "timestamp,power_w,raw,flag",
    ]
    assert lines[3] == "1728921600,-1.500,-1507,0"
    assert lines[4] == "1728921610,6.419,6415,0"
    assert lines[8] == "1728921650,38.095,38088,6"
    assert text.endswith("\n")


def test_number_formatting_edges():
    fs = FaultFS()
    w = SampleLogWriter(fs, flush_rows=1)
    cases = [(0, 0, 0), (999, 1, 255), (-999, -1, 8), (1000, 123456789, 0), (-2000000, 2**29, 3)]
    for k, (mw, raw, flag) in enumerate(cases):
        assert w.append(k, mw, raw, flag)
    w.close()
    text = fs.peek("/log/00000001.csv").decode()
    assert text.split("\n")[2:-1] == [
        "946684800,0.000,0,0",
        "946684801,0.999,1,255",
        "946684802,-0.999,-1,8",
        "946684803,1.000,123456789,0",
        "946684804,-2000.000,536870912,3",
    ]
    # 2034 and later (firmware time above 2**30): still no carry mistakes
    fs = FaultFS()
    w = SampleLogWriter(fs, flush_rows=1)
    w.append(2**30 + 99999 - 84800, 5, 5, 0)
    w.append(2**30 + 99999 - 84800 + 1, 5, 5, 0)
    w.close()
    rows, _ = _read(fs.reboot())
    assert [r[0] for r in rows] == [2**30 + 99999 - 84800 + EPOCH, 2**30 + 100000 - 84800 + EPOCH]


def test_flush_every_n_rows_or_seconds():
    fs = FaultFS()
    w = SampleLogWriter(fs, flush_rows=4, flush_s=60)
    for i in range(3):
        w.append(T0 + i, 1, 1, 0)
    assert w.flushes == 0 and fs.peek("/log/00000001.csv") is None
    w.append(T0 + 3, 1, 1, 0)
    assert w.flushes == 1
    w.append(T0 + 10, 1, 1, 0)
    w.append(T0 + 70, 1, 1, 0)  # 60 s after the oldest buffered row: that row is flushed first
    assert w.flushes == 2
    rows, _ = _read(fs.reboot())
    assert [r[0] - EPOCH - T0 for r in rows] == [0, 1, 2, 3, 10]


def test_rotation_keeps_within_budget_and_drops_the_oldest():
    fs = FaultFS()
    w = SampleLogWriter(fs, budget_bytes=1024, file_bytes=256, flush_rows=2)
    head = len(b"# sunprint samplelog 2\ntimestamp,power_w,raw,flag\n")
    most = 0
    for i in range(300):
        w.append(*_sample(i))
        most = max(most, _total(fs))
    w.close()
    assert most <= 1024 + head
    assert _total(fs) <= 1024
    files = log_files(fs)
    assert w.files_deleted > 10 and len(files) >= 4
    d = fs.durable()
    seqs = [int(p[5:13]) for p in files]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # contiguous, in order
    for p in files:
        assert len(d[p]) <= 256
        one = list(read_rows(io.StringIO(d[p].decode()), p))  # every file readable alone
        assert one
    rows, st = _read(fs.reboot(), lenient=False)
    first = _index(rows[0])
    assert first > 200  # the oldest went
    assert rows == [_expected(i) for i in range(first, 300)]
    assert st.dropped == 0


def test_reboot_starts_a_new_file_and_keeps_old_ones():
    fs = FaultFS()
    w = SampleLogWriter(fs)
    _write(w, 0, 10)
    w.close()
    fs = fs.reboot()
    before = fs.peek("/log/00000001.csv")
    w = SampleLogWriter(fs)
    w.append(*_sample(9))  # the clock is back: not after the last logged row
    assert w.skipped == 1
    _write(w, 10, 20)
    w.close()
    assert fs.peek("/log/00000001.csv") == before
    assert log_files(fs) == ["/log/00000001.csv", "/log/00000002.csv"]
    rows, st = _read(fs.reboot(), lenient=False)
    assert rows == [_expected(i) for i in range(20)] and st.sections == 2


def _scenario(fs, done):
    w = SampleLogWriter(fs, budget_bytes=768, file_bytes=256, flush_rows=3, flush_s=60)
    _write(w, 0, 40, done)
    w.close()
    return w


def test_power_cut_at_every_operation():
    probe = FaultFS()
    _scenario(probe, [0])
    n_ops = probe.ops
    assert n_ops > 40
    cases = 0
    torn_seen = 0
    for cut_at in range(n_ops):
        for mode in (BEFORE, AFTER):
            for torn in (0, 7, 30):
                fs = FaultFS(cut_at=cut_at, cut_mode=mode, torn=torn)
                done = [0]
                try:
                    _scenario(fs, done)
                    raise AssertionError("no cut at %d" % cut_at)
                except PowerCut:
                    pass
                fs = fs.reboot()
                rows, st = _read(fs)
                assert st.dropped <= 1, (cut_at, mode, torn, st.dropped)
                torn_seen += st.dropped
                # a contiguous run of the rows written, at least up to every flushed row
                if rows:
                    first = _index(rows[0])
                    assert rows == [_expected(i) for i in range(first, first + len(rows))]
                    assert first + len(rows) >= done[0], (cut_at, mode, torn)
                else:
                    assert done[0] <= 3, (cut_at, mode, torn)
                assert _total(fs) <= 768 + 64
                # after the reboot the log goes on; the older files are never touched
                old = fs.durable()
                w = SampleLogWriter(fs, budget_bytes=768, file_bytes=256, flush_rows=3)
                _write(w, 40, 50)
                w.close()
                now = fs.durable()
                for p in old:
                    assert p not in now or now[p] == old[p], (cut_at, mode, torn, p)
                rows2, st2 = _read(fs.reboot())
                assert st2.dropped <= st.dropped
                assert rows2[-10:] == [_expected(i) for i in range(40, 50)]
                assert rows2[: len(rows2) - 10] == rows[len(rows) + 10 - len(rows2) :]
                cases += 1
    assert cases == n_ops * 6
    assert torn_seen > 0  # some cuts did tear a line


def test_v1_and_v2_and_mixed_sections():
    v1 = "# sunprint samplelog 1\ntimestamp,power_w\n100,1.5\n110,2.0\n"
    v2 = "# sunprint samplelog 2\n# site=x\ntimestamp,power_w,raw,flag\n120,3.25,3300,0\n130,9.0,9000,6\n"
    rows = list(read_rows(io.StringIO(v1 + v2), "m.csv"))
    assert rows == [
        (100, 1.5, None, 0),
        (110, 2.0, None, 0),
        (120, 3.25, 3300, 0),
        (130, 9.0, 9000, 6),
    ]
    assert list(read_samples(io.StringIO(v1 + v2), "m.csv")) == [
        (100, 1.5),
        (110, 2.0),
        (120, 3.25),
    ]
    assert list(read_samples(io.StringIO("timestamp,power_w\n5,1.5\n"))) == [(5, 1.5)]


def _error(text, lenient=False):
    try:
        list(read_rows(io.StringIO(text), "x.csv", lenient))
    except SampleLogError as e:
        return str(e)
    raise AssertionError("no error for %r" % text)


def test_strict_and_lenient_torn_lines():
    v2 = "# sunprint samplelog 2\ntimestamp,power_w,raw,flag\n10,1.0,1,0\n20,2.0,2,0\n"
    msg = _error(v2 + "30,3.0")
    assert msg.startswith("x.csv:5:") and "truncated" in msg
    st = ReadStats()
    assert [r[0] for r in read_rows(io.StringIO(v2 + "30,3.0"), "x.csv", True, st)] == [10, 20]
    assert st.dropped == 1
    # concatenated device files: a torn line glued to the next file's format line
    glued = v2 + "30,3.0# sunprint samplelog 2\ntimestamp,power_w,raw,flag\n40,4.0,4,0\n"
    assert "expected 4 fields" in _error(glued)
    st = ReadStats()
    assert [r[0] for r in read_rows(io.StringIO(glued), "x.csv", True, st)] == [10, 20, 40]
    assert st.dropped == 1 and st.sections == 2
    # a file cut before its header: nothing to read, no error when lenient
    st = ReadStats()
    assert list(read_rows(io.StringIO("# sunprint samp"), "x.csv", True, st)) == []
    assert st.dropped == 1
    assert list(read_rows(io.StringIO(""), "x.csv", True)) == []
    assert "no header" in _error("")
    # lenient is no licence for garbage
    assert "not an integer" in _error(v2 + "abc,1.0,1,0\n", lenient=True)
    assert "flag" in _error(v2 + "30,1.0,1,x\n")
    assert "flag" in _error(v2 + "30,1.0,1,256\n")
    assert "raw" in _error(v2 + "30,1.0,1.5,0\n")
    assert "not after" in _error(v2 + "20,1.0,1,0\n")
    assert "version" in _error("# sunprint samplelog 3\ntimestamp,power_w\n")
    assert "expected header" in _error("# sunprint samplelog 2\ntimestamp,power_w\n1,2\n")


def test_append_allocates_nothing_between_flushes():
    if not hasattr(gc, "mem_alloc"):  # CPython: nothing to measure
        return
    fs = FaultFS()
    w = SampleLogWriter(fs, flush_rows=60, flush_s=100000, file_bytes=16 * 1024)
    append = w.append
    w.append(T0, 1, 1, 0)
    w.flush()  # the file is started
    t = T0 + 10
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        for i in range(50):
            append(t + 10 * i, 123456 + i, -98765, i & 7)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert used == 0, used
    print("samplelog: %d bytes for 50 appends between flushes" % used)


def test_an_absurd_reading_is_logged_within_a_row_and_never_stops_the_writer():
    # A forced calibration of gain 1e300 (or a meter's float register of 3.4e38) hands the log a
    # reading of hundreds of digits: the row stays within its budget, the unit goes on.
    fs = FaultFS()
    w = SampleLogWriter(fs)
    for i in range(12):
        assert w.append(T0 + 10 * i, 10**300 * (1 - 2 * (i & 1)), 10**40, 5)
    w.append(T0 + 200, 1234, 1234, 0)
    w.close()
    rows, st = _read(fs.reboot(), lenient=False)
    assert st.rows == 13 and st.flagged == 12
    assert rows[0][1] == 99999999.999 and rows[1][1] == -99999999.999  # the bound, flagged
    assert rows[0][2] == 9999999999 and rows[0][3] == 5
    assert rows[-1] == (T0 + 200 + EPOCH, 1.234, 1234, 0)

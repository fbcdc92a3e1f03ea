# The sample log reader: good logs and every kind of bad line. CPython and MicroPython.
import io

from sunprint.samplelog import SampleLogError, format_row, read_samples, write_header

GOOD = "# sunprint samplelog 1\n# site=test\ntimestamp,power_w\n100,0.0\n110,12.5\n120,-1.0\n"


def _read(text):
    return list(read_samples(io.StringIO(text), "x.csv"))


def _error(text):
    try:
        _read(text)
    except SampleLogError as e:
        return str(e)
    raise AssertionError("no error for %r" % text)


def test_reads_versioned_log():
    assert _read(GOOD) == [(100, 0.0), (110, 12.5), (120, -1.0)]


def test_reads_plain_csv_without_format_line():
    assert _read("timestamp,power_w\n5,1.5\n") == [(5, 1.5)]


def test_wrong_header_names_line():
    assert _error("# sunprint samplelog 1\ntime,power\n1,2\n").startswith(
        "x.csv:2: expected header"
    )


def test_non_numeric_power_names_line():
    msg = _error("timestamp,power_w\n1,2.0\n2,abc\n")
    assert msg.startswith("x.csv:3:") and "abc" in msg


def test_non_integer_timestamp():
    assert _error("timestamp,power_w\n1.5,2.0\n").startswith("x.csv:2: timestamp")


def test_nan_is_rejected():
    assert "finite" in _error("timestamp,power_w\n1,nan\n")


def test_backwards_timestamp():
    msg = _error("timestamp,power_w\n10,1\n20,1\n15,1\n")
    assert msg.startswith("x.csv:4:") and "not after" in msg


def test_truncated_last_line():
    msg = _error("timestamp,power_w\n10,1\n20,1")
    assert msg.startswith("x.csv:3:") and "truncated" in msg


def test_wrong_field_count():
    assert _error("timestamp,power_w\n10,1,3\n").startswith("x.csv:2: expected 2 fields")


def test_unsupported_version():
    assert "version" in _error("# sunprint samplelog 7\ntimestamp,power_w\n")


def test_empty_file_has_no_header():
    assert "no header" in _error("")


def test_written_log_reads_back():
    out = io.StringIO()
    write_header(out, {"site": "Zhongshan"})
    out.write(format_row(100, 1234.56))
    out.write(format_row(110, 0))
    assert _read(out.getvalue()) == [(100, 1234.6), (110, 0.0)]


def _rows_v2(text, lenient=False):
    from sunprint.samplelog import read_rows

    return list(read_rows(io.StringIO(text), "x.csv", lenient))


V2_HEAD = "# sunprint samplelog 2\ntimestamp,power_w,raw,flag\n"


def test_a_flagged_row_is_read_whatever_its_power():
    # After an absurd calibration (gain 1e12) the unit logs 199981 raw mW as 1.99e14 W, flagged
    # out of range (5): data about a fault, read as it is, strict or lenient.
    text = V2_HEAD + "100,12.500,12500,0\n110,199981000000000.000,199981,5\n120,13.000,13000,0\n"
    for lenient in (False, True):
        rows = _rows_v2(text, lenient)
        assert [(r[0], r[3]) for r in rows] == [(100, 0), (110, 5), (120, 0)]
        assert rows[1][1] == 199981000000000.0 and rows[1][2] == 199981


def test_an_unflagged_row_out_of_range_is_still_an_error():
    text = V2_HEAD + "110,199981000000000.000,199981,0\n"
    try:
        _rows_v2(text)
    except SampleLogError as e:
        assert str(e).startswith("x.csv:3:") and "out of range" in str(e)
        return
    raise AssertionError("no error")


def test_a_utf8_bom_before_the_header_is_skipped():
    # Excel saves "CSV UTF-8" with a byte order mark (and CRLF line ends)
    assert _read("\ufefftimestamp,power_w\r\n5,1.5\r\n6,2.0\r\n") == [(5, 1.5), (6, 2.0)]
    assert _read("\ufeff# sunprint samplelog 1\ntimestamp,power_w\n5,1.5\n") == [(5, 1.5)]
    # only at the very start: elsewhere it is not a header
    assert "expected header" in _error("# sunprint samplelog 1\n\ufefftimestamp,power_w\n5,1\n")


def test_a_row_before_min_t_is_a_bad_row_naming_its_line():
    from sunprint.samplelog import MIN_UNIT_TIMESTAMP, ReadStats, read_rows

    text = "timestamp,power_w\n%d,1.0\n%d,1.0\n" % (MIN_UNIT_TIMESTAMP - 1, MIN_UNIT_TIMESTAMP)
    try:
        list(read_rows(io.StringIO(text), "x.csv", min_t=MIN_UNIT_TIMESTAMP))
    except SampleLogError as e:
        assert str(e).startswith("x.csv:2: timestamp 946684799 is before 2000-01-01"), str(e)
    else:
        raise AssertionError("a row before 2000 read")
    stats = ReadStats()
    rows = list(read_rows(io.StringIO(text), "x.csv", True, stats, True, MIN_UNIT_TIMESTAMP))
    assert rows == [(MIN_UNIT_TIMESTAMP, 1.0, None, 0)] and stats.skipped == 1
    assert len(list(read_rows(io.StringIO(text), "x.csv"))) == 2  # no bound by default

"""replay's block reader (host_tools/replay_read.py) and Replay.feed_block against the one-row
paths they stand in for: the rows, the read stats and every fault of samplelog.read_rows over
the whole log, and the numbers of Replay.feed row by row, for logs with every kind of line a
block can hold, cut into blocks of many sizes (a block boundary inside every kind of run)."""

import io

import pytest

from host_tools.paths import FONTS, use_firmware

use_firmware()

from host_tools import replay_read  # noqa: E402
from host_tools.boards import load_board  # noqa: E402
from host_tools.replay_core import Replay  # noqa: E402
from sunprint.samplelog import (  # noqa: E402
    MIN_UNIT_TIMESTAMP,
    ReadStats,
    SampleLogError,
    read_rows,
)

T0 = 1728950400  # 2024-10-15 00:00 UTC


def _v1(n, t0=T0, step=10, fmt="%d,%.1f\n"):
    return "".join(fmt % (t0 + step * i, (i * 37) % 900 - 3.5) for i in range(n))


def _v2(n, t0=T0, step=10):
    out = []
    for i in range(n):
        flag = 1 if i % 7 == 3 else 0
        out.append("%d,%.3f,%d,%d\n" % (t0 + step * i, (i * 53) % 700 + 0.125, -i, flag))
    return "".join(out)


V1 = "# sunprint samplelog 1\n# site=x\ntimestamp,power_w\n"
V2 = "# sunprint samplelog 2\ntimestamp,power_w,raw,flag\n"
LOGS = {
    "plain_v1": V1 + _v1(300),
    "no_format_line": "timestamp,power_w\n" + _v1(50),
    "v2_flags": V2 + _v2(300),
    "v2_flagged_absurd_power": V2 + _v2(20) + "%d,199000000000000.000,5,4\n" % (T0 + 500),
    "v1_then_v2": V1 + _v1(100) + V2 + _v2(100, T0 + 2000),
    "v2_then_v1": V2 + _v2(100) + V1 + _v1(100, T0 + 2000),
    "crlf": "timestamp,power_w\r\n" + _v1(60).replace("\n", "\r\n"),
    "bom": "\ufefftimestamp,power_w\n" + _v1(40),
    "bad_row_in_the_middle": V1 + _v1(100) + "17289,abc\n" + _v1(100, T0 + 5000),
    "not_increasing": V1 + _v1(100) + _v1(50, T0 + 300),
    "equal_time": V1 + _v1(100) + "%d,5.0\n" % (T0 + 990) + _v1(10, T0 + 2000),
    "before_2000": V1 + "946684799,1.0\n" + _v1(20),
    "beyond_2106": V1 + _v1(20) + "4294967296,1.0\n",
    "power_beyond_1e9": V1 + _v1(20) + "%d,1000000000.5\n" % (T0 + 900) + _v1(5, T0 + 1000),
    "flag_beyond_255": V2 + _v2(10) + "%d,1.0,0,256\n" % (T0 + 900),
    "torn_last_line": V1 + _v1(100) + "%d,12" % (T0 + 5000),
    "empty_line": V1 + _v1(30) + "\n" + _v1(30, T0 + 1000),
    "vertical_tab": V1 + _v1(30) + "%d,1.0\x0b\n" % (T0 + 400) + _v1(30, T0 + 1000),
    "unicode_digits": V1 + _v1(30) + "\u0661\u0662,1.0\n" + _v1(30, T0 + 1000),
    "trailing_point_and_exponent": V1 + _v1(10) + "%d,5.\n%d,1e3\n" % (T0 + 200, T0 + 210),
    "nul_byte": V1 + _v1(100) + "%d,1.0\x00\n" % (T0 + 5000),
    "overlong_line": V1 + _v1(100) + "1" * 5000 + "\n",
    "no_header": _v1(20),
    "header_only": V1,
    "a_second_format_line_before_the_header": V1 + _v1(10) + V2[:23] + V1,
    "leading_zeros_and_signs": V1 + "0%d,-0.0\n%d,+5.0\n%d,007.50\n" % (T0, T0 + 10, T0 + 20),
}


def _reference(data, lenient):
    stats = ReadStats()
    rows = []
    try:
        lines = replay_read.text_lines(io.BytesIO(data), "log.csv")
        for t, p, _raw, flag in read_rows(
            lines, "log.csv", lenient, stats, lenient, MIN_UNIT_TIMESTAMP
        ):
            rows.append((t, p, flag))
    except SampleLogError as e:
        return rows, vars(stats), str(e)
    return rows, vars(stats), None


def _blocks(data, lenient):
    stats = ReadStats()
    rows = []
    try:
        for ts, ps, flags in replay_read.row_blocks(
            io.BytesIO(data), "log.csv", lenient, stats, MIN_UNIT_TIMESTAMP
        ):
            assert len(ts) == len(ps) and (flags is None or len(flags) == len(ts))
            for i in range(len(ts)):
                rows.append((ts[i], ps[i], 0 if flags is None else flags[i]))
    except SampleLogError as e:
        return rows, vars(stats), str(e)
    return rows, vars(stats), None


@pytest.mark.parametrize("name", sorted(LOGS))
@pytest.mark.parametrize("lenient", [False, True])
def test_the_block_reader_gives_what_read_rows_gives(name, lenient, monkeypatch):
    data = LOGS[name].encode("utf-8")
    for block in (7, 64, 333, 1 << 20):  # boundaries inside every kind of run of lines
        monkeypatch.setattr(replay_read, "_BLOCK", block)  # (the checks of a block come first)
        want_rows, want_stats, want_error = _reference(data, lenient)
        rows, stats, error = _blocks(data, lenient)
        if want_error is None:
            assert error is None, (block, error)
            assert rows == want_rows, block
        else:
            # the same fault, and no row after it (the rows of its own block may be held back)
            assert error == want_error, block
            assert rows == want_rows[: len(rows)], block
        assert stats == want_stats or want_error is not None, block


def test_the_block_reader_parses_plain_blocks_itself(monkeypatch):
    # the speed: a plain log never reaches read_rows beyond its header lines
    calls = []
    real = replay_read.read_rows

    def counting(lines, *args):
        lines = list(lines)
        calls.append(len(lines))
        return real(lines, *args)

    monkeypatch.setattr(replay_read, "read_rows", counting)
    data = (V1 + _v1(5000)).encode()
    stats = ReadStats()
    n = sum(len(b[0]) for b in replay_read.row_blocks(io.BytesIO(data), "x", False, stats, 0))
    assert n == 5000 == stats.rows
    assert sum(calls) == 3  # the format line, the comment and the header


def _log(n=3000):
    # 8 hours of 10 s rows with a gap, flagged rows, a local midnight, negative power and a
    # power beyond the log writer's bound
    out = [V2]
    t = T0 + 8 * 3600
    for i in range(n):
        t += 10 if i != 1200 else 900  # a gap beyond max_gap_s
        flag = 1 if 400 <= i < 404 or i == 2000 else 0
        p = max(0.0, 400.0 - abs(i - 1500) * 0.3) + (i % 13) - 6  # (a night draw: < 0)
        if i == 2500:
            p = 5e8  # beyond what the unit's log writer writes: replay bounds it as the writer
        out.append("%d,%.3f,%d,%d\n" % (t, p, int(p * 1000) % 1000000000, flag))
    return "".join(out)


def _replay(log, by_block, events=(), block=None):
    core = Replay(load_board("esp32-epd29"), str(FONTS), display=False, events=list(events))
    stats = ReadStats()
    data = io.BytesIO(log.encode())
    if by_block:
        for ts, ps, flags in replay_read.row_blocks(data, "x", False, stats, 0):
            core.feed_block(ts, ps, flags)
    else:
        lines = replay_read.text_lines(data, "x")
        for t, p, _raw, flag in read_rows(lines, "x", False, stats):
            core.feed(t, p, flag)
    numbers = core.finish()
    core.unit.close()
    return numbers


@pytest.mark.parametrize("block", [50, 4096, 1 << 20])
def test_feed_block_books_what_feed_books(block, monkeypatch):
    monkeypatch.setattr(replay_read, "_BLOCK", block)
    log = _log()
    assert _replay(log, True) == _replay(log, False)


def test_feed_block_books_what_feed_books_with_faults():
    log = _log()
    t = T0 + 8 * 3600
    events = [
        {"kind": "dropout", "t": t + 3000, "until": t + 3600},
        {"kind": "clock_jump", "t": t + 8000, "seconds": 5 * 3600},  # midnight 5 h early
        {"kind": "power_cut", "t": t + 12000},
    ]
    numbers = _replay(log, True, events)
    assert numbers == _replay(log, False, events)
    assert numbers["wrong_day_wh"] > 0  # (energy booked to the day after the one it was made on)

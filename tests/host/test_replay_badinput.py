"""Bad input to `sunprint replay`: every log and scenario file of the corpus in
tests/host/data/badlogs/ gives one line naming file:line, exit status 2 and nothing written;
with --lenient the bad rows are skipped and counted. The log parser is fuzzed with hypothesis:
it yields rows or raises SampleLogError naming file:line, never anything else."""

import io
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host_tools.paths import LOGS, ROOT, use_firmware
from host_tools.replay import main

use_firmware()

from sunprint.samplelog import ReadStats, SampleLogError, read_rows  # noqa: E402

BAD = ROOT / "tests" / "host" / "data" / "badlogs"
GOOD_LOG = LOGS / "zhongshan-2024-10-15.csv"
# what each bad log must say, and on which line
EXPECTED = {
    "binary-garbage.csv": (1, "not UTF-8"),
    "bad-utf8.csv": (3, "not UTF-8"),
    "wrong-header.csv": (2, "expected header"),
    "missing-column.csv": (4, "expected 2 fields, got 1"),
    "missing-column-v2.csv": (3, "expected 4 fields, got 3"),
    "nan.csv": (4, "not a finite number"),
    "inf.csv": (4, "not a finite number"),
    "huge-power.csv": (4, "out of range"),
    "huge-timestamp.csv": (4, "out of range"),
    "timestamps-backwards.csv": (5, "not after the previous one"),
    "timestamps-repeated.csv": (5, "not after the previous one"),
    "truncated-last-line.csv": (5, "truncated last line"),
    "empty.csv": (1, "no header"),
    "enormous-line.csv": (4, "line longer than"),
    "underscore-number.csv": (3, "not a number"),
    "unknown-version.csv": (1, "unsupported samplelog version"),
    "header-only.csv": (2, "no samples"),
}
# bad rows --lenient skips (and counts): (skipped, good rows replayed)
SKIPPABLE = {
    "missing-column.csv": (1, 1),
    "nan.csv": (1, 1),
    "inf.csv": (1, 1),
    "huge-power.csv": (1, 1),
    "huge-timestamp.csv": (1, 1),
    "timestamps-backwards.csv": (1, 2),
    "timestamps-repeated.csv": (1, 2),
    "underscore-number.csv": (1, 1),
}
SCENARIOS = {
    "scenario-unknown-kind.json": (2, "event 1: kind"),
    "scenario-missing-until.json": (2, "event 0: until: missing"),
    "scenario-rate-out-of-range.json": (2, "event 0: rate"),
    "scenario-bad-time.json": (2, "event 0: at"),
    "scenario-until-before-at.json": (2, "event 0: until: must be after at"),
    "scenario-not-json.json": (3, "not JSON"),
    "scenario-not-a-list.json": (1, "a scenario is a JSON list"),
    "scenario-zero-jump.json": (2, "event 0: seconds"),
    "scenario-unknown-key.json": (2, "event 0: color"),
    "scenario-duplicate-key.json": (1, "duplicate key 'at'"),
    "scenario-binary.json": (1, "not UTF-8"),
}


def _fails(tmp_path, capsys, argv):
    out = tmp_path / "out"
    code = main(argv + ["--board", "esp32-epd29", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert not out.exists()
    assert not list(tmp_path.iterdir()), "something was written"
    assert len(err.splitlines()) == 1 and len(err) < 300, err
    return err


def test_the_corpus_is_complete():
    names = {p.name for p in BAD.iterdir()}
    assert names == set(EXPECTED) | set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_log(tmp_path, capsys, name):
    line, what = EXPECTED[name]
    err = _fails(tmp_path, capsys, [str(BAD / name)])
    assert "%s:%d: " % (BAD / name, line) in err, err
    assert what in err, err


@pytest.mark.parametrize("name", sorted(SKIPPABLE))
def test_lenient_skips_and_counts_bad_rows(tmp_path, name):
    out = tmp_path / "out"
    argv = [str(BAD / name), "--board", "esp32-epd29", "--out", str(out), "--lenient"]
    assert main(argv + ["--no-progress", "--accounting-only"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    skipped, good = SKIPPABLE[name]
    assert summary["log_rows"]["skipped_bad"] == skipped
    assert summary["log_rows"]["rows"] == good == summary["samples"]


def test_lenient_still_rejects_what_is_not_a_log(tmp_path, capsys):
    for name in ("binary-garbage.csv", "wrong-header.csv", "enormous-line.csv"):
        err = _fails(tmp_path, capsys, [str(BAD / name), "--lenient"])
        assert name in err


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_bad_scenario(tmp_path, capsys, name):
    line, what = SCENARIOS[name]
    err = _fails(tmp_path, capsys, [str(GOOD_LOG), "--scenario", str(BAD / name)])
    assert "%s:%d: " % (BAD / name, line) in err, err
    assert what in err, err


@pytest.mark.parametrize(
    "spec, what",
    [
        ("power_cut", "want KIND@AT"),
        ("flood@10:00", "kind: 'flood'"),
        ("dropout@10:00", "until: missing"),
        ("bus_errors@10:00,until=11:00,rate=x", "rate: want a number"),
        ("clock_jump@10:00,seconds=1.5", "seconds: want a non-zero integer"),
        ("power_cut@10:00,until", "is not key=value"),
        ("power_cut@1o:00", 'is not "HH:MM[:SS]"'),
    ],
)
def test_bad_fault_option(tmp_path, capsys, spec, what):
    err = _fails(tmp_path, capsys, [str(GOOD_LOG), "--fault", spec])
    assert "--fault %r" % spec in err and what in err, err


LINE = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda t, p: "%s,%s" % (t, p),
        st.one_of(st.integers(-5, 2**40).map(str), st.text(max_size=6)),
        st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=6)),
    ),
    st.sampled_from(
        ["timestamp,power_w", "timestamp,power_w,raw,flag", "# sunprint samplelog 2", "#", ""]
    ),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINE, max_size=12), st.booleans(), st.booleans(), st.booleans())
def test_fuzz_the_parser(lines, newline_at_end, lenient, skip_bad):
    text = "\n".join(lines) + ("\n" if newline_at_end else "")
    stats = ReadStats()
    try:
        rows = list(read_rows(io.StringIO(text), "fuzz.csv", lenient, stats, skip_bad))
    except SampleLogError as e:
        assert re.match(r"^fuzz\.csv:\d+: \S", str(e)), str(e)
        assert "\n" not in str(e)
        return
    last = None
    for t, p, raw, flag in rows:
        assert isinstance(t, int) and 0 <= t <= 4294967295
        assert isinstance(p, float) and abs(p) <= 1e9
        assert raw is None or isinstance(raw, int)
        assert 0 <= flag <= 255
        assert last is None or t > last
        last = t
    assert stats.rows == len(rows)


@pytest.mark.parametrize("option", ["--config", "--scenario"])
def test_a_config_or_scenario_that_is_not_a_regular_file_is_refused_at_once(
    tmp_path, capsys, option
):
    # /dev/zero never ends: reading it whole hung replay; a folder is not a file either
    import subprocess
    import sys

    work = tmp_path / "work"
    work.mkdir()
    for path in ("/dev/zero", str(work)):
        proc = subprocess.run(
            [sys.executable, "-m", "host_tools.replay", str(GOOD_LOG), "--board", "esp32-epd29"]
            + ["--out", str(tmp_path / "out"), "--accounting-only", option, path],
            capture_output=True,
            text=True,
            timeout=20,
        )
        err = proc.stderr.strip()
        assert proc.returncode == 2, err
        assert len(err.splitlines()) == 1 and path in err and "not a file" in err, err
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (1 << 20) + b"[]")  # over the cap: not read whole
    err = _fails(work, capsys, [str(GOOD_LOG), option, str(big)])
    assert str(big) in err and "larger than" in err, err


@pytest.mark.parametrize("heap", ["0", "-5", "20000", "100000", str(1 << 40)])
def test_a_heapsize_micropython_cannot_run_is_one_line(tmp_path, capsys, heap):
    err = _fails(tmp_path, capsys, [str(GOOD_LOG), "--micropython", "--heapsize", heap])
    assert "--heapsize %s" % heap in err, err

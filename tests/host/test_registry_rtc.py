"""The registry's rtc_offset_s column (what setting the unit's clock corrected): a registry
written before it is still a registry, brought up to the new header at the next append, its
old rows read with the column empty; anything else is still refused."""

import pytest

from host_tools import registry
from host_tools.errors import UserError

OLD = (
    "time,port,mac,chip,board,firmware_sha256,app_version,config_hash,result,message\r\n"
    "2026-11-02T10:00:00+08:00,/dev/ttyUSB0,24:0a:c4:12:34:56,ESP32,b,ab,0.1.0,,ok,fine\r\n"
)


def test_old_registry_gets_the_column(tmp_path):
    path = tmp_path / "units.csv"
    path.write_bytes(b"\xef\xbb\xbf" + OLD.encode())  # as a spreadsheet saved it
    assert registry.check(path) == path
    registry.append(path, {"port": "/dev/ttyUSB1", "result": "ok", "rtc_offset_s": "-3"})
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf" + registry.HEADER.encode() + b"\r\n")
    assert raw.count(b"\r\n") == 3 and b"\n" not in raw.replace(b"\r\n", b"")
    rows = registry.read(path)
    assert [r["rtc_offset_s"] for r in rows] == ["", "-3"]
    assert rows[0]["message"] == "fine" and rows[1]["port"] == "/dev/ttyUSB1"


def test_new_registry_and_a_foreign_csv(tmp_path):
    path = tmp_path / "new.csv"
    registry.append(path, {"port": "p", "rtc_offset_s": "812345678"})
    assert path.read_text().splitlines()[0] == registry.HEADER
    assert registry.read(path)[0]["rtc_offset_s"] == "812345678"
    other = tmp_path / "other.csv"
    other.write_text("time,port,mac\n1,2,3\n")
    with pytest.raises(UserError, match="is not a sunprint unit registry"):
        registry.append(other, {"port": "p"})
    assert other.read_text() == "time,port,mac\n1,2,3\n"


def test_deploy_calibrate_monitor_use_the_registry_they_find(tmp_path, monkeypatch):
    # --registry names one (checked); without it, the flash registry of this folder if any
    monkeypatch.chdir(tmp_path)
    assert registry.clock_registry(None) is None
    registry.record_clock(None, "monitor", "/dev/ttyUSB0", 5)  # no registry: no row, no file
    assert list(tmp_path.iterdir()) == []
    (tmp_path / registry.DEFAULT).write_text(registry.HEADER + "\n")
    path = registry.clock_registry(None)
    registry.record_clock(path, "deploy", "/dev/ttyUSB0", -812345678, "esp32-epd29")
    row = registry.read(tmp_path / registry.DEFAULT)[0]
    assert row["rtc_offset_s"] == "-812345678" and row["board"] == "esp32-epd29"
    assert row["message"] == "deploy set the unit's clock from this computer (UTC)"
    other = tmp_path / "other.csv"
    other.write_text("a,b\n")
    with pytest.raises(UserError, match="is not a sunprint unit registry"):
        registry.clock_registry(str(other))


def test_each_row_says_who_ran_the_command(tmp_path, monkeypatch):
    # issue 19: the fleet page shows who flashed a unit; a registry of the previous header
    # (with rtc_offset_s, without by) is brought up to date too
    path = tmp_path / "units.csv"
    path.write_text(",".join(registry.FIELDS[:-1]) + "\n,p0,,,,,,,ok,,\n")
    monkeypatch.setenv("SUNPRINT_OPERATOR", "tech-li")
    registry.append(path, {"port": "p1", "result": "ok"})
    monkeypatch.delenv("SUNPRINT_OPERATOR")
    monkeypatch.setenv("USER", "installer-wang")
    monkeypatch.setenv("LOGNAME", "installer-wang")
    registry.append(path, {"port": "p2", "result": "ok"})
    assert path.read_text().splitlines()[0] == registry.HEADER
    assert [r["by"] for r in registry.read(path)] == ["", "tech-li", "installer-wang"]

"""The unit registry: one CSV row per flashing attempt, what went onto which unit.

Rows are appended atomically (the whole file is rewritten beside itself and renamed over it),
under a lock, so parallel flashing threads and a second `sunprint flash` never tear a row.
"""

import csv
import fcntl
import io
import os
import threading
from pathlib import Path

FIELDS = (
    "time",
    "port",
    "mac",
    "chip",
    "board",
    "firmware_sha256",
    "app_version",
    "config_hash",
    "result",
    "message",
)

_lock = threading.Lock()


def append(path, row):
    """Append one row (a dict with FIELDS keys; missing ones are empty) to the CSV at `path`."""
    path = Path(path)
    unknown = set(row) - set(FIELDS)
    if unknown:
        raise ValueError("registry row has unknown fields: %s" % ", ".join(sorted(unknown)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, open(str(path) + ".lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        if not old:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in FIELDS})
        tmp = path.with_name(".%s.tmp%d" % (path.name, threading.get_ident()))
        tmp.write_text(old + out.getvalue(), encoding="utf-8")
        os.replace(tmp, path)


def read(path):
    """The registry's rows as dicts (an absent file has none)."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))

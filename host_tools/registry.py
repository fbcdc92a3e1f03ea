"""The unit registry: one CSV row per flashing attempt, what went onto which unit.

Rows are appended atomically (the whole file is rewritten beside itself and renamed over it),
under a lock on the registry's folder, so parallel flashing threads and a second `sunprint
flash` never tear a row. Only a registry is appended to: the file must be missing, empty, or a
CSV whose first line is the registry's header (as written here, or saved again by a
spreadsheet: a UTF-8 byte order mark and CRLF line ends are kept). Any other file -- a CSV of
something else, a symbolic link, a folder -- is refused (check(), a UserError naming the path)
before a unit is touched, and never changed. No file but the registry is written (the lock is
the folder's own; the temporary file is new and removed on failure).
"""

import csv
import fcntl
import io
import os
import stat
import threading
from pathlib import Path

from host_tools.errors import UserError
from host_tools.outfile import replacing

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
    "rtc_offset_s",  # what setting the unit's clock from the laptop corrected, s (laptop - unit)
    "by",  # who ran the command: the laptop's login name (SUNPRINT_OPERATOR overrides it)
)
HEADER = ",".join(FIELDS)
# The headers of earlier registries: still registries, the header is brought up to date at the
# next append (their rows read the new columns as empty).
OLD_HEADERS = (",".join(FIELDS[:-1]), ",".join(FIELDS[:-2]))
_BOM = b"\xef\xbb\xbf"

_lock = threading.Lock()


def check(path, option="--registry"):
    """path as a Path, refused (UserError) unless rows may be appended to it (see above)."""
    path = Path(path)
    shown = "%s %s" % (option, path)
    if path.is_symlink():
        raise UserError("%s: is a symbolic link; name the registry file itself" % shown)
    if path.is_dir():
        raise UserError("%s: is a folder; name the registry's CSV file" % shown)
    if not path.exists():
        if path.parent.exists() and not path.parent.is_dir():
            raise UserError("%s: %s is not a folder" % (shown, path.parent))
        return path
    if not stat.S_ISREG(path.stat().st_mode):
        raise UserError("%s: is not a regular file; name the registry's CSV file" % shown)
    try:
        with open(path, "rb") as f:
            first = f.readline(len(HEADER) + 8)
    except OSError as e:
        raise UserError("%s: cannot read it (%s)" % (shown, e.strerror)) from None
    if first and _header_of(first) != HEADER and _header_of(first) not in OLD_HEADERS:
        raise UserError(
            "%s: is not a sunprint unit registry (its first line is not %s...); "
            "name the registry or a new file" % (shown, HEADER[:30])
        )
    return path


def _header_of(line):
    if line.startswith(_BOM):
        line = line[len(_BOM) :]
    return line.rstrip(b"\r\n").decode("utf-8", "replace")


def append(path, row):
    """Append one row (a dict with FIELDS keys; missing ones are empty) to the CSV at `path`.

    UserError (and nothing written) if path is not a registry (check)."""
    path = Path(path)
    unknown = set(row) - set(FIELDS)
    if unknown:
        raise ValueError("registry row has unknown fields: %s" % ", ".join(sorted(unknown)))
    check(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        with _lock:
            fcntl.flock(folder, fcntl.LOCK_EX)  # another `sunprint flash` on the same registry
            _append_locked(path, row)
    finally:
        os.close(folder)  # releases the flock


def _append_locked(path, row):
    check(path)  # again, under the lock: another process may have written it meanwhile
    old = path.read_bytes() if path.exists() else b""
    end = b"\r\n" if old.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
    first, nl, rest = old.partition(b"\n")
    if _header_of(first) in OLD_HEADERS:  # an earlier registry: the new header
        bom = _BOM if first.startswith(_BOM) else b""
        old = bom + HEADER.encode() + end + rest
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator=end.decode())
    if not old:
        writer.writeheader()
    elif not old.endswith(b"\n"):
        old += end  # a last row without its line end: never glue the new row onto it
    row = dict(row)
    row.setdefault("by", operator())
    writer.writerow({k: row.get(k, "") for k in FIELDS})
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~_umask()
    with replacing(path, mode) as f:
        f.write(old + out.getvalue().encode("utf-8"))


DEFAULT = "sunprint-units.csv"  # `sunprint flash --registry`'s default, and the others'


def clock_registry(option):
    """The registry deploy, calibrate and monitor append their clock row to: --registry's
    (checked, UserError if not a registry), else the default one if this folder has it (a
    technician's, from `sunprint flash`), else None: no row."""
    if option is not None:
        return check(option)
    if Path(DEFAULT).is_file():
        return check(DEFAULT)
    return None


def record_clock(path, command, port, offset_s, board=""):
    """Append the row of a command that set the unit's clock from this computer (deploy,
    calibrate, monitor): what it corrected, as flash's rows carry it. path None: nothing."""
    import datetime

    if path is None or offset_s is None:
        return
    append(
        path,
        {
            "time": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "port": port,
            "board": board,
            "result": "ok",
            "message": "%s set the unit's clock from this computer (UTC)" % command,
            "rtc_offset_s": str(offset_s),
        },
    )


def operator():
    """Who is flashing: SUNPRINT_OPERATOR if set, else the login name ("" if none)."""
    import getpass

    name = os.environ.get("SUNPRINT_OPERATOR", "").strip()
    if name:
        return name[:64]
    try:
        return getpass.getuser()[:64]
    except (KeyError, OSError):  # no login name for this uid (a container)
        return ""


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read(path):
    """The registry's rows as dicts (an absent file has none)."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, restval=""))

"""What the fleet page knows: one record per unit, fed by MQTT messages and the registry.

Bounded: at most max_units units (messages for more are counted and ignored), a day's history
of at most HISTORY_POINTS points per unit, the last FAULTS_KEPT fault events and NOTES_KEPT
notes per unit, the last IGNORED_KEPT ignored messages of the whole fleet. Everything a message
brings is parsed by topics.py; nothing from the network is kept unparsed.
"""

from __future__ import annotations

import csv
import re
import threading
import time
from array import array
from collections import deque
from pathlib import Path

from host_tools.fleet import topics

HISTORY_POINTS = 1440  # a day at one point a minute
HISTORY_STEP_S = 60  # points closer than this to the last one replace it
FAULTS_KEPT = 50
NOTES_KEPT = 10
IGNORED_KEPT = 20
DEFAULT_MAX_UNITS = 2000
DEFAULT_STALE_AFTER_S = 120.0

_CONFIG_UNIT = re.compile(r"config written \(unit ([^,()\s]+)")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


class Unit:
    __slots__ = (
        "id", "availability", "state", "status", "last_seen", "first_seen", "hist_t",
        "hist_p", "hist_e", "faults", "flags", "notes", "messages", "registry", "_factor_ok",
    )  # fmt: skip

    def __init__(self, unit_id):
        self.id = unit_id
        self.availability = None  # "online" / "offline" / None (never said)
        self.state: dict = {}
        self.status: dict = {}
        self.last_seen = None  # host time.time() of the last message
        self.first_seen = None
        self.hist_t = array("q")  # unix s
        self.hist_p = array("d")  # W
        self.hist_e = array("q")  # today, mWh
        self.faults: deque = deque(maxlen=FAULTS_KEPT)  # (host time, unit t, what, +n, last)
        self.flags: dict = {}  # what -> (host time first seen, text): nonsense published
        self.notes: deque = deque(maxlen=NOTES_KEPT)  # (host time, text): what was left out
        self.messages = 0
        self.registry = None  # the registry row (dict) or None
        self._factor_ok = True

    def board(self):
        return self.status.get("board") or (self.registry or {}).get("board") or None


class Fleet:
    """The units and what was ignored; every method takes the lock (MQTT thread vs. web)."""

    def __init__(self, *, max_units=DEFAULT_MAX_UNITS, stale_after_s=DEFAULT_STALE_AFTER_S,
                 registry_path=None, clock=time.time):  # fmt: skip
        self.max_units = max_units
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.units: dict[str, Unit] = {}
        self.lock = threading.Lock()
        self.version = 0  # bumped at every change: the page polls it
        self.ignored: dict[str, int] = {}  # reason -> messages
        self.ignored_recent: deque = deque(maxlen=IGNORED_KEPT)  # (host time, topic, reason)
        self.registry_path = Path(registry_path) if registry_path else None
        self.registry_rows: dict[str, dict] = {}
        self.registry_notes: list[str] = []
        self._registry_mtime = None
        self.broker = {"state": "not connected", "since": clock()}
        if self.registry_path is not None:
            self.reload_registry()

    # --- MQTT ---

    def on_message(self, topic: str, payload: bytes):
        now = self.clock()
        with self.lock:
            self.version += 1
            try:
                unit_id, kind = topics.split(topic)
            except topics.TopicError as e:
                self._ignore(now, topic, str(e))
                return
            unit = self.units.get(unit_id)
            if unit is None:
                if len(self.units) >= self.max_units:
                    self._ignore(now, topic, "more than %d units: unit not kept" % self.max_units)
                    return
            try:
                fields, notes = topics.parse(kind, payload)
            except topics.TopicError as e:
                if unit is not None:
                    unit.notes.append((now, "%s: %s (ignored)" % (kind, e)))
                self._ignore(now, topic, str(e))
                return
            if unit is None:
                unit = self.units[unit_id] = Unit(unit_id)
                unit.first_seen = now
                unit.registry = self.registry_rows.get(unit_id)
            unit.last_seen = now
            unit.messages += 1
            for n in notes:
                unit.notes.append((now, "%s: %s (ignored)" % (kind, n)))
            if kind == "availability":
                unit.availability = fields["availability"]
            elif kind == "state":
                self._state(unit, fields, now)
            else:
                self._status(unit, fields, now)

    def _ignore(self, now, topic, reason):
        key = reason.split(" (", 1)[0]  # the kind of fault; its detail is in ignored_recent
        if len(self.ignored) >= 50 and key not in self.ignored:
            key = "other"
        self.ignored[key] = self.ignored.get(key, 0) + 1
        self.ignored_recent.append((now, topic[:100], reason))

    def _state(self, unit, fields, now):
        old = unit.state
        life0, life1 = old.get("lifetime_mwh"), fields.get("lifetime_mwh")
        if life0 is not None and life1 is not None and life1 < life0:
            self._flag(unit, now, "lifetime", "lifetime went down: %s -> %s kWh"
                       % (_kwh(life0), _kwh(life1)))  # fmt: skip
        for f in ("today_mwh", "month_mwh", "year_mwh", "lifetime_mwh", "co2_g", "coal_g"):
            if fields.get(f, 0) < 0:
                self._flag(unit, now, "negative", "%s is negative" % f)
        today, life = fields.get("today_mwh"), fields.get("lifetime_mwh")
        if today is not None and life is not None and today > life:
            self._flag(unit, now, "today", "today (%s kWh) is more than the lifetime (%s kWh)"
                       % (_kwh(today), _kwh(life)))  # fmt: skip
        if "factor_dg" in fields:
            from host_tools.fleet.sign import carbon_row

            row, known = carbon_row(fields["factor_dg"], fields.get("factor_source"))
            if not known:
                self._flag(unit, now, "factor", "factor %s g/kWh (%s) is not in the firmware's table"
                           % (_tenths(fields["factor_dg"]), fields.get("factor_source", "no source")))  # fmt: skip
        unit.state = fields
        t = fields.get("t")
        if t is not None and "power_w" in fields:
            self._history(unit, t, fields["power_w"], fields.get("today_mwh", -1))

    def _history(self, unit, t, p, e):
        ht, hp, he = unit.hist_t, unit.hist_p, unit.hist_e
        if ht and (t < ht[-1] or (e >= 0 and he[-1] >= 0 and e < he[-1])):
            # time went back or a new day began (today's energy starts again): a new day's plot
            del ht[:], hp[:], he[:]
        if ht and t - ht[-1] < HISTORY_STEP_S and len(ht) >= 2 and t - ht[-2] < HISTORY_STEP_S:
            ht[-1], hp[-1], he[-1] = t, p, e  # thin to one point a minute, keep the newest
            return
        if len(ht) >= HISTORY_POINTS:
            del ht[: HISTORY_POINTS // 4], hp[: HISTORY_POINTS // 4], he[: HISTORY_POINTS // 4]
        ht.append(t)
        hp.append(p)
        he.append(e)

    def _status(self, unit, fields, now):
        old = unit.status.get("faults", {})
        new = fields.get("faults")
        if new is not None:
            for what, n in new.items():
                before = old.get(what, 0)
                if n > before:
                    unit.faults.append((now, unit.state.get("t"), what, n - before,
                                        fields.get("last_fault", "")))  # fmt: skip
        board = fields.get("board")
        if board is not None and _profile(board) is None:
            self._flag(unit, now, "board", "board %r is not a known profile" % board[:40])
        unit.status = fields

    def _flag(self, unit, now, key, text):
        if key not in unit.flags:
            unit.flags[key] = (now, text)
        else:
            unit.flags[key] = (unit.flags[key][0], text)

    def set_broker(self, state):
        with self.lock:
            self.version += 1
            self.broker = {"state": state, "since": self.clock()}

    # --- the registry ---

    def reload_registry(self):
        """Read the registry again if its file changed. Rows that cannot name a unit are said
        in registry_notes, not used; a missing or unreadable file is a note, the page stays."""
        path = self.registry_path
        if path is None:
            return
        try:
            mtime = path.stat().st_mtime_ns
        except OSError as e:
            mtime = ("missing", e.strerror)
        if mtime == self._registry_mtime:
            return
        rows, notes = read_registry(path)
        with self.lock:
            self._registry_mtime = mtime
            self.version += 1
            self.registry_rows = rows
            self.registry_notes = notes
            for uid, unit in self.units.items():
                unit.registry = rows.get(uid)

    # --- the page ---

    def is_stale(self, unit, now=None):
        now = self.clock() if now is None else now
        return unit.last_seen is None or now - unit.last_seen > self.stale_after_s

    def rows(self):
        """Every unit seen or registered, as (unit_id, Unit or None, registry row or None),
        sorted by id."""
        with self.lock:
            ids = set(self.units) | set(self.registry_rows)
            return [(i, self.units.get(i), self.registry_rows.get(i)) for i in sorted(ids)]


def _kwh(mwh):
    sign = "-" if mwh < 0 else ""
    return "%s%d.%06d" % (sign, abs(mwh) // 10**6, abs(mwh) % 10**6)


def _tenths(dg):
    return "%d.%d" % (dg // 10, dg % 10)


_profiles: dict = {}


def _profile(name):
    """The board profile of that name (boards/), or None; cached."""
    if name in _profiles:
        return _profiles[name]
    from host_tools import boards

    prof = None
    if name in boards.board_names():
        try:
            prof = boards.load_board(name)
        except Exception:  # noqa: BLE001 - a broken profile file: not renderable, flagged
            prof = None
    if len(_profiles) < 64:
        _profiles[name] = prof
    return prof


MAX_REGISTRY_BYTES = 16 << 20


def read_registry(path):
    """({unit_id: row}, notes): the last row per unit (its unit id from the row's message,
    "config written (unit ID, ...)", else from the MAC as flash names units); each row that is
    left out is said with its line number."""
    from host_tools import registry
    from host_tools.unitconfig import unit_id_for

    rows: dict[str, dict] = {}
    notes: list[str] = []
    shown = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_REGISTRY_BYTES:
            return rows, ["%s: %d bytes, more than a registry: not read" % (shown, size)]
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except FileNotFoundError:
        return rows, ["%s: no such file (no unit listed from it)" % shown]
    except (OSError, UnicodeDecodeError) as e:
        return rows, ["%s: cannot read it (%s)" % (shown, getattr(e, "strerror", None) or e)]
    lines = text.splitlines()
    if not lines:
        return rows, notes
    header = lines[0].split(",")
    known = (list(registry.FIELDS), list(registry.FIELDS[:-1]))
    if header not in known:
        return rows, [
            "%s line 1: not a sunprint unit registry header (%s...)" % (shown, lines[0][:40])
        ]
    reader = csv.reader(lines[1:])
    n_fields = len(header)
    try:
        for i, cells in enumerate(reader, start=2):
            if not cells or not any(c.strip() for c in cells):
                continue
            if len(cells) != n_fields:
                notes.append(
                    "%s line %d: %d fields, not %d (ignored)" % (shown, i, len(cells), n_fields)
                )
                continue
            row = dict(zip(header, cells, strict=True))
            mac = row.get("mac", "").strip()
            m = _CONFIG_UNIT.search(row.get("message", ""))
            if m:
                uid = m.group(1)
            elif _MAC.match(mac):
                uid = unit_id_for(mac)
            else:
                notes.append(
                    "%s line %d: no unit id and no MAC %r (ignored)" % (shown, i, mac[:20])
                )
                continue
            if len(uid) > topics.MAX_ID_CHARS:
                notes.append("%s line %d: unit id too long (ignored)" % (shown, i))
                continue
            board = row.get("board", "")
            if board and _profile(board) is None:
                notes.append(
                    "%s line %d: board %r is not a known profile (kept)" % (shown, i, board[:40])
                )
            row["line"] = i
            rows[uid] = row
            if len(rows) > 100000:
                notes.append("%s: more than 100000 units; the rest not read" % shown)
                break
    except csv.Error as e:
        notes.append("%s: %s (the rest not read)" % (shown, e))
    return rows, notes

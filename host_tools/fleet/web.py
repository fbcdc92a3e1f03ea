"""The fleet page: a Starlette app over a model.Fleet (read-only: every route is a GET).

/                       the table of every unit (it fetches /table again every POLL_MS)
/table                  the table alone (HTML, escaped by Jinja2)
/api/units              the same as JSON
/unit/<id>              one unit: its screens, its day plot, faults, registry row
/unit/<id>/sign.png     its sign's picture (?screen=NAME&lang=LANG; default: the first of
                        its rotation), drawn by the firmware's code (sign.py)
/unit/<id>/plot.png     its day of power and energy (replay's plot, host_tools/pictures.py)
"""

from __future__ import annotations

import datetime
import functools
import os
import tempfile
import threading
import time

from jinja2 import DictLoader, Environment, select_autoescape
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from host_tools.fleet import model, sign
from host_tools.fleet.templates import TEMPLATES

POLL_MS = 1000
THUMB_H = {8: 24}  # LED panels are 8 rows: shown 3x; e-paper at its size


def _env():
    return Environment(loader=DictLoader(TEMPLATES), autoescape=select_autoescape(default=True))


def _kwh(mwh):
    if mwh is None:
        return ""
    return "%s kWh" % model._kwh(mwh)[:-3]  # to the Wh


def _kg(g):
    if g is None:
        return ""
    return "%d.%03d kg" % (g // 1000, g % 1000) if g >= 0 else "%d g" % g


def _ago(now, t):
    if t is None:
        return "never"
    s = int(now - t)
    if s < 120:
        return "%d s ago" % s
    if s < 7200:
        return "%d min ago" % (s // 60)
    return "%d h ago" % (s // 3600)


def _clock(t):
    if t is None:
        return ""
    return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _unit_time(t):
    if t is None:
        return ""
    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class FleetApp:
    def __init__(self, fleet: model.Fleet, mqtt_shown="", registry_shown=""):
        self.fleet = fleet
        self.mqtt_shown = mqtt_shown
        self.registry_shown = registry_shown
        self.env = _env()
        self._plot_lock = threading.Lock()
        self._tmp = tempfile.mkdtemp(prefix="sunprint-fleet-")
        self._plots: dict = {}  # unit id -> (key, png), at most 64
        self.app = Starlette(
            routes=[
                Route("/", self.index),
                Route("/table", self.table),
                Route("/api/units", self.api_units),
                Route("/unit/{uid}", self.unit_page),
                Route("/unit/{uid}/sign.png", self.sign_png),
                Route("/unit/{uid}/plot.png", self.plot_png),
            ]
        )

    def close(self):
        for name in os.listdir(self._tmp):
            os.unlink(os.path.join(self._tmp, name))
        os.rmdir(self._tmp)

    # --- one unit's row ---

    def _row(self, uid, unit, reg, now):
        f = self.fleet
        out = {"id": uid, "picture": None, "thumb_h": 0, "plot": None, "flags": []}
        if unit is None:
            out.update(cls="never", state="never seen (registry only)", seen="never", power="",
                       today="", lifetime="", faults="", clock="", board=(reg or {}).get("board", ""),
                       version=(reg or {}).get("app_version", ""))  # fmt: skip
            return out
        with f.lock:
            st, ss = dict(unit.state), dict(unit.status)
            stale = f.is_stale(unit, now)
            avail = unit.availability
            flags = [text for _, text in unit.flags.values()]
            last_seen = unit.last_seen
            n_hist = len(unit.hist_t)
            last_hist = unit.hist_t[-1] if n_hist else None
        if stale:
            cls, state = "stale", "stale (%s)" % (avail or "no availability")
        elif avail == "offline":
            cls, state = "offline", "offline"
        else:
            cls, state = "online", avail or "publishing"
        faults = ss.get("faults", {})
        board = ss.get("board") or (reg or {}).get("board", "")
        profile = model._profile(board) if board else None
        out.update(
            cls=cls, state=state, seen=_ago(now, last_seen), flags=flags,
            power="%.1f W" % st["power_w"] if "power_w" in st else "",
            today=_kwh(st.get("today_mwh")), lifetime=_kwh(st.get("lifetime_mwh")),
            month=_kwh(st.get("month_mwh")), year=_kwh(st.get("year_mwh")),
            co2=_kg(st.get("co2_g")), coal=_kg(st.get("coal_g")),
            factor=("%s g/kWh (%s)" % (model._tenths(st["factor_dg"]), st.get("factor_source", "?"))
                    if "factor_dg" in st else ""),
            faults=", ".join("%s %d" % (k, faults[k]) for k in sorted(faults)) or "none",
            last_fault=ss.get("last_fault", ""), clock=ss.get("clock_source", ""),
            heap="%d B" % ss["free_heap"] if "free_heap" in ss else "",
            version="%s / %s" % (ss.get("firmware", "?"), ss.get("app_version", "?")) if ss else "",
            board=board, st=st, ss=ss, profile=profile,
        )  # fmt: skip
        if profile is not None and st:
            out["picture"] = "%x" % (
                hash((tuple(sorted(st.items())), repr(sorted(ss.items())))) & 0xFFFFFFFF
            )
            h = profile["display"]["height"]
            out["thumb_h"] = THUMB_H.get(h, h)
        if n_hist:
            out["plot"] = "%d-%d" % (n_hist, last_hist)
        return out

    def _rows(self):
        f = self.fleet
        f.reload_registry()
        now = f.clock()
        return [self._row(uid, unit, reg, now) for uid, unit, reg in f.rows()], now

    def _table_html(self):
        rows, now = self._rows()
        f = self.fleet
        with f.lock:
            ignored = sorted(f.ignored.items(), key=lambda kv: -kv[1])
            recent = [(_clock(t), topic, reason) for t, topic, reason in reversed(f.ignored_recent)]
            notes = list(f.registry_notes)
            version = f.version
        return self.env.get_template("table.html").render(
            units=rows, ignored=ignored, recent=recent[:10], registry_notes=notes,
            version=version, n_seen=sum(1 for r in rows if r["cls"] != "never"),
            n_registry_only=sum(1 for r in rows if r["cls"] == "never"),
        )  # fmt: skip

    # --- routes ---

    def index(self, request):
        t0 = time.perf_counter()
        f = self.fleet
        with f.lock:
            broker = "%s since %s" % (f.broker["state"], _clock(f.broker["since"]))
        html = self.env.get_template("index.html").render(
            table=self._table_html(), mqtt=self.mqtt_shown, broker=broker,
            stale_after=_seconds(f.stale_after_s), poll_ms=POLL_MS, registry=self.registry_shown,
        )  # fmt: skip
        return HTMLResponse(html, headers=_timing(t0))

    def table(self, request):
        t0 = time.perf_counter()
        html = self._table_html()
        return HTMLResponse(html, headers=dict(_timing(t0), **{"Cache-Control": "no-store"}))

    def api_units(self, request):
        rows, now = self._rows()
        keep = ("id", "cls", "state", "power", "today", "lifetime", "faults", "clock", "version",
                "board", "seen", "flags")  # fmt: skip
        f = self.fleet
        with f.lock:
            ignored = dict(f.ignored)
            notes = list(f.registry_notes)
            version = f.version
        return JSONResponse(
            {
                "version": version,
                "stale_after_s": f.stale_after_s,
                "units": [{k: r.get(k) for k in keep} for r in rows],
                "ignored": ignored,
                "registry_notes": notes,
            }
        )

    def _unit(self, uid):
        f = self.fleet
        f.reload_registry()
        with f.lock:
            unit = f.units.get(uid)
            reg = f.registry_rows.get(uid)
        if unit is None and reg is None:
            return None
        return self._row(uid, unit, reg, f.clock()), unit, reg

    def unit_page(self, request):
        uid = request.path_params["uid"]
        got = self._unit(uid)
        if got is None:
            return HTMLResponse(self.env.from_string("<p>no unit {{ u }}</p>").render(u=uid), 404)
        row, unit, reg = got
        pictures, no_picture = [], ""
        if row.get("profile") is None:
            no_picture = "no picture: the board (%s) is not a known profile" % (
                row["board"] or "not said"
            )
        elif not row.get("st"):
            no_picture = "no picture: no state published yet"
        else:
            lang = row["ss"].get("lang")
            pictures = [{"name": n, "lang": lg} for n, lg in sign.rotation(row["profile"], lang)]
        f = self.fleet
        faults, notes = [], []
        if unit is not None:
            with f.lock:
                faults = [
                    (_clock(a), _unit_time(b), c, d, e) for a, b, c, d, e in reversed(unit.faults)
                ]
                notes = [(_clock(t), n) for t, n in reversed(unit.notes)]
        regrows = []
        if reg is not None:
            order = ("mac", "board", "firmware_sha256", "app_version", "config_hash", "by", "time",
                     "port", "result", "message", "line")  # fmt: skip
            regrows = [(k, reg.get(k, "")) for k in order]
        html = self.env.get_template("unit.html").render(
            u=row, pictures=pictures, no_picture=no_picture, faults=faults, notes=notes,
            reg=regrows, stale_after=_seconds(f.stale_after_s),
        )  # fmt: skip
        return HTMLResponse(html)

    def sign_png(self, request):
        uid = request.path_params["uid"]
        got = self._unit(uid)
        if got is None or got[0].get("profile") is None or not got[0].get("st"):
            return Response("no picture", 404, media_type="text/plain")
        row = got[0]
        profile = row["profile"]
        order = sign.rotation(profile, row["ss"].get("lang"))
        # by default the screen the unit says it shows now, else its rotation's first
        now_shown = (row["ss"].get("screen"), row["ss"].get("screen_lang"))
        default = now_shown if now_shown in order else order[0]
        name = request.query_params.get("screen", default[0])
        lang = request.query_params.get("lang", default[1])
        if (name, lang) not in order:
            return Response("no such screen", 404, media_type="text/plain")
        data = _sign_png(row["board"], name, lang, _frozen(row["st"]), _frozen(row["ss"]), uid)
        # the page's links carry the values' key (v=): such a picture never changes
        cache = "max-age=600" if request.query_params.get("v") == row["picture"] else "no-store"
        return Response(data, media_type="image/png", headers={"Cache-Control": cache})

    def plot_png(self, request):
        uid = request.path_params["uid"]
        f = self.fleet
        with f.lock:
            unit = f.units.get(uid)
            if unit is None or not unit.hist_t:
                return Response("no readings", 404, media_type="text/plain")
            t, p, e = list(unit.hist_t), list(unit.hist_p), list(unit.hist_e)
            faults = [(b, c) for _, b, c, _, _ in unit.faults if b is not None]
        key = (len(t), t[-1], p[-1], len(faults))
        cached = self._plots.get(uid)
        if cached is not None and cached[0] == key:
            return Response(cached[1], media_type="image/png")
        png = self._plot(uid, t, p, e, faults)
        if len(self._plots) >= 64:
            self._plots.pop(next(iter(self._plots)))
        self._plots[uid] = (key, png)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    def _plot(self, uid, t, p, e, faults):
        from host_tools import pictures

        energy = [x / 1e6 for x in e] if all(x >= 0 for x in e) else None
        events = [(ft, "fault", what) for ft, what in faults if t[0] <= ft <= t[-1]]
        with self._plot_lock:
            path = os.path.join(self._tmp, "plot.png")
            pictures.write_plot(path, t, p, energy, events, title=uid[:40])
            with open(path, "rb") as fh:
                return fh.read()


def _timing(t0):
    """The server's time on the request (Server-Timing, ms): what the benchmark reads."""
    return {"Server-Timing": "app;dur=%.3f" % ((time.perf_counter() - t0) * 1000)}


def _seconds(s):
    return ("%g" % s) if s != int(s) else "%d" % s


def _frozen(d):
    return tuple(
        sorted((k, tuple(sorted(v.items())) if isinstance(v, dict) else v) for k, v in d.items())
    )


@functools.lru_cache(maxsize=256)
def _sign_png(board, name, lang, st, ss, uid):
    profile = model._profile(board)
    state = dict(st)
    status = {k: dict(v) if k == "faults" else v for k, v in ss}
    vals = sign.values(state, status, uid, int(time.time()))
    w, h, data = sign.draw(profile, name, lang, vals)
    return sign.png(profile, w, h, data)

#!/usr/bin/env python3
"""Make the bundled sample log: one day of rooftop PV AC power in Zhongshan at 10 s.

The chain is plain pvlib, all of it offline:

  solar position (NREL SPA, numpy)
  -> Ineichen-Perez clear sky, Linke turbidity from the LinkeTurbidities.h5 file
     that ships inside the pvlib wheel (no network)
  -> seeded passing-cumulus process: beam (DNI) dimmed under each cloud, diffuse
     kept, smooth edges, a small cloud-enhancement overshoot just outside edges
  -> Hay-Davies transposition to a 20 deg / 180 deg (south) roof, physical IAM
  -> SAPM cell temperature (open rack) with Prilliman thermal inertia
  -> PVWatts DC with a temperature coefficient and PVWatts system losses
  -> PVWatts inverter, AC nameplate 0.9 x DC, which clips.

Same arguments give a byte-identical file: the only randomness is a seeded
numpy PCG64 stream, the clock and locale are never read, and every number is
written with a fixed '%' format.

Output: the sunprint sample log, format version 1 (see assets/logs/README.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import pandas as pd
from pvlib import iam, inverter, irradiance, pvsystem, solarposition, temperature
from pvlib.clearsky import lookup_linke_turbidity
from pvlib.location import Location

SITE = "Zhongshan"
LAT = 22.5
LON = 113.4
ALTITUDE_M = 10.0
UTC_OFFSET_H = 8
TZ_TEXT = "+08:00"
TILT_DEG = 20.0
AZIMUTH_DEG = 180.0
ALBEDO = 0.20  # weathered concrete roof / urban surroundings
STEP_S = 10
SOURCE = "tools/make_zhongshan_day.py"

GAMMA_PDC = -0.0035  # 1/K, mono PERC module
AC_RATIO = 0.9  # inverter AC nameplate / DC nameplate (10 kWp -> 9 kW)
ETA_INV_NOM = 0.96
# PVWatts system losses (percent); shading/snow/availability off for one clear day.
LOSSES = dict(
    soiling=2.0,
    shading=0.0,
    snow=0.0,
    mismatch=2.0,
    wiring=2.0,
    connections=0.5,
    lid=1.5,
    nameplate_rating=1.0,
    age=0.0,
    availability=0.0,
)
SAPM_MOUNT = "open_rack_glass_polymer"  # modules on a steel rack over a flat concrete roof


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, exit status 2 (argparse's own convention, minus the usage dump).
        self.exit(2, f"{self.prog}: error: {message}\n")


def _date(text: str) -> dt.date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise argparse.ArgumentTypeError(f"bad date {text!r} (want YYYY-MM-DD)")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad date {text!r} ({exc})") from None
    if not 1971 <= day.year <= 2099:
        raise argparse.ArgumentTypeError(f"bad date {text!r} (want a year in 1971..2099)")
    return day


def _kwp(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad value {text!r} (want a number of kWp)") from None
    if not (math.isfinite(value) and 0.1 <= value <= 1000.0):
        raise argparse.ArgumentTypeError(f"bad value {text!r} (want 0.1 .. 1000 kWp)")
    return value


def _seed(text: str) -> int:
    if not re.fullmatch(r"\d{1,18}", text):
        raise argparse.ArgumentTypeError(f"bad value {text!r} (want a non-negative integer)")
    return int(text)


# --------------------------------------------------------------------------- clouds


@dataclass(frozen=True)
class Cloud:
    start: float  # s after local midnight, shadow begins to arrive
    duration: float  # s, shadow length including both edge ramps
    ramp: float  # s, edge (penumbra / thin cloud margin) length
    beam_frac: float  # fraction of DNI getting through the cloud core
    knot_s: float  # s, spacing of the in-cloud texture knots
    texture: tuple[float, ...]  # beam-fraction wiggle at each knot (cosine-interpolated)
    enh_lead: tuple[float, float]  # (amplitude x GHI_clear, width s) before the shadow
    enh_trail: tuple[float, float]  # same, after the shadow


def _cloud_rate_per_h(hour: float) -> float:
    """Cumulus occurrence rate vs local clock hour: fair-weather cumulus
    build after mid-morning, peak early afternoon, dissolve before sunset."""
    lo, hi, peak = 9.5, 17.5, 8.0
    if not lo < hour < hi:
        return 0.0
    return peak * math.sin(math.pi * (hour - lo) / (hi - lo)) ** 2


def make_clouds(seed: int) -> list[Cloud]:
    """Inhomogeneous Poisson arrivals (thinning) with per-cloud random shape.

    Only ``Generator.random()`` (uniform doubles from PCG64) is used, so the
    stream does not depend on numpy's distribution algorithms."""
    rng = np.random.Generator(np.random.PCG64(seed))

    def u() -> float:
        return float(rng.random())

    peak = 8.0  # per hour, upper bound of _cloud_rate_per_h
    clouds: list[Cloud] = []
    t = 0.0
    while True:
        t += -math.log(1.0 - u()) * 3600.0 / peak
        if t >= 86400.0:
            break
        accept = u() < _cloud_rate_per_h(t / 3600.0) / peak
        # draw the shape regardless, so accepting one cloud does not shift the rest
        z = math.sqrt(-2.0 * math.log(1.0 - u())) * math.cos(2.0 * math.pi * u())
        duration = min(480.0, max(20.0, 75.0 * math.exp(0.8 * z)))  # lognormal, median 75 s
        ramp = 4.0 + 20.0 * u()
        beam_frac = 0.05 + 0.45 * u() ** 1.5  # mostly optically thick cumulus
        knot_s = 15.0 + 45.0 * u()
        wiggle = 0.02 + 0.10 * u()
        texture = tuple(wiggle * (2.0 * u() - 1.0) for _ in range(int(duration / knot_s) + 2))
        lead = (0.04 + 0.10 * u(), 15.0 + 45.0 * u()) if u() < 0.7 else (0.0, 0.0)
        trail = (0.04 + 0.10 * u(), 15.0 + 45.0 * u()) if u() < 0.7 else (0.0, 0.0)
        if accept:
            ramp = min(ramp, (duration - 6.0) / 2.0)
            clouds.append(Cloud(t, duration, ramp, beam_frac, knot_s, texture, lead, trail))
    return clouds


def cloud_field(clouds: list[Cloud]) -> tuple[np.ndarray, np.ndarray]:
    """Per-second beam transmittance (1 = clear) and diffuse enhancement
    (fraction of clear-sky GHI added to DHI) over one local day."""
    sec = np.arange(86400, dtype=float) + 0.5
    beam = np.ones_like(sec)
    enh = np.zeros_like(sec)
    for c in clouds:
        a, b = c.start, c.start + c.duration
        i0, i1 = max(0, int(a) - 1), min(86400, int(b) + 2)
        s = sec[i0:i1]
        # occlusion 0..1 with raised-cosine edges
        up = np.clip((s - a) / c.ramp, 0.0, 1.0)
        down = np.clip((b - s) / c.ramp, 0.0, 1.0)
        occ = 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))
        x = np.clip((s - a) / c.knot_s, 0.0, len(c.texture) - 1.000001)
        k = x.astype(int)
        w = 0.5 - 0.5 * np.cos(np.pi * (x - k))
        knots = np.asarray(c.texture)
        tau = np.clip(c.beam_frac + (1.0 - w) * knots[k] + w * knots[k + 1], 0.0, 0.7)
        beam[i0:i1] *= 1.0 - occ * (1.0 - tau)
        # half-sine enhancement bumps just outside each edge
        (lead_amp, lead_w), (trail_amp, trail_w) = c.enh_lead, c.enh_trail
        for amp, width, lo in ((lead_amp, lead_w, a - lead_w), (trail_amp, trail_w, b)):
            if amp <= 0.0:
                continue
            j0, j1 = max(0, int(lo) - 1), min(86400, int(lo + width) + 2)
            x = (sec[j0:j1] - lo) / width
            bump = np.where((x > 0.0) & (x < 1.0), np.sin(np.pi * np.clip(x, 0.0, 1.0)), 0.0)
            enh[j0:j1] = np.maximum(enh[j0:j1], amp * bump)
    # no enhancement where a (neighbouring) cloud is already blocking the sun
    enh *= beam
    return beam, enh


# --------------------------------------------------------------------------- PV model


def simulate(day: dt.date, kwp: float, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    tz = dt.timezone(dt.timedelta(hours=UTC_OFFSET_H))
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
    t0 = int(midnight.timestamp())
    n = 86400 // STEP_S
    stamps = t0 + STEP_S * np.arange(n, dtype=np.int64)
    # each sample is the mean over [t, t+10 s): evaluate the sky at the midpoint
    times = pd.DatetimeIndex(pd.to_datetime(stamps + STEP_S // 2, unit="s", utc=True)).tz_convert(
        tz
    )

    site = Location(LAT, LON, tz=UTC_OFFSET_H, altitude=ALTITUDE_M, name=SITE)
    sp = solarposition.get_solarposition(times, LAT, LON, altitude=ALTITUDE_M, method="nrel_numpy")
    # Linke turbidity from the file bundled with pvlib (pvlib/data/LinkeTurbidities.h5).
    linke = lookup_linke_turbidity(times, LAT, LON)
    cs = site.get_clearsky(times, model="ineichen", solar_position=sp, linke_turbidity=linke)
    dni_extra = irradiance.get_extra_radiation(times)

    clouds = make_clouds(seed)
    beam_1s, enh_1s = cloud_field(clouds)
    beam = beam_1s.reshape(n, STEP_S).mean(axis=1)
    enh = enh_1s.reshape(n, STEP_S).mean(axis=1)

    cosz = np.clip(np.cos(np.radians(sp["apparent_zenith"].to_numpy())), 0.0, None)
    dni = cs["dni"].to_numpy() * beam
    dhi = cs["dhi"].to_numpy() + enh * cs["ghi"].to_numpy()
    ghi = dni * cosz + dhi

    poa = irradiance.get_total_irradiance(
        TILT_DEG,
        AZIMUTH_DEG,
        sp["apparent_zenith"],
        sp["azimuth"],
        dni=pd.Series(dni, index=times),
        ghi=pd.Series(ghi, index=times),
        dhi=pd.Series(dhi, index=times),
        dni_extra=dni_extra,
        albedo=ALBEDO,
        model="haydavies",
    )
    aoi = irradiance.aoi(TILT_DEG, AZIMUTH_DEG, sp["apparent_zenith"], sp["azimuth"])
    iam_diffuse = iam.marion_diffuse("physical", surface_tilt=TILT_DEG)
    eff = (
        poa["poa_direct"] * iam.physical(aoi)
        + poa["poa_sky_diffuse"] * float(iam_diffuse["sky"])
        + poa["poa_ground_diffuse"] * float(iam_diffuse["ground"])
    ).fillna(0.0)

    # October in Zhongshan: 22 C at 02:30 .. 30 C at 14:30 (sinusoid); light breeze.
    hour = (stamps - t0 + STEP_S / 2) / 3600.0
    temp_air = pd.Series(26.0 + 4.0 * np.cos(2.0 * np.pi * (hour - 14.5) / 24.0), index=times)
    wind = pd.Series(np.full(n, 2.0), index=times)
    params = temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][SAPM_MOUNT]
    t_ss = temperature.sapm_cell(poa["poa_global"].fillna(0.0), temp_air, wind, **params)
    t_cell = temperature.prilliman(t_ss, wind).fillna(t_ss)

    pdc0 = kwp * 1000.0
    loss = pvsystem.pvwatts_losses(**LOSSES) / 100.0
    pdc = pvsystem.pvwatts_dc(eff, t_cell, pdc0, GAMMA_PDC).to_numpy() * (1.0 - loss)
    pdc = np.clip(pdc, 0.0, None)
    pac_nom = AC_RATIO * pdc0
    pac = np.asarray(inverter.pvwatts(pdc, pac_nom / ETA_INV_NOM, eta_inv_nom=ETA_INV_NOM))
    pac = np.where(np.isfinite(pac) & (pac >= 0.05), pac, 0.0)  # never '-0.0' or 'nan'

    shaded = beam_1s < 0.98  # overlapping clouds make one shading episode
    info = {
        "clouds": len(clouds),
        "episodes": int(np.count_nonzero(shaded[1:] & ~shaded[:-1]) + int(shaded[0])),
        "linke": float(linke.mean()),
        "pac_nom": pac_nom,
        "clip_samples": int(np.count_nonzero(pac >= pac_nom - 0.05)),
    }
    return stamps, pac, info


def render(day: dt.date, kwp: float, seed: int, stamps: np.ndarray, pac: np.ndarray) -> bytes:
    lines = [
        "# sunprint samplelog 1\n",
        f"# site={SITE} lat={LAT!r} lon={LON!r} tz={TZ_TEXT} kwp={float(kwp)!r}"
        f" source={SOURCE} seed={seed}\n",
        f"# date={day.isoformat()} step_s={STEP_S} tilt_deg={TILT_DEG:g}"
        f" azimuth_deg={AZIMUTH_DEG:g} ac_nameplate_w={AC_RATIO * kwp * 1000.0:.1f}"
        " clearsky=ineichen-bundled-linke\n",
        "timestamp,power_w\n",
    ]
    lines.extend(f"{int(t)},{float(p):.1f}\n" for t, p in zip(stamps, pac, strict=True))
    return "".join(lines).encode("ascii")


def write_atomic(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".csv", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main(argv: list[str] | None = None) -> int:
    ap = _Parser(
        prog="make_zhongshan_day.py",
        description="Simulate one day of rooftop PV AC power in Zhongshan (22.5N 113.4E, UTC+8) "
        "at 10 s resolution with pvlib (offline) and write a sunprint sample log.",
    )
    ap.add_argument("out", metavar="OUT.csv", help="output sample log path")
    ap.add_argument(
        "--date",
        type=_date,
        default=dt.date(2024, 10, 15),
        help="local date, YYYY-MM-DD (default 2024-10-15)",
    )
    ap.add_argument(
        "--kwp", type=_kwp, default=10.0, help="DC nameplate in kWp (default 10; AC is 0.9x)"
    )
    ap.add_argument("--seed", type=_seed, default=7, help="cloud process seed (default 7)")
    args = ap.parse_args(argv)

    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        ap.error(f"output directory does not exist: {out_dir}")
    if os.path.isdir(args.out):
        ap.error(f"output path is a directory: {args.out}")

    stamps, pac, info = simulate(args.date, args.kwp, args.seed)
    data = render(args.date, args.kwp, args.seed, stamps, pac)
    try:
        write_atomic(args.out, data)
    except OSError as exc:
        print(f"make_zhongshan_day.py: error: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1

    t = stamps.astype(float)
    kwh = float(np.sum((pac[1:] + pac[:-1]) * np.diff(t)) / 2.0 / 3.6e6)
    print(
        f"wrote {args.out}: {len(stamps)} rows, {kwh:.2f} kWh, peak {pac.max():.1f} W, "
        f"{info['clouds']} clouds ({info['episodes']} shading episodes), Linke {info['linke']:.2f}, "
        f"{info['clip_samples']} samples at the {info['pac_nom']:.0f} W AC limit"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

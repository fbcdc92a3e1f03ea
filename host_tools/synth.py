"""`sunprint synth`: realistic PV power days for a site, written as a sample log.

    sunprint synth --lat 22.5 --lon 113.4 --kwp 10 --start 2024-06-15 [--days N]
                   [--cloudiness 0..1[,..] | --weather clear|cloudy|monsoon|mixed]
                   [--interval 10] [--tz +08:00] [--outage START/END ...] [--seed N] --out FILE

The chain is plain pvlib, all of it offline (every log in assets/logs comes from here):

  solar position (NREL SPA, numpy)
  -> Ineichen-Perez clear sky, Linke turbidity from the LinkeTurbidities.h5 climatology
     inside the pvlib wheel (the season follows from the date: sun path, turbidity, air
     temperature)
  -> a seeded process of passing clouds (see make_clouds) whose density, length and
     thickness follow from the cloudiness: beam dimmed under each cloud, smooth edges, a
     cloud-enhancement overshoot just outside edges; deep clouds also dim the diffuse
  -> Hay-Davies transposition to the tilted plane, physical IAM
  -> SAPM cell temperature (open rack) with Prilliman thermal inertia
  -> PVWatts DC with a temperature coefficient and PVWatts system losses
  -> PVWatts inverter, AC nameplate 0.9 x DC, which clips.

Same arguments give a byte-identical file: the only randomness is numpy's seeded PCG64, from
which only uniform doubles are drawn; the clock, TZ and locale are never read. Each row is the
mean power over [timestamp, timestamp + interval): the sky is evaluated at the midpoint, the
cloud field is built at 1 s and averaged. The output is the sample log, format version 1
(firmware/sunprint/samplelog.py), written atomically. --out must be a new file or an
earlier synth log (its header says source=sunprint-synth): any other file is refused, never
overwritten (host_tools/outfile.py).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
from dataclasses import dataclass, field, replace

from host_tools import outfile
from host_tools.errors import UserError

CLEARSKY_TAG = "ineichen-bundled-linke"
SOURCE = "sunprint-synth"  # the header's source= of what `sunprint synth` writes
ALBEDO = 0.20  # weathered concrete roof / urban surroundings
GAMMA_PDC = -0.0035  # 1/K, mono PERC module
AC_RATIO = 0.9  # inverter AC nameplate / DC nameplate (10 kWp -> 9 kW)
ETA_INV_NOM = 0.96
# PVWatts system losses (percent); shading/snow/availability are not modelled.
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
SAPM_MOUNT = "open_rack_glass_polymer"  # modules on a steel rack over a flat roof

# Named weathers, as cloudiness. "clear" is the fair-weather cumulus of the bundled
# Zhongshan day (the sun is behind a cloud about a tenth of the day).
WEATHERS = {"clear": 0.1, "cloudy": 0.6, "monsoon": 0.85}
MIXED = "mixed"  # a cloudiness per day from a seeded Markov chain (see mixed_cloudiness)
MAX_DAYS = 3660
MAX_SEED = 2**32 - 1  # one 32-bit word: the day index is the next word of the seed sequence
_WEATHER_STREAM = 2**32 - 1  # the "day index" of the mixed-weather stream (never a real day)
_DEEP_STREAM = 1  # third seed word of a day's deep-cloud stream


# --------------------------------------------------------------------------- what to make


@dataclass(frozen=True)
class Spec:
    """One synthetic log: the plant, the span, the weather and the randomness."""

    lat: float
    lon: float
    kwp: float
    start: dt.date
    days: int = 1
    cloudiness: tuple[float, ...] = (WEATHERS["clear"],)  # one per day
    step_s: int = 10
    tz_offset_s: int = 8 * 3600
    outages: tuple[tuple[int, int], ...] = ()  # [start, end) in UNIX s: no rows
    seed: int = 1
    tilt_deg: float = 20.0
    azimuth_deg: float = 180.0
    altitude_m: float | None = None  # None: pvlib's bundled altitude lookup
    site: str = "synthetic"
    source: str = SOURCE  # the header's source=: names the writer (host_tools/outfile.py)
    weather: str = ""  # how the cloudiness was asked for, for the header
    # (mean, half range) of the daily air temperature sinusoid in C; None: climatology
    air_temp_c: tuple[float, float] | None = None
    run_line: bool = True  # the 4th header line (days, weather, cloudiness, outages)

    @property
    def t0(self) -> int:
        """UNIX time of local midnight at the start."""
        tz = dt.timezone(dt.timedelta(seconds=self.tz_offset_s))
        d = self.start
        return int(dt.datetime(d.year, d.month, d.day, tzinfo=tz).timestamp())

    @property
    def t_end(self) -> int:
        return self.t0 + 86400 * self.days


def tz_text(offset_s: int) -> str:
    sign = "-" if offset_s < 0 else "+"
    m = abs(offset_s) // 60
    return "%s%02d:%02d" % (sign, m // 60, m % 60)


def zhongshan_spec(day: dt.date = dt.date(2024, 10, 15), kwp: float = 10.0, seed: int = 7) -> Spec:
    """The bundled Zhongshan day (assets/logs/zhongshan-2024-10-15.csv with the defaults).

    Fair-weather cumulus, a 10 m roof, October air (22 C at 02:30 .. 30 C at 14:30)."""
    return Spec(
        lat=22.5,
        lon=113.4,
        kwp=kwp,
        start=day,
        cloudiness=(WEATHERS["clear"],),
        seed=seed,
        altitude_m=10.0,
        site="Zhongshan",
        source="tools/make_zhongshan_day.py",
        air_temp_c=(26.0, 4.0),
        run_line=False,
    )


# --------------------------------------------------------------------------- clouds


@dataclass(frozen=True)
class CloudRegime:
    """The cloud process for one cloudiness (0 = cloudless, 1 = nearly overcast all day)."""

    peak_per_h: float  # cloud arrivals per hour at the busiest time of day
    window_h: tuple[float, float]  # local clock hours when clouds come
    floor: float  # rate across the window as a fraction of the peak (convection all day)
    duration_median_s: float
    duration_range_s: tuple[float, float]
    ramp_scale: float  # big clouds have wide, soft edges
    thickness: float  # multiplies each cloud's core beam transmittance
    deep_prob: float  # chance a cloud is deep enough to dim the diffuse too


def regime_for(cloudiness: float) -> CloudRegime:
    """Up to 0.1 ("clear") fair-weather cumulus of the bundled day, more of them with more
    cloudiness; above 0.1 the clouds get more frequent, longer, thicker and come all day,
    and deep clouds darken the whole sky. At exactly 0.1 every parameter is the bundled
    day's own number (every term in s below is then an exact 0.0)."""
    s = max(0.0, (cloudiness - 0.1) / 0.9)
    return CloudRegime(
        peak_per_h=8.0 * min(cloudiness / 0.1, 1.0) + 10.0 * s,
        window_h=(9.5 - 3.5 * s, 17.5 + 1.5 * s),
        floor=0.5 * s,
        duration_median_s=75.0 * math.exp(2.3 * s),
        duration_range_s=(20.0 + 40.0 * s, 480.0 + 3120.0 * s),
        ramp_scale=1.0 + 3.0 * s,
        thickness=1.0 - 0.6 * s,
        deep_prob=0.8 * s,
    )


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
    sky_k: float | None = None  # deep cloud: diffuse under the core = sky_k x GHI_clear


def _rate_per_h(regime: CloudRegime, hour: float) -> float:
    """Arrival rate vs local clock hour: cumulus build after mid-morning, peak early
    afternoon, dissolve before sunset (a sin^2 bump over the window, on a floor)."""
    lo, hi = regime.window_h
    if not lo < hour < hi:
        return 0.0
    bump = math.sin(math.pi * (hour - lo) / (hi - lo)) ** 2
    return regime.peak_per_h * (regime.floor + (1.0 - regime.floor) * bump)


def _generator(words: list[int]):
    import numpy as np

    # SeedSequence pads its entropy with zero words, so [seed, 0] is the same stream as
    # PCG64(seed): day 0 of a run is the single day of the same seed.
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def make_clouds(seed: int, day_index: int, regime: CloudRegime) -> list[Cloud]:
    """Inhomogeneous Poisson arrivals (thinning) with per-cloud random shape.

    Only ``Generator.random()`` (uniform doubles) is used, so the stream does not depend on
    numpy's distribution algorithms. The shape stream draws the same numbers whatever is
    accepted, and deep-cloud draws come from a second stream, so the fair-weather clouds of
    a seed stay the same at any cloudiness that keeps them."""
    if regime.peak_per_h <= 0.0:
        return []
    rng = _generator([seed, day_index])
    deep_rng = _generator([seed, day_index, _DEEP_STREAM])

    def u() -> float:
        return float(rng.random())

    peak = regime.peak_per_h  # the thinning bound: _rate_per_h never exceeds it
    d_lo, d_hi = regime.duration_range_s
    clouds: list[Cloud] = []
    t = 0.0
    while True:
        t += -math.log(1.0 - u()) * 3600.0 / peak
        if t >= 86400.0:
            break
        accept = u() < _rate_per_h(regime, t / 3600.0) / peak
        # draw the shape regardless, so accepting one cloud does not shift the rest
        z = math.sqrt(-2.0 * math.log(1.0 - u())) * math.cos(2.0 * math.pi * u())
        duration = min(d_hi, max(d_lo, regime.duration_median_s * math.exp(0.8 * z)))  # lognormal
        ramp = (4.0 + 20.0 * u()) * regime.ramp_scale
        beam_frac = (0.05 + 0.45 * u() ** 1.5) * regime.thickness  # mostly thick cumulus
        knot_s = 15.0 + 45.0 * u()
        wiggle = 0.02 + 0.10 * u()
        texture = tuple(wiggle * (2.0 * u() - 1.0) for _ in range(int(duration / knot_s) + 2))
        lead = (0.04 + 0.10 * u(), 15.0 + 45.0 * u()) if u() < 0.7 else (0.0, 0.0)
        trail = (0.04 + 0.10 * u(), 15.0 + 45.0 * u()) if u() < 0.7 else (0.0, 0.0)
        sky_k = None
        if regime.deep_prob > 0.0:
            deep, k = float(deep_rng.random()), float(deep_rng.random())
            if deep < regime.deep_prob:
                sky_k = 0.12 + 0.33 * k  # grey overcast .. dark shower cloud
        if accept:
            ramp = min(ramp, (duration - 6.0) / 2.0)
            clouds.append(Cloud(t, duration, ramp, beam_frac, knot_s, texture, lead, trail, sky_k))
    return clouds


@dataclass
class CloudField:
    """Per-second sky over one local day (index = second after midnight)."""

    beam: object  # beam transmittance, 1 = clear
    enh: object  # diffuse added, as a fraction of clear-sky GHI (edges, deep-cloud diffuse)
    sky: object  # multiplier on the clear-sky diffuse (0 under a deep cloud's core)
    extra: dict = field(default_factory=dict)


def cloud_field(clouds: list[Cloud]) -> CloudField:
    import numpy as np

    sec = np.arange(86400, dtype=float) + 0.5
    beam = np.ones_like(sec)
    enh = np.zeros_like(sec)
    sky = np.ones_like(sec)
    deep = np.zeros_like(sec)
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
        texture = (1.0 - w) * knots[k] + w * knots[k + 1]
        tau = np.clip(c.beam_frac + texture, 0.0, 0.7)
        beam[i0:i1] *= 1.0 - occ * (1.0 - tau)
        if c.sky_k is not None:
            # a deep cloud replaces the clear sky's diffuse by its own (grey) light
            sky[i0:i1] = np.minimum(sky[i0:i1], 1.0 - occ)
            # its light varies with the same texture, relatively stronger (+-4..24 %)
            deep[i0:i1] = np.maximum(deep[i0:i1], occ * c.sky_k * (1.0 + 2.0 * texture))
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
    enh += deep  # exact no-op (x + 0.0) on a day without deep clouds
    return CloudField(beam, enh, sky)


# --------------------------------------------------------------------------- weather


def mixed_cloudiness(seed: int, days: int) -> tuple[float, ...]:
    """A cloudiness per day from a persistent four-state weather chain (seeded): half the
    time tomorrow's weather is today's kind, otherwise any kind; each day's value is drawn
    within its kind's band."""
    bands = ((0.02, 0.15), (0.25, 0.5), (0.55, 0.75), (0.8, 0.95))  # clear .. overcast
    rng = _generator([seed, _WEATHER_STREAM])
    state = min(3, int(4 * rng.random()))
    out = []
    for _ in range(days):
        if rng.random() >= 0.5:
            state = min(3, int(4 * rng.random()))
        lo, hi = bands[state]
        out.append(round(lo + (hi - lo) * float(rng.random()), 2))
    return tuple(out)


def climate_air_temp(lat: float, day: dt.date, cloudiness: float) -> tuple[float, float]:
    """(mean, half range) of the day's air temperature, C: a rough zonal climatology.

    Annual mean falls ~0.45 C per degree of latitude beyond 10 deg; the seasonal swing
    grows with latitude, warmest ~3 weeks after the solstice; cloud narrows the daily range."""
    alat = abs(lat)
    annual = 28.0 - 0.45 * max(0.0, alat - 10.0)
    swing = 2.5 + 0.18 * alat
    warmest_doy = 200 if lat >= 0 else 17
    doy = day.timetuple().tm_yday
    mean = annual + swing * math.cos(2.0 * math.pi * (doy - warmest_doy) / 365.25)
    return mean, 5.0 - 3.5 * min(1.0, cloudiness)


# --------------------------------------------------------------------------- PV model


@dataclass
class DayResult:
    stamps: object  # int64 UNIX s, every step of the local day
    pac: object  # W AC, mean over [t, t + step)
    clear_pac: object | None  # the same day without clouds (when asked for)
    clouds: int
    episodes: int  # distinct shading episodes (overlapping clouds make one)
    linke: float
    pac_nom: float
    clip_samples: int


def simulate_day(spec: Spec, index: int, *, with_clear: bool = False) -> DayResult:
    """Day `index` of spec (0 = spec.start), every step of the local day (no outages)."""
    import numpy as np
    import pandas as pd
    from pvlib import iam, inverter, irradiance, pvsystem, solarposition, temperature
    from pvlib.clearsky import lookup_linke_turbidity
    from pvlib.location import Location

    step = spec.step_s
    day = spec.start + dt.timedelta(days=index)
    tz = dt.timezone(dt.timedelta(seconds=spec.tz_offset_s))
    t0 = spec.t0 + 86400 * index
    n = 86400 // step
    stamps = t0 + step * np.arange(n, dtype=np.int64)
    # each sample is the mean over [t, t + step): evaluate the sky at the midpoint
    times = pd.DatetimeIndex(pd.to_datetime(stamps + step // 2, unit="s", utc=True)).tz_convert(tz)

    site = Location(spec.lat, spec.lon, tz="UTC", altitude=spec.altitude_m, name=spec.site)
    sp = solarposition.get_solarposition(
        times, spec.lat, spec.lon, altitude=site.altitude, method="nrel_numpy"
    )
    # Linke turbidity from the file bundled with pvlib (pvlib/data/LinkeTurbidities.h5).
    linke = lookup_linke_turbidity(times, spec.lat, spec.lon)
    cs = site.get_clearsky(times, model="ineichen", solar_position=sp, linke_turbidity=linke)
    dni_extra = irradiance.get_extra_radiation(times)
    aoi = irradiance.aoi(spec.tilt_deg, spec.azimuth_deg, sp["apparent_zenith"], sp["azimuth"])
    iam_diffuse = iam.marion_diffuse("physical", surface_tilt=spec.tilt_deg)
    iam_beam = iam.physical(aoi)
    cosz = np.clip(np.cos(np.radians(sp["apparent_zenith"].to_numpy())), 0.0, None)
    cloudiness = spec.cloudiness[index]
    mean_c, half_c = spec.air_temp_c or climate_air_temp(spec.lat, day, cloudiness)
    hour = (stamps - t0 + step / 2) / 3600.0
    temp_air = pd.Series(mean_c + half_c * np.cos(2.0 * np.pi * (hour - 14.5) / 24.0), index=times)
    s = max(0.0, (cloudiness - 0.1) / 0.9)
    wind = pd.Series(np.full(n, 2.0 + 2.0 * s), index=times)  # cloudy days are breezier
    params = temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][SAPM_MOUNT]
    pdc0 = spec.kwp * 1000.0
    loss = pvsystem.pvwatts_losses(**LOSSES) / 100.0
    pac_nom = AC_RATIO * pdc0

    def ac_power(beam, enh, sky):
        dni = cs["dni"].to_numpy() * beam
        dhi = cs["dhi"].to_numpy() * sky + enh * cs["ghi"].to_numpy()
        ghi = dni * cosz + dhi
        poa = irradiance.get_total_irradiance(
            spec.tilt_deg,
            spec.azimuth_deg,
            sp["apparent_zenith"],
            sp["azimuth"],
            dni=pd.Series(dni, index=times),
            ghi=pd.Series(ghi, index=times),
            dhi=pd.Series(dhi, index=times),
            dni_extra=dni_extra,
            albedo=ALBEDO,
            model="haydavies",
        )
        eff = (
            poa["poa_direct"] * iam_beam
            + poa["poa_sky_diffuse"] * float(iam_diffuse["sky"])
            + poa["poa_ground_diffuse"] * float(iam_diffuse["ground"])
        ).fillna(0.0)
        t_ss = temperature.sapm_cell(poa["poa_global"].fillna(0.0), temp_air, wind, **params)
        t_cell = temperature.prilliman(t_ss, wind).fillna(t_ss)
        pdc = pvsystem.pvwatts_dc(eff, t_cell, pdc0, GAMMA_PDC).to_numpy() * (1.0 - loss)
        pdc = np.clip(pdc, 0.0, None)
        pac = np.asarray(inverter.pvwatts(pdc, pac_nom / ETA_INV_NOM, eta_inv_nom=ETA_INV_NOM))
        return np.where(np.isfinite(pac) & (pac >= 0.05), pac, 0.0)  # never '-0.0' or 'nan'

    clouds = make_clouds(spec.seed, index, regime_for(cloudiness))
    sky_1s = cloud_field(clouds)
    pac = ac_power(
        *(a.reshape(n, step).mean(axis=1) for a in (sky_1s.beam, sky_1s.enh, sky_1s.sky))
    )
    clear = ac_power(np.ones(n), np.zeros(n), np.ones(n)) if with_clear else None
    shaded = sky_1s.beam < 0.98  # overlapping clouds make one shading episode
    return DayResult(
        stamps=stamps,
        pac=pac,
        clear_pac=clear,
        clouds=len(clouds),
        episodes=int(np.count_nonzero(shaded[1:] & ~shaded[:-1]) + int(shaded[0])),
        linke=float(linke.mean()),
        pac_nom=pac_nom,
        clip_samples=int(np.count_nonzero(pac >= pac_nom - 0.05)),
    )


# --------------------------------------------------------------------------- the log


def header(spec: Spec) -> str:
    lines = [
        "# sunprint samplelog 1\n",
        f"# site={spec.site} lat={float(spec.lat)!r} lon={float(spec.lon)!r}"
        f" tz={tz_text(spec.tz_offset_s)} kwp={float(spec.kwp)!r}"
        f" source={spec.source} seed={spec.seed}\n",
        f"# date={spec.start.isoformat()} step_s={spec.step_s} tilt_deg={spec.tilt_deg:g}"
        f" azimuth_deg={spec.azimuth_deg:g} ac_nameplate_w={AC_RATIO * spec.kwp * 1000.0:.1f}"
        f" clearsky={CLEARSKY_TAG}\n",
    ]
    if spec.run_line:
        tz = dt.timezone(dt.timedelta(seconds=spec.tz_offset_s))
        outages = ",".join(
            "%s/%s"
            % tuple(dt.datetime.fromtimestamp(t, tz).strftime("%Y-%m-%dT%H:%M:%S") for t in o)
            for o in spec.outages
        )
        altitude = "lookup" if spec.altitude_m is None else f"{spec.altitude_m:g}"
        lines.append(
            f"# days={spec.days} weather={spec.weather or 'cloudiness'}"
            f" cloudiness={','.join(f'{c:g}' for c in spec.cloudiness)}"
            f" outages={outages or 'none'} altitude_m={altitude}\n"
        )
    lines.append("timestamp,power_w\n")
    return "".join(lines)


def rows_text(stamps, pac, outages=()) -> str:
    import numpy as np

    keep = np.ones(len(stamps), dtype=bool)
    for a, b in outages:
        keep &= (stamps < a) | (stamps >= b)  # the logger was off: no rows
    return "".join(
        f"{int(t)},{float(p):.1f}\n" for t, p in zip(stamps[keep], pac[keep], strict=True)
    )


@dataclass
class LogStats:
    rows: int = 0
    kwh: float = 0.0  # trapezoid over the written rows, not across outages
    peak_w: float = 0.0
    days: list[DayResult] = field(default_factory=list)


def write_log(
    spec: Spec, path: str, *, progress: bool | None = None, option: str = "--out"
) -> LogStats:
    """Simulate spec and write it to path atomically (a temp file beside it, renamed on
    success; nothing is left behind on an error or Ctrl-C). progress: None = a bar on a tty.

    path must be new or an earlier log of spec.source (host_tools/outfile.py), else UserError
    naming option: a file synth did not write is never overwritten."""
    import numpy as np
    from tqdm import tqdm

    stats = LogStats()
    recognise = outfile.sample_log_from(spec.source)  # an earlier log of the same source
    with outfile.writing(
        path, option, _tool(spec.source), recognise, encoding="ascii", newline="\n"
    ) as fh:
        fh.write(header(spec))
        prev = None  # (t, p) of the last written row
        if progress is None:  # a bar for long spans, on a terminal only
            progress = spec.days > 1 and sys.stderr.isatty()
        bar = tqdm(range(spec.days), desc="synth", unit="day", disable=not progress)
        for i in bar:
            day = simulate_day(spec, i)
            fh.write(rows_text(day.stamps, day.pac, spec.outages))
            t, p = day.stamps, day.pac
            keep = np.ones(len(t), dtype=bool)
            for a, b in spec.outages:
                keep &= (t < a) | (t >= b)
            t, p = t[keep], p[keep]
            if prev is not None and len(t):
                t = np.concatenate(([prev[0]], t))
                p = np.concatenate(([prev[1]], p))
            if len(t) > 1:
                dt_s = np.diff(t).astype(float)
                bridged = dt_s <= spec.step_s  # an outage is not integrated across
                stats.kwh += float(np.sum(((p[1:] + p[:-1]) * dt_s / 2.0)[bridged]) / 3.6e6)
            if len(t):
                prev = (int(t[-1]), float(p[-1]))
                stats.peak_w = max(stats.peak_w, float(p.max()))
            stats.rows += int(np.count_nonzero(keep))
            stats.days.append(day)
        bar.close()
    return stats


def _tool(source: str) -> str:
    return "sunprint synth" if source == SOURCE else source


def check_out(path: str, option: str = "--out", source: str = SOURCE) -> None:
    """UserError unless a log of `source` may be written to path: a new file in a folder that
    exists, or an earlier log whose header names the same source (host_tools/outfile.py)."""
    outfile.check(path, option, _tool(source), outfile.sample_log_from(source))


# --------------------------------------------------------------------------- command line


def _number(option: str, text: str, lo: float, hi: float, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{option} {text!r}: not a number (want {what})") from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise UserError(f"{option} {text}: out of range (want {what})")
    return value


def _integer(option: str, text: str, lo: int, hi: int, what: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,12}", text.strip()):
        raise UserError(f"{option} {text!r}: not an integer (want {what})")
    value = int(text)
    if not lo <= value <= hi:
        raise UserError(f"{option} {text}: out of range (want {what})")
    return value


def _date(option: str, text: str) -> dt.date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise UserError(f"{option} {text!r}: not a date (want YYYY-MM-DD)")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as e:
        raise UserError(f"{option} {text}: not a date ({e})") from None
    if not 1971 <= day.year <= 2099:
        raise UserError(f"{option} {text}: out of range (want a year in 1971..2099)")
    return day


def _tz(text: str) -> int:
    m = re.fullmatch(r"([+-])(\d{2}):(\d{2})", text)
    if not m or int(m.group(3)) >= 60 or int(m.group(2)) * 60 + int(m.group(3)) > 14 * 60:
        raise UserError(f"--tz {text!r}: not a UTC offset (want +HH:MM within -14:00..+14:00)")
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return (-60 if m.group(1) == "-" else 60) * minutes


def _local_time(text: str, tz: dt.tzinfo) -> int:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?", text):
        raise ValueError("want YYYY-MM-DDTHH:MM[:SS] local time")
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=tz).timestamp())


def _outage(text: str, spec_t0: int, spec_t1: int, tz: dt.tzinfo) -> tuple[int, int]:
    option = "--outage " + text
    start, sep, end = text.partition("/")
    if not sep:
        raise UserError(f"{option}: want START/END (YYYY-MM-DDTHH:MM local times)")
    try:
        a, b = _local_time(start, tz), _local_time(end, tz)
    except ValueError as e:
        raise UserError(f"{option}: bad time ({e})") from None
    if b <= a:
        raise UserError(f"{option}: the end is not after the start")
    if a < spec_t0 or b > spec_t1:
        span = "%s .. %s" % tuple(
            dt.datetime.fromtimestamp(t, tz).strftime("%Y-%m-%dT%H:%M") for t in (spec_t0, spec_t1)
        )
        raise UserError(f"{option}: outside the span {span}")
    return a, b


def spec_from_args(args) -> Spec:
    """Validate the command line into a Spec; UserError names the option."""
    for option in ("lat", "lon", "kwp", "start", "out"):
        if getattr(args, option) is None:
            raise UserError(f"--{option} is required")
    lat = _number("--lat", args.lat, -90.0, 90.0, "a latitude in -90..90")
    lon = _number("--lon", args.lon, -180.0, 180.0, "a longitude in -180..180")
    try:
        kwp = float(args.kwp)
    except ValueError:
        raise UserError(f"--kwp {args.kwp!r}: not a number (want kWp > 0)") from None
    if not (math.isfinite(kwp) and 0.0 < kwp <= 100000.0):
        raise UserError(f"--kwp {args.kwp}: out of range (want 0 < kWp <= 100000)")
    start = _date("--start", args.start)
    days = _integer("--days", args.days, 1, MAX_DAYS, f"1..{MAX_DAYS}")
    if (start + dt.timedelta(days=days - 1)).year > 2099:
        raise UserError(f"--days {args.days}: the span runs past 2099")
    step = _integer("--interval", args.interval, 1, 3600, "seconds in 1..3600 that divide a day")
    if 86400 % step:
        raise UserError(f"--interval {args.interval}: does not divide a day (86400 s)")
    seed = _integer("--seed", args.seed, 0, MAX_SEED, f"0..{MAX_SEED}")
    tz_offset = _tz(args.tz) if args.tz is not None else 3600 * round(lon / 15.0)
    tilt = _number("--tilt", args.tilt, 0.0, 90.0, "degrees in 0..90")
    azimuth = (
        (180.0 if lat >= 0 else 0.0)
        if args.azimuth is None
        else _number("--azimuth", args.azimuth, 0.0, 360.0, "degrees in 0..360, 180 = south")
    )
    altitude = (
        None
        if args.altitude is None
        else _number("--altitude", args.altitude, -400.0, 9000.0, "metres in -400..9000")
    )
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", args.site):
        raise UserError(f"--site {args.site!r}: want 1..40 letters, digits, '_', '.', '-'")

    if args.cloudiness is not None and args.weather is not None:
        raise UserError("--cloudiness and --weather: give one of them")
    weather = args.weather or ("clear" if args.cloudiness is None else "")
    if args.cloudiness is not None:
        parts = args.cloudiness.split(",")
        values = [_number("--cloudiness", p, 0.0, 1.0, "0..1") for p in parts]
        if len(values) == 1:
            values *= days
        elif len(values) != days:
            raise UserError(
                f"--cloudiness {args.cloudiness}: {len(values)} values for {days} days "
                "(give one, or one per day)"
            )
        cloudiness = tuple(values)
    elif weather == MIXED:
        cloudiness = mixed_cloudiness(seed, days)
    elif weather in WEATHERS:
        cloudiness = (WEATHERS[weather],) * days
    else:
        raise UserError(
            f"--weather {weather!r}: unknown (want one of {', '.join([*WEATHERS, MIXED])})"
        )

    spec = Spec(
        lat=lat,
        lon=lon,
        kwp=kwp,
        start=start,
        days=days,
        cloudiness=cloudiness,
        step_s=step,
        tz_offset_s=tz_offset,
        seed=seed,
        tilt_deg=tilt,
        azimuth_deg=azimuth,
        altitude_m=altitude,
        site=args.site,
        weather=weather,
    )
    tz = dt.timezone(dt.timedelta(seconds=tz_offset))
    outages = tuple(sorted(_outage(o, spec.t0, spec.t_end, tz) for o in args.outage or ()))
    check_out(args.out)
    return replace(spec, outages=outages)


def cmd_synth(args) -> int:
    spec = spec_from_args(args)
    try:
        import pvlib  # noqa: F401
    except ImportError:
        print("sunprint synth: error: needs pvlib (pip install -e '.[dev]')", file=sys.stderr)
        return 1
    stats = write_log(spec, args.out, progress=None if args.progress else False)
    clouds = sum(d.clouds for d in stats.days)
    print(
        "wrote %s: %d rows over %d day(s) at %d s, %.2f kWh, peak %.1f W, %d clouds, "
        "cloudiness %s"
        % (
            args.out,
            stats.rows,
            spec.days,
            spec.step_s,
            stats.kwh,
            stats.peak_w,
            clouds,
            ",".join(f"{c:g}" for c in spec.cloudiness),
        )
    )
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser(
        "synth",
        help="write realistic synthetic PV power days for a site (pvlib) as a sample log",
        description="Simulate PV AC power for a site with pvlib (offline: clear sky with the "
        "bundled Linke turbidity climatology, a seeded passing-cloud process, tilted plane, "
        "PVWatts DC/AC, cell temperature) and write a sample log (format 1, UNIX seconds).",
    )
    p.add_argument("--lat", help="latitude, degrees north")
    p.add_argument("--lon", help="longitude, degrees east")
    p.add_argument("--kwp", help="DC nameplate, kWp (AC nameplate is 0.9x)")
    p.add_argument("--start", help="first local day, YYYY-MM-DD")
    p.add_argument("--days", default="1", help="number of days (default 1)")
    p.add_argument(
        "--cloudiness",
        help="0 (cloudless) .. 1 (overcast), one value or one per day, comma-separated",
    )
    p.add_argument(
        "--weather",
        help="clear (0.1, fair-weather cumulus; the default), cloudy (0.6), monsoon (0.85), "
        "or mixed (a seeded cloudiness per day)",
    )
    p.add_argument("--interval", default="10", help="seconds per row, divides a day (default 10)")
    p.add_argument(
        "--tz", help="local UTC offset +HH:MM (default: the longitude's nominal zone, lon/15 h)"
    )
    p.add_argument(
        "--outage",
        action="append",
        metavar="START/END",
        help="no rows from START to END, local YYYY-MM-DDTHH:MM (the logger was off); repeatable",
    )
    p.add_argument("--seed", default="1", help="cloud process seed, 0..2^32-1 (default 1)")
    p.add_argument("--tilt", default="20", help="module tilt, degrees (default 20)")
    p.add_argument(
        "--azimuth", help="module azimuth, degrees, 180 = south (default: towards the equator)"
    )
    p.add_argument("--altitude", help="site altitude, m (default: pvlib's bundled lookup)")
    p.add_argument("--site", default="synthetic", help="site name for the header")
    p.add_argument(
        "--out", help="sample log to write (atomically): a new file or an earlier synth log"
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(func=cmd_synth)

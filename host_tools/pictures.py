"""Pictures of a run: a plot of power and energy with events, an animated GIF and a contact sheet.

    write_plot(path, times, power_w, energy_kwh, events, tz_offset_s=8 * 3600)
    write_animation(frame_paths, gif_path, sheet_path, labels=None, max_frames=240)

Both write atomically (a temp file beside the destination, renamed on success) and need only
Pillow and matplotlib (Agg, no display).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from contextlib import contextmanager

# -- the plot ---------------------------------------------------------------------------------

PLOT_SIZE_IN = (12.0, 6.5)
PLOT_DPI = 100
PLOT_SIZE_PX = (1200, 650)  # PLOT_SIZE_IN x PLOT_DPI: the PNG's size, always
GAP_S = 300  # no row for longer than this: a gap (the ledger's max_gap_s), shaded, not drawn
MAX_POINTS = 20000  # more rows than this are drawn as per-bin mean and min..max band
REFRESH_KINDS = ("full", "partial")
FAULT_STYLE = {  # kind: (colour, legend name)
    "fault": ("#d62728", "fault"),
    "cut": ("#000000", "power cut"),
    "dropout": ("#9467bd", "sensor dropout"),
    "clock_jump": ("#e377c2", "clock jump"),
    "meter_swap": ("#8c564b", "meter swap"),
    "bus_errors": ("#bcbd22", "bus errors"),
}
EVENT_KINDS = REFRESH_KINDS + tuple(FAULT_STYLE)
MAX_FAULT_LABELS = 12  # more fault events than this: lines and legend only, no text


def _tz_name(offset_s: int) -> str:
    sign = "-" if offset_s < 0 else "+"
    m = abs(int(offset_s)) // 60
    return "UTC%s%02d:%02d" % (sign, m // 60, m % 60)


def _local_days(t, tz_offset_s):
    # matplotlib date numbers are days since 1970-01-01: shifting by the offset and reading
    # them as UTC shows the local clock, with no per-point datetime objects.
    return (t + tz_offset_s) / 86400.0


def _gaps(t):
    import numpy as np

    if len(t) < 2:
        return np.zeros(0, dtype=int)
    return np.nonzero(np.diff(t) > GAP_S)[0]  # a gap after row i


def _binned(t, p, bins):
    """(centres, mean, lo, hi) per time bin; empty bins are NaN (the line breaks there)."""
    import numpy as np

    t0, t1 = float(t[0]), float(t[-1])
    width = max((t1 - t0) / bins, 1.0)
    idx = np.minimum(((t - t0) / width).astype(np.int64), bins - 1)
    count = np.bincount(idx, minlength=bins).astype(float)
    total = np.bincount(idx, weights=p, minlength=bins)
    hi = np.full(bins, -np.inf)
    lo = np.full(bins, np.inf)
    np.maximum.at(hi, idx, p)
    np.minimum.at(lo, idx, p)
    empty = count == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    for a in (mean, hi, lo):
        a[empty] = np.nan
    centres = t0 + width * (np.arange(bins) + 0.5)
    return centres, mean, lo, hi


def write_plot(
    path,
    times: Sequence[float],
    power_w: Sequence[float],
    energy_kwh: Sequence[float] | None,
    events: Sequence[tuple[float, str, str]] = (),
    *,
    tz_offset_s: int = 8 * 3600,
    title: str | None = None,
) -> None:
    """A PNG (PLOT_SIZE_PX) of power and cumulative energy against local time.

    times: UNIX seconds, increasing; power_w: W per time; energy_kwh: the cumulative energy at
    each time (None: the trapezoid integral of power, not across gaps longer than GAP_S).
    events: (t_unix, kind, label) with kind in EVENT_KINDS: refreshes ("full", "partial") are
    ticks in a strip under the plot, faults are vertical lines across it with their labels.
    Rows more than GAP_S apart are not joined: the gap is shaded as "no data". The heading is
    "title: <final kWh>, peak <power>" (just the numbers without a title).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    t = np.asarray(times, dtype=float)
    p = np.asarray(power_w, dtype=float)
    if t.ndim != 1 or len(t) != len(p) or len(t) < 1:
        raise ValueError("times and power_w must be equal-length, non-empty sequences")
    if np.any(np.diff(t) <= 0):
        raise ValueError("times must increase")
    gaps = _gaps(t)
    if energy_kwh is None:
        inc = (p[1:] + p[:-1]) * np.diff(t) / 2.0 / 3.6e6
        inc[gaps] = 0.0
        e = np.concatenate(([0.0], np.cumsum(inc)))
    else:
        e = np.asarray(energy_kwh, dtype=float)
        if len(e) != len(t):
            raise ValueError("energy_kwh must have one value per time")
    for kind in (k for _, k, _ in events):
        if kind not in EVENT_KINDS:
            raise ValueError("unknown event kind %r (want one of %s)" % (kind, EVENT_KINDS))

    kilo = np.nanmax(p) >= 2000.0
    scale, unit = (1000.0, "kW") if kilo else (1.0, "W")
    tz = _tz_name(tz_offset_s)

    fig = plt.figure(figsize=PLOT_SIZE_IN, dpi=PLOT_DPI)
    try:
        grid = fig.add_gridspec(2, 1, height_ratios=(12, 1), hspace=0.06)
        ax = fig.add_subplot(grid[0])
        strip = fig.add_subplot(grid[1], sharex=ax)

        # power: break the line at gaps; many rows become a mean line over a min..max band
        if len(t) > MAX_POINTS:
            tc, mean, lo, hi = _binned(t, p, MAX_POINTS // 5)
            x = _local_days(tc, tz_offset_s)
            ax.fill_between(x, lo / scale, hi / scale, color="#ffbf80", lw=0, label="min..max")
            ax.plot(x, mean / scale, lw=0.8, color="#e06000", label="AC power (mean)")
        else:
            x = _local_days(np.insert(t, gaps + 1, np.nan), tz_offset_s)
            y = np.insert(p, gaps + 1, np.nan) / scale
            ax.plot(x, y, lw=0.8, color="#e06000", label="AC power")
        for i in gaps:
            ax.axvspan(
                _local_days(t[i], tz_offset_s),
                _local_days(t[i + 1], tz_offset_s),
                color="#d0d0d0",
                alpha=0.6,
                lw=0,
            )
        ax.set_ylabel("AC power, %s" % unit, color="#b04a00")
        ax.set_ylim(bottom=0, top=max(np.nanmax(p) / scale * 1.12, 1e-3))
        ax.grid(alpha=0.3)

        ax2 = ax.twinx()
        ax2.plot(_local_days(t, tz_offset_s), e, lw=1.6, color="#1f5fbf", label="energy")
        ax2.set_ylabel("cumulative energy, kWh", color="#1f5fbf")
        ax2.set_ylim(bottom=0, top=max(float(np.nanmax(e)) * 1.12, 1e-3))

        # faults: vertical lines with their labels
        faults = [ev for ev in events if ev[1] in FAULT_STYLE]
        top = ax.get_ylim()[1]
        for n, (ft, kind, label) in enumerate(sorted(faults)):
            colour = FAULT_STYLE[kind][0]
            xf = _local_days(float(ft), tz_offset_s)
            ax.axvline(xf, color=colour, lw=1.5, ls="--")
            if len(faults) <= MAX_FAULT_LABELS:
                ax.text(
                    xf,
                    top * (0.97 - 0.07 * (n % 4)),
                    " " + (label or kind),
                    color=colour,
                    fontsize=9,
                    va="top",
                    ha="left",
                    bbox=dict(facecolor="white", edgecolor="none", alpha=0.75, pad=1),
                )

        # refreshes: ticks in the strip (partial short and grey, full tall and black)
        refreshes = {k: [] for k in REFRESH_KINDS}
        for rt, kind, _ in events:
            if kind in refreshes:
                refreshes[kind].append(_local_days(float(rt), tz_offset_s))
        strip.vlines(refreshes["partial"], 0.0, 0.55, color="#909090", lw=0.6)
        strip.vlines(refreshes["full"], 0.0, 1.0, color="#000000", lw=1.2)
        strip.set_ylim(0, 1)
        strip.set_yticks([])
        strip.set_ylabel("refresh", rotation=0, ha="right", va="center", fontsize=9)

        x0 = _local_days(t[0], tz_offset_s)
        x1 = _local_days(t[-1] + (t[1] - t[0] if len(t) > 1 else 60.0), tz_offset_s)
        ax.set_xlim(x0, x1)
        locator = mdates.AutoDateLocator(minticks=6, maxticks=14)
        strip.xaxis.set_major_locator(locator)
        strip.xaxis.set_major_formatter(
            mdates.ConciseDateFormatter(
                locator,
                formats=["%Y", "%b", "%b %d", "%H:%M", "%H:%M", "%S.%f"],
                zero_formats=["", "%Y", "%b %d", "%b %d", "%H:%M", "%H:%M"],
                show_offset=False,
            )
        )
        plt.setp(ax.get_xticklabels(), visible=False)
        first, last = (mdates.num2date(v).strftime("%Y-%m-%d") for v in (x0, x1 - 1e-6))
        span = first if first == last else "%s .. %s" % (first, last)
        strip.set_xlabel("local time (%s), %s" % (tz, span))

        handles = [
            Line2D([], [], color="#e06000", lw=1.5, label="AC power, %s" % unit),
            Line2D([], [], color="#1f5fbf", lw=1.6, label="cumulative energy, kWh"),
        ]
        if len(gaps):
            many = "s" if len(gaps) > 1 else ""
            handles.append(Patch(color="#d0d0d0", label="no data (%d gap%s)" % (len(gaps), many)))
        for kind, (colour, name) in FAULT_STYLE.items():
            count = sum(1 for ev in faults if ev[1] == kind)
            if count:
                handles.append(
                    Line2D([], [], color=colour, ls="--", lw=1.3, label="%s (%d)" % (name, count))
                )
        for kind, colour in (("full", "#000000"), ("partial", "#909090")):
            if refreshes[kind]:
                handles.append(
                    Line2D(
                        [],
                        [],
                        color=colour,
                        lw=1.2,
                        label="%s refresh (%d)" % (kind, len(refreshes[kind])),
                    )
                )
        # the legend in a band of its own between the title and the plot: never over the data
        fig.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.945),
            ncol=min(len(handles), 5),
            fontsize=9,
            frameon=False,
        )
        i_peak = int(np.nanargmax(p))
        summary = "%.2f kWh, peak %.2f %s" % (float(e[-1]), p[i_peak] / scale, unit)
        fig.suptitle(summary if title is None else "%s: %s" % (title, summary), y=0.985)
        fig.subplots_adjust(left=0.07, right=0.93, top=0.85, bottom=0.1)
        with _atomic(path, ".png") as tmp:
            fig.savefig(tmp, format="png", dpi=PLOT_DPI)
    finally:
        plt.close(fig)


# -- the animation and the contact sheet ------------------------------------------------------

CAPTION_H = 22  # px of caption strip under each GIF frame
MIN_GIF_W = 192  # px: a tiny LED frame still gets a readable caption
FRAME_MS = 250
LAST_FRAME_MS = 2000
SHEET_MAX_W = 1600
THUMB_MIN_W = 150  # px: small frames are scaled up on the sheet to at least this width
SHEET_PAD = 8  # px around each thumbnail
SHEET_HEAD_H = 26  # px of heading line at the top of the sheet
SHEET_TEXT_H = 16  # px of label under each thumbnail


def _pick(n: int, limit: int) -> list[int]:
    """At most `limit` indices of range(n), evenly spread, first and last always included."""
    if n <= limit:
        return list(range(n))
    if limit <= 1:
        return [n - 1]
    return sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})


def _font(size):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _to_palette(im):
    """RGB -> P, exactly when the image has at most 256 colours (panel frames always do).

    Built by hand: Image.quantize(palette=...) matches colours at reduced precision (white
    came out as 251)."""
    import numpy as np
    from PIL import Image

    rgb = np.asarray(im, dtype=np.uint8)
    packed = (
        (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    )
    colours, index = np.unique(packed.ravel(), return_inverse=True)
    if len(colours) > 256:
        return im.quantize(colors=256, dither=Image.Dither.NONE)  # lossy, never for panels
    out = Image.fromarray(index.reshape(packed.shape).astype(np.uint8), mode="P")
    palette = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1)
    out.putpalette(palette.astype(np.uint8).ravel().tobytes())
    return out


def gif_frame_box(frame_size: tuple[int, int], scale: int = 2) -> tuple[int, int, int, int]:
    """Where a frame of frame_size lands in each GIF image: (left, top, right, bottom)."""
    w, h = frame_size[0] * scale, frame_size[1] * scale
    left = (max(w, MIN_GIF_W) - w) // 2
    return (left, 0, left + w, h)


def write_animation(
    frame_paths: Sequence,
    gif_path,
    sheet_path,
    *,
    labels: Sequence[str] | None = None,
    max_frames: int = 240,
    sheet_frames: int = 48,
    scale: int = 2,
) -> dict:
    """An animated GIF of the frames (each scaled by `scale`, nearest neighbour, with a caption
    strip "i/N label"; the label defaults to the file name without its extension) and a
    contact sheet PNG (a grid of labelled thumbnails).

    More than max_frames (sheet_frames) frames: an even selection, first and last included.
    Returns {"frames": N, "gif_frames": .., "sheet_frames": .., "gif_size": (w, h),
    "sheet_thumb_scale": k}; a frame sits at gif_frame_box() in each GIF image.
    """
    from PIL import Image, ImageDraw

    n = len(frame_paths)
    if n == 0:
        raise ValueError("no frames")
    if labels is not None and len(labels) != n:
        raise ValueError("labels: %d for %d frames" % (len(labels), n))
    if max_frames < 1 or sheet_frames < 1 or scale < 1:
        raise ValueError("max_frames, sheet_frames and scale must be >= 1")

    def load(i):
        with Image.open(frame_paths[i]) as im:
            rgb = im.convert("RGB")
        if rgb.size != size:
            raise ValueError(
                "%s: %dx%d, the first frame is %dx%d" % (frame_paths[i], *rgb.size, *size)
            )
        return rgb

    with Image.open(frame_paths[0]) as first:
        size = first.size
    # without labels, the file names say what each frame is (replay: NNNN-HHMMSS-KIND)
    label = [
        str(labels[i])
        if labels is not None
        else os.path.splitext(os.path.basename(frame_paths[i]))[0]
        for i in range(n)
    ]

    # GIF: frame on top, caption strip below
    box = gif_frame_box(size, scale)
    canvas_w = max(box[2] - box[0], MIN_GIF_W)
    canvas_h = box[3] + CAPTION_H
    font = _font(13)
    images = []
    picked = _pick(n, max_frames)
    for i in picked:
        canvas = Image.new("RGB", (canvas_w, canvas_h), "white")
        frame = load(i).resize((box[2] - box[0], box[3] - box[1]), Image.Resampling.NEAREST)
        canvas.paste(frame, box[:2])
        draw = ImageDraw.Draw(canvas)
        draw.line([(0, box[3]), (canvas_w, box[3])], fill=(160, 160, 160))
        draw.text((4, box[3] + 4), ("%d/%d  %s" % (i + 1, n, label[i])).rstrip(), "black", font)
        images.append(_to_palette(canvas))
    durations = [FRAME_MS] * (len(images) - 1) + [LAST_FRAME_MS]

    # contact sheet
    sheet_pick = _pick(n, sheet_frames)
    thumb_scale = max(1, math.ceil(THUMB_MIN_W / size[0]))
    tw, th = size[0] * thumb_scale, size[1] * thumb_scale
    pad, text_h, head_h = SHEET_PAD, SHEET_TEXT_H, SHEET_HEAD_H
    cell_w, cell_h = tw + 2 * pad, th + text_h + 2 * pad
    cols = max(1, min(len(sheet_pick), SHEET_MAX_W // cell_w))
    rows = math.ceil(len(sheet_pick) / cols)
    sheet = Image.new("RGB", (cols * cell_w, head_h + rows * cell_h), (236, 236, 236))
    draw = ImageDraw.Draw(sheet)
    shown = "all" if len(sheet_pick) == n else "%d of them, evenly spread" % len(sheet_pick)
    draw.text((pad, 6), "%d frames (%s)" % (n, shown), "black", _font(14))
    small = _font(11)
    for k, i in enumerate(sheet_pick):
        x = (k % cols) * cell_w + pad
        y = head_h + (k // cols) * cell_h + pad
        thumb = load(i).resize((tw, th), Image.Resampling.NEAREST)
        sheet.paste(thumb, (x, y))
        draw.rectangle([x - 1, y - 1, x + tw, y + th], outline=(120, 120, 120))
        draw.text((x, y + th + 2), ("%d  %s" % (i + 1, label[i])).rstrip(), "black", small)

    with _atomic(gif_path, ".gif") as tmp:
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=durations,
            loop=0,
            disposal=1,
        )
    with _atomic(sheet_path, ".png") as tmp:
        sheet.save(tmp, format="PNG", optimize=True)
    return {
        "frames": n,
        "gif_frames": len(images),
        "sheet_frames": len(sheet_pick),
        "gif_size": (canvas_w, canvas_h),
        "sheet_thumb_scale": thumb_scale,
    }


@contextmanager
def _atomic(path, suffix):
    """Yield a temp path beside `path`; rename it onto `path` if the block succeeds."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

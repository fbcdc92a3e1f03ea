"""Regenerate firmware/sunprint/ui/icons.py: the sign's 1-bit icons as MONO_HLSB bytes literals.

The 16 and 32 px icons are drawn here as shapes on a unit square, rendered by Pillow 8x larger
and reduced to 1 bit per pixel (a pixel is ink when at least half of it is covered); the 8 px
ones (LED panels) are drawn pixel by pixel below. tests/host/test_icons.py checks that the
committed icons.py is exactly what this script writes; previews go to build/icons/.

    .venv/bin/python tools/make_icons.py [--out firmware/sunprint/ui/icons.py]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "firmware" / "sunprint" / "ui" / "icons.py"
SIZES = (16, 32)
SUPER = 8

# 8x8 for LED panels: '#' ink.
PIXELS = {
    "sun": (
        "#..#..#.",
        ".#....#.",
        "...##...",
        "#.####.#",
        "..####..",
        "...##...",
        ".#....#.",
        "#..#..#.",
    ),
    "bolt": (
        "....##..",
        "...##...",
        "..##....",
        ".######.",
        "....##..",
        "...##...",
        "..##....",
        ".##.....",
    ),
    "plug": (
        "..#..#..",
        "..#..#..",
        ".######.",
        ".######.",
        ".######.",
        "..####..",
        "...##...",
        "...##...",
    ),
    "leaf": (
        "....####",
        "..######",
        ".####.##",
        ".###.###",
        ".##.####",
        "..#.###.",
        ".#......",
        "#.......",
    ),
    "coal": (
        "........",
        "...##...",
        "..####..",
        ".###.##.",
        ".##.####",
        "####.###",
        "########",
        "........",
    ),
    "tree": (
        "...##...",
        "..####..",
        ".######.",
        "..####..",
        ".######.",
        "########",
        "...##...",
        "...##...",
    ),
}


def _pt(p, s):
    return (p[0] * s, p[1] * s)


def draw_sun(d: ImageDraw.ImageDraw, s: float) -> None:
    r = 0.21 * s
    c = 0.5 * s
    d.ellipse((c - r, c - r, c + r, c + r), fill=1)
    for k in range(8):
        a = k * math.pi / 4
        ux, uy = math.cos(a), math.sin(a)
        vx, vy = -uy, ux
        r0, r1, w = 0.31 * s, 0.49 * s, 0.055 * s
        d.polygon(
            [
                (c + ux * r0 + vx * w, c + uy * r0 + vy * w),
                (c + ux * r1 + vx * w, c + uy * r1 + vy * w),
                (c + ux * r1 - vx * w, c + uy * r1 - vy * w),
                (c + ux * r0 - vx * w, c + uy * r0 - vy * w),
            ],
            fill=1,
        )


def draw_bolt(d: ImageDraw.ImageDraw, s: float) -> None:
    pts = [
        (0.60, 0.02),
        (0.18, 0.56),
        (0.46, 0.56),
        (0.36, 0.98),
        (0.82, 0.40),
        (0.54, 0.40),
        (0.70, 0.02),
    ]
    d.polygon([_pt(p, s) for p in pts], fill=1)


def draw_plug(d: ImageDraw.ImageDraw, s: float) -> None:
    d.rectangle(_pt((0.30, 0.02), s) + _pt((0.40, 0.30), s), fill=1)
    d.rectangle(_pt((0.60, 0.02), s) + _pt((0.70, 0.30), s), fill=1)
    d.rounded_rectangle(_pt((0.16, 0.26), s) + _pt((0.84, 0.58), s), radius=0.06 * s, fill=1)
    d.polygon([_pt(p, s) for p in [(0.16, 0.56), (0.84, 0.56), (0.62, 0.78), (0.38, 0.78)]], fill=1)
    d.rectangle(_pt((0.44, 0.76), s) + _pt((0.56, 0.98), s), fill=1)


def _leaf_outline(s: float, n: int = 48) -> list[tuple[float, float]]:
    # A leaf along the diagonal from the stem (bottom left) to the tip (top right): two arcs.
    base, tip = (0.22, 0.78), (0.96, 0.04)
    mx, my = (base[0] + tip[0]) / 2, (base[1] + tip[1]) / 2
    dx, dy = tip[0] - base[0], tip[1] - base[1]
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    pts = []
    for side in (1, -1):
        rng = range(n + 1) if side == 1 else range(n, -1, -1)
        for i in rng:
            t = i / n
            bulge = math.sin(math.pi * t) ** 0.8 * 0.26 * side
            x = base[0] + dx * t + nx * bulge
            y = base[1] + dy * t + ny * bulge
            pts.append((x * s, y * s))
    del mx, my
    return pts


def draw_leaf(d: ImageDraw.ImageDraw, s: float) -> None:
    d.polygon(_leaf_outline(s), fill=1)
    w = max(1, round(0.07 * s))
    d.line(_pt((0.28, 0.72), s) + _pt((0.80, 0.20), s), fill=0, width=w)  # the vein, in paper
    d.line(_pt((0.04, 0.96), s) + _pt((0.30, 0.70), s), fill=1, width=round(0.09 * s))  # stem


def draw_coal(d: ImageDraw.ImageDraw, s: float) -> None:
    # A heap of three faceted lumps, kept apart by a paper outline, each with a paper glint.
    lumps = [
        [(0.02, 0.96), (0.04, 0.70), (0.18, 0.56), (0.36, 0.58), (0.50, 0.72), (0.50, 0.96)],
        [(0.50, 0.96), (0.52, 0.72), (0.68, 0.58), (0.86, 0.60), (0.98, 0.78), (0.98, 0.96)],
        [
            (0.18, 0.58),
            (0.26, 0.30),
            (0.48, 0.14),
            (0.74, 0.26),
            (0.82, 0.52),
            (0.60, 0.64),
            (0.34, 0.64),
        ],
    ]
    glints = [
        ((0.10, 0.74), (0.20, 0.64)),
        ((0.62, 0.74), (0.72, 0.66)),
        ((0.34, 0.36), (0.48, 0.26)),
    ]
    gap = max(1, round(0.08 * s))
    for i, lump in enumerate(lumps):
        pts = [_pt(p, s) for p in lump]
        if i:
            d.line(pts + pts[:1], fill=0, width=gap)  # the outline in paper over what is below
        d.polygon(pts, fill=1)
    for a, b in glints:
        d.line(_pt(a, s) + _pt(b, s), fill=0, width=gap)


def draw_tree(d: ImageDraw.ImageDraw, s: float) -> None:
    tiers = [(0.02, 0.30, 0.20), (0.22, 0.52, 0.28), (0.42, 0.76, 0.36)]
    for top, bottom, half in tiers:
        d.polygon(
            [
                _pt(p, s)
                for p in [(0.5, top), (0.5 + half + 0.1, bottom), (0.5 - half - 0.1, bottom)]
            ],
            fill=1,
        )
    d.rectangle(_pt((0.41, 0.74), s) + _pt((0.59, 0.98), s), fill=1)


DRAW = {
    "sun": draw_sun,
    "bolt": draw_bolt,
    "plug": draw_plug,
    "leaf": draw_leaf,
    "coal": draw_coal,
    "tree": draw_tree,
}

MEANING = {
    "sun": "PV power now",
    "bolt": "energy today",
    "plug": "total energy",
    "leaf": "CO2 avoided",
    "coal": "standard coal saved",
    "tree": "trees equivalent",
}


def render(name: str, size: int) -> Image.Image:
    """Icon `name` at `size` px as a mode '1' image (1 = ink)."""
    if size == 8:
        img = Image.new("1", (8, 8), 0)
        for y, row in enumerate(PIXELS[name]):
            for x, c in enumerate(row):
                if c == "#":
                    img.putpixel((x, y), 1)
        return img
    big = size * SUPER
    hi = Image.new("L", (big, big), 0)
    inset = 0.0 if size >= 32 else 0.5 * SUPER  # keep the ink off the cell's edge pixels
    s = big - 2 * inset
    layer = Image.new("1", (round(s), round(s)), 0)  # drawn in 1 (ink) and 0 (paper)
    DRAW[name](ImageDraw.Draw(layer), s)
    hi.paste(layer.convert("L"), (round(inset), round(inset)))
    small = hi.resize((size, size), Image.Resampling.BOX)
    return small.point(lambda v: 1 if v >= 128 else 0, mode="1")


def hlsb(img: Image.Image) -> bytes:
    """MONO_HLSB bytes: rows, MSB = leftmost pixel, 1 = ink."""
    return img.tobytes()  # Pillow packs mode '1' the same way


def icons_source() -> str:
    lines = [
        '"""The sign\'s icons, 1 bit per pixel, MONO_HLSB (rows, MSB = leftmost pixel, 1 = ink).',
        "",
        "Generated by tools/make_icons.py: don't edit, regenerate. ICONS[name][size] is a tuple",
        "(buffer, width, height, format) that framebuf's blit takes as its source, so drawing an",
        "icon is `fb.blit(ICONS[name][size], x, y, 0)` (0 = paper is transparent): nothing is",
        "copied or allocated, and frozen into the firmware the bitmaps stay in flash.",
        "",
    ]
    for name in DRAW:
        lines.append("%s: %s" % (name, MEANING[name]))
    lines += [
        '"""',
        "",
        "from sunprint.compat import const",
        "",
        "_HLSB = const(3)  # framebuf.MONO_HLSB",
        "",
        "ICONS = {",
    ]
    for name in DRAW:
        lines.append('    "%s": {' % name)
        for size in (8, *SIZES):
            data = hlsb(render(name, size))
            lines.append("        %d: (" % size)
            per_line = 16 if size < 32 else 16
            for i in range(0, len(data), per_line):
                chunk = "".join("\\x%02x" % b for b in data[i : i + per_line])
                lines.append('            b"%s"' % chunk)
            lines.append("            , %d, %d, _HLSB)," % (size, size))
        lines.append("    },")
    lines.append("}")
    lines.append("")
    lines.append("SIZES = (8, %s)" % ", ".join(str(s) for s in SIZES))
    lines.append("")
    return "\n".join(lines)


def preview(path: Path) -> None:
    scale = 8
    pad = 12
    sizes = (8, *SIZES)
    w = pad + sum(s * scale + pad for s in sizes)
    h = pad + len(DRAW) * (SIZES[-1] * scale + pad)
    sheet = Image.new("RGB", (w, h), "white")
    y = pad
    for name in DRAW:
        x = pad
        for size in sizes:
            img = render(name, size).convert("L").point(lambda v: 0 if v else 255)
            big = img.resize((size * scale, size * scale), Image.Resampling.NEAREST)
            sheet.paste(big.convert("RGB"), (x, y))
            x += size * scale + pad
        y += SIZES[-1] * scale + pad
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def formatted(source: str) -> str:
    """`source` as `ruff format` (pinned, the project's settings) writes it."""
    ruff = Path(sys.executable).parent / "ruff"
    proc = subprocess.run(
        [
            str(ruff),
            "format",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--stdin-filename",
            str(OUT),
            "-",
        ],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--preview", type=Path, default=ROOT / "build" / "icons" / "icons.png")
    args = parser.parse_args(argv)
    args.out.write_text(formatted(icons_source()), encoding="utf-8")
    preview(args.preview)
    print(
        "wrote %s (%d icons x sizes 8, %s); preview %s" % (args.out, len(DRAW), SIZES, args.preview)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

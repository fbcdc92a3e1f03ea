"""Regenerate the committed bitmap fonts under assets/fonts/ (``make fonts``).

The source is DejaVu Sans as bundled with matplotlib (a dev dependency, pinned), so every checkout
renders the same TTF with the same Pillow/FreeType and gets the same bytes; the test
tests/host/test_fonts_tool.py checks that the committed files are exactly what this script writes.
Previews (PNG sheets of every glyph) go to build/fonts/, which is not committed.

    .venv/bin/python tools/make_fonts.py [--out assets/fonts] [--preview-dir build/fonts]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from host_tools.fonts import FontError, build_font, parse_font, preview_png, write_font  # noqa: E402

# Printable ASCII plus what the sign's labels need: degrees, CO₂ and a middle dot.
CHARSET = "".join(chr(c) for c in range(0x20, 0x7F)) + "\u00b0\u2082\u00b7"

# name -> (TTF file inside matplotlib's mpl-data/fonts/ttf, em size in pixels, characters)
FONTS = {
    "sans12": ("DejaVuSans.ttf", 12, CHARSET),  # labels: 13 px cell
    "sans24b": ("DejaVuSans-Bold.ttf", 24, CHARSET),  # numbers: 25 px cell, 18 px digits
}


def ttf_path(filename: str) -> Path:
    """A TTF bundled with matplotlib."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / filename


def build(name: str) -> bytes:
    """The bytes of committed font ``name``."""
    ttf, size, chars = FONTS[name]
    return build_font(ttf_path(ttf), size, chars)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "fonts")
    parser.add_argument("--preview-dir", type=Path, default=ROOT / "build" / "fonts")
    args = parser.parse_args(argv)
    for name, (ttf, size, _chars) in FONTS.items():
        try:
            data = build(name)
        except FontError as exc:
            print(f"make_fonts: error: {name}: {exc}", file=sys.stderr)
            return 2
        out = args.out / f"{name}.bin"
        preview = args.preview_dir / f"{name}.png"
        write_font(out, data)
        preview_png(data, preview)
        fnt = parse_font(data)
        print(
            f"{name}: {ttf} {size} px -> {out} ({fnt.count} glyphs, {len(data)} bytes, "
            f"cell {fnt.stride * 8}x{fnt.height}, ascent {fnt.ascent}); preview {preview}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

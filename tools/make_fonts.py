"""Regenerate the committed bitmap fonts under assets/fonts/ (``make fonts``).

The sources are pinned dev dependencies, so every checkout renders the same outlines with the same
Pillow/FreeType and gets the same bytes: DejaVu Sans and DejaVu Sans Bold as bundled with
matplotlib, and Noto Sans SC (Simplified Chinese) as shipped by the pylopdf-fonts-zh-cn package.
The glyph sets are not listed here: they are every character the firmware's layouts and the
board profiles can show (``host_tools.fonts.sign_chars``: ``sunprint.ui.layout.all_strings`` and
the boards' display strings), plus the few extras below. A character a source lacks is an error
naming it. tests/host/test_fonts_tool.py checks that the committed files are exactly what this
script writes. Previews (PNG sheets of every glyph) go to build/fonts/, which is not committed.
A font file this script did not write (not a sunprint font) and a preview folder it did not
write are refused, never overwritten (host_tools/outfile.py, host_tools/outdir.py).

    .venv/bin/python tools/make_fonts.py [--out assets/fonts] [--preview-dir build/fonts]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from host_tools import outdir, outfile  # noqa: E402
from host_tools.errors import UserError  # noqa: E402
from host_tools.fonts import (  # noqa: E402
    build_font,
    is_font_file,
    parse_font,
    preview_png,
    sign_chars,
    write_font,
)

NOTO_SC = "NotoSansSC-Regular.otf"

# Beyond what the layouts show: degrees and a middle dot, for free text in Latin fonts.
LATIN_EXTRAS = "\u00b0\u00b7"

# The Latin label font's character set (printable ASCII, the English strings, the extras).
CHARSET = sign_chars("latin", LATIN_EXTRAS)

# name -> (source font file, em size in pixels, characters)
FONTS = {
    "sans12": ("DejaVuSans.ttf", 12, CHARSET),  # labels, units (2.9"): 13 px cell
    "sans16": ("DejaVuSans.ttf", 16, CHARSET),  # labels, units (4.2", 7.5"): 17 px cell
    "sans24b": ("DejaVuSans-Bold.ttf", 24, CHARSET),  # numbers (2.9"), units: 18 px digits
    "num48b": ("DejaVuSans-Bold.ttf", 48, sign_chars("numbers")),  # big numbers: 35 px digits
    "cjk16": (NOTO_SC, 16, sign_chars("cjk")),  # Chinese labels (2.9", 4.2")
    "cjk24": (NOTO_SC, 24, sign_chars("cjk")),  # Chinese labels (7.5")
}


TOOL = "tools/make_fonts.py"  # names the preview folder it may replace (host_tools/outdir.py)
# the previews this script wrote before its folder carried outdir's marker
_PREVIEWS = outfile.png_named("|".join(name + r"\.png" for name in FONTS))


def ttf_path(filename: str) -> Path:
    """A source font: Noto Sans SC from pylopdf-fonts-zh-cn, else a TTF bundled with matplotlib."""
    if filename == NOTO_SC:
        import pylopdf_fonts_zh_cn

        return Path(pylopdf_fonts_zh_cn.sans_path())
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
    # Before any work: each font file must be new or a sunprint font (host_tools/outfile.py),
    # the preview folder new, empty or this script's earlier one (host_tools/outdir.py).
    try:
        for name in FONTS:
            outfile.check(args.out / f"{name}.bin", "--out", TOOL, is_font_file, make_parent=True)
        previews = outdir.check(
            args.preview_dir, TOOL, make_parent=True, legacy=_PREVIEWS, option="--preview-dir"
        )
    except UserError as exc:
        print(f"make_fonts: error: {exc}", file=sys.stderr)
        return 2
    tmp = outdir.temp_beside(previews, option="--preview-dir")
    try:
        for name, (ttf, size, _chars) in FONTS.items():
            data = build(name)
            out = args.out / f"{name}.bin"
            write_font(out, data)
            preview_png(data, tmp / f"{name}.png")
            fnt = parse_font(data)
            print(
                f"{name}: {ttf} {size} px -> {out} ({fnt.count} glyphs, {len(data)} bytes, "
                f"cell {fnt.stride * 8}x{fnt.height}, ascent {fnt.ascent}); "
                f"preview {previews / (name + '.png')}"
            )
        outdir.replace(tmp, previews, TOOL, legacy=_PREVIEWS, option="--preview-dir")
    except UserError as exc:  # FontError too
        print(f"make_fonts: error: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

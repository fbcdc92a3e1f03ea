"""Draw every screen of every panel size, in every language it can show, with realistic values,
into PNGs under build/screens/ (not committed): look at them before changing a layout.

    .venv/bin/python tools/render_screens.py [--out build/screens] [--widest]

--widest draws the widest values the formats produce instead of the sample ones. Each PNG is
named <width>x<height>-<screen>-<language>.png; e-paper at 2x (4.2" and 7.5" at 1x), LED
matrices as dots. OUT is replaced as a whole: it must be new, empty or an earlier output of
this script (host_tools/outdir.py); nothing else is overwritten or deleted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from host_tools import outdir, outfile  # noqa: E402
from host_tools.errors import UserError  # noqa: E402
from host_tools.paths import use_firmware  # noqa: E402
from host_tools.screens import (  # noqa: E402
    SAMPLE,
    WIDEST,
    draw,
    ink_outside,
    languages,
    panel_fonts,
    panels,
    picture,
)

TOOL = "tools/render_screens.py"  # names the output folder it may replace (host_tools/outdir.py)
# what it wrote before its outputs carried outdir's marker
_LEGACY_OUTPUT = outfile.png_named(r"\d+x\d+-[a-z0-9_]+-[a-z]+\.png")


def render_all(out: Path, values: dict) -> list[Path]:
    use_firmware()
    from sunprint.ui.layout import screen_names

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for width, height in panels():
        led = height <= 16
        scale = 8 if led else (2 if width < 400 else 1)
        with panel_fonts(width, height) as fonts:
            for name in screen_names(width, height):
                for lang in languages(width, height):
                    margin = 16
                    buf, w, h = draw(width, height, name, lang, values, fonts, margin)
                    outside = ink_outside(buf, w, h, margin)
                    if outside:
                        print(
                            "warning: %dx%d %s %s: ink off the panel at %s"
                            % (width, height, name, lang, outside[:3]),
                            file=sys.stderr,
                        )
                    buf, w, h = draw(width, height, name, lang, values, fonts)
                    path = out / ("%dx%d-%s-%s.png" % (width, height, name, lang))
                    picture(buf, w, h, scale, led).save(path)
                    written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "screens")
    parser.add_argument("--widest", action="store_true", help="the widest values, not samples")
    args = parser.parse_args(argv)
    # OUT is replaced as a whole, and only if new, empty or this script's earlier output
    # (host_tools/outdir.py): a folder holding anything else is refused, nothing deleted.
    try:
        out = outdir.check(args.out, TOOL, make_parent=True, legacy=_LEGACY_OUTPUT)
        tmp = outdir.temp_beside(out)
        try:
            written = render_all(tmp, WIDEST if args.widest else SAMPLE)
            outdir.replace(tmp, out, TOOL, legacy=_LEGACY_OUTPUT)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except UserError as e:
        print("render_screens: error: %s" % e, file=sys.stderr)
        return 2
    print("wrote %d screens to %s" % (len(written), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

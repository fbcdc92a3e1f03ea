"""Bitmap fonts for the sign: render a TrueType font into sunprint's binary font format.

The firmware reads these files with ``sunprint.ui.font.BitmapFont`` straight from the device's flash,
one glyph at a time, so a font costs next to no RAM whatever its glyph count.

Binary font format v1 ("SPF1"), all integers little-endian::

    offset 0   4s   magic b"SPF1"
           4   u8   version = 1
           5   u8   height    pixel rows of every glyph cell (= line height)
           6   u8   ascent    baseline row, counted from the top of the cell
           7   u8   stride    bytes per glyph row = ceil(max_width / 8); every glyph uses this stride
           8   u16  count     number of glyphs
          10   u16  reserved  0
          12   count x u32                code points, sorted ascending, unique
               count x u8                 advance width of each glyph in pixels
               count x (stride * height)  bitmaps, MONO_HLSB: row-major, MSB = leftmost pixel,
                                          1 = ink, padding bits 0

Glyph ``i``'s advance is at ``12 + 4 * count + i`` and its bitmap at
``12 + 5 * count + i * stride * height``. The pen position (the glyph's origin) is column 0 of the
cell; ink may extend past the advance (into the next cell) but never left of column 0. ``ascent``
counts the pixel rows above the baseline: the baseline lies between rows ``ascent - 1`` and
``ascent``, so a capital's lowest ink row is ``ascent - 1`` and a descender starts on row
``ascent``. To put two fonts on one baseline ``b``, draw each at ``y = b - font.ascent``.

How a TTF becomes that file (``build_font``):

- FreeType (through Pillow) renders every character at ``size_px`` (the em size in pixels) in
  1-bit mode, hinted, without antialiasing, with its origin on a common baseline, so that glyphs
  drawn side by side line up.
- The cell is the tightest band of rows that holds the ink of every requested glyph: ``ascent`` is
  the number of rows above the baseline, ``height`` adds the rows below it. It therefore depends
  on the character set (a set with descenders or parentheses is taller than digits alone). Leave
  line spacing to the layout.
- A glyph whose ink starts left of its origin (a negative left side bearing) is shifted right by
  those columns so that no ink is lost; its advance is unchanged. (DejaVu Sans at 12 px: 'J', 'v',
  'y' by 1 px; DejaVu Sans Bold at 24 px: 'J' by 2 px, 'Y', 'j' by 1 px.)
- The advance is the font's own advance for that character in 1-bit mode (``getlength``), rounded
  to whole pixels. No kerning.
- A requested character that the TTF has no glyph for is an error (``FontError``) that lists all
  such characters; control characters cannot be requested.
- The output depends only on the TTF, the size, the character set and the Pillow/FreeType version
  (pinned in pyproject.toml): re-running gives the same bytes.

Which characters: ``sign_chars(kind)`` collects every character the firmware's layouts can show
(``sunprint.ui.layout.all_strings``) and the board profiles' display strings, for a Latin text
font, a CJK text font or a number font; ``tools/make_fonts.py`` builds the committed fonts from it.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import struct
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from host_tools import outfile
from host_tools.errors import UserError

MAGIC = b"SPF1"
VERSION = 1
HEADER = struct.Struct("<4sBBBBHH")  # magic, version, height, ascent, stride, count, reserved
HEADER_SIZE = HEADER.size  # 12

MIN_SIZE_PX = 4
MAX_SIZE_PX = 200


class FontError(UserError, ValueError):
    """Bad input for a font: unreadable TTF, missing glyphs, bad size or character set.

    A ``UserError``: ``sunprint`` prints its one-line message and exits 2."""


@dataclass(frozen=True)
class Font:
    """A parsed v1 font (host side; the firmware has its own streaming reader)."""

    height: int
    ascent: int
    stride: int
    code_points: tuple[int, ...]
    advances: tuple[int, ...]
    bitmaps: tuple[bytes, ...]

    @property
    def count(self) -> int:
        return len(self.code_points)

    def pixel(self, index: int, x: int, y: int) -> int:
        """1 if glyph ``index`` has ink at cell column ``x``, row ``y``."""
        return (self.bitmaps[index][y * self.stride + (x >> 3)] >> (7 - (x & 7))) & 1


# --- building --------------------------------------------------------------------------------


def normalize_chars(chars: Iterable[str]) -> list[str]:
    """The distinct characters of ``chars`` in code point order; rejects control characters."""
    out = sorted(set("".join(chars)), key=ord)
    if not out:
        raise FontError("no characters requested")
    bad = [c for c in out if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0]
    if bad:
        raise FontError("control characters cannot be rendered: " + _describe(bad))
    return out


def _describe(chars: Iterable[str]) -> str:
    return ", ".join(f"U+{ord(c):04X}" + (f" {c!r}" if c.isprintable() else "") for c in chars)


def _load(source_path: str | os.PathLike[str], size_px: int) -> ImageFont.FreeTypeFont:
    if isinstance(size_px, bool) or not isinstance(size_px, int):
        raise FontError(f"font size must be a whole number of pixels, not {size_px!r}")
    if not MIN_SIZE_PX <= size_px <= MAX_SIZE_PX:
        raise FontError(f"font size {size_px} px is out of range {MIN_SIZE_PX}..{MAX_SIZE_PX}")
    path = Path(source_path)
    if not path.is_file():
        raise FontError(f"no such font file: {path}")
    try:
        return ImageFont.truetype(str(path), size_px, layout_engine=ImageFont.Layout.BASIC)
    except OSError as exc:
        raise FontError(f"cannot read {path} as a TrueType/OpenType font: {exc}") from None


def _cmap(source_path: str | os.PathLike[str]) -> set[int] | None:
    """The code points the font maps to a glyph, or None if fontTools can't tell."""
    try:
        from fontTools.ttLib import TTFont  # matplotlib depends on fontTools
    except ImportError:
        return None
    try:
        with TTFont(str(source_path), lazy=True, fontNumber=0) as tt:
            cmap = tt.getBestCmap()
    except Exception:  # any parse trouble: fall back to the rendering test
        return None
    return set(cmap) if cmap is not None else None


def _render(font: ImageFont.FreeTypeFont, ch: str, margin: int) -> Image.Image:
    """``ch`` in 1 bpp with its origin at (margin, 2 * margin) of a square canvas."""
    img = Image.new("1", (4 * margin, 4 * margin), 0)
    draw = ImageDraw.Draw(img)
    draw.fontmode = "1"  # no antialiasing
    draw.text((margin, 2 * margin), ch, font=font, fill=1, anchor="ls")
    return img


def missing_chars(
    source_path: str | os.PathLike[str], size_px: int, chars: Iterable[str]
) -> list[str]:
    """The characters of ``chars`` that the font has no glyph for.

    Uses the font's cmap (fontTools); without fontTools, a character whose rendering and advance
    equal those of the .notdef glyph (what FreeType draws for an unmapped character) is missing.
    """
    want = normalize_chars(chars)
    cmap = _cmap(source_path)
    if cmap is not None:
        return [c for c in want if ord(c) not in cmap]
    font = _load(source_path, size_px)
    margin = 2 * size_px
    probe = "\U0010fffe"  # a noncharacter: never in a cmap, renders as .notdef

    def signature(c: str) -> tuple[bytes, float]:
        return _render(font, c, margin).tobytes(), font.getlength(c, mode="1")

    notdef = signature(probe)
    return [c for c in want if signature(c) == notdef]


def build_font(source_path: str | os.PathLike[str], size_px: int, chars: Iterable[str]) -> bytes:
    """Render ``chars`` from the TTF at ``source_path`` at ``size_px`` into a v1 font file's bytes."""
    font = _load(source_path, size_px)
    want = normalize_chars(chars)
    if len(want) > 0xFFFF:
        raise FontError(f"{len(want)} characters requested; a font holds at most 65535")
    missing = missing_chars(source_path, size_px, want)
    if missing:
        raise FontError(
            f"{Path(source_path).name} has no glyph for {len(missing)} character(s): "
            + _describe(missing)
        )

    margin = 2 * size_px
    glyphs = []  # (code point, advance, image, ink box relative to the origin or None)
    for ch in want:
        img = _render(font, ch, margin)
        box = img.getbbox()  # (left, top, right, bottom) of the ink, or None for a blank glyph
        rel = (
            None
            if box is None
            else (box[0] - margin, box[1] - 2 * margin, box[2] - margin, box[3] - 2 * margin)
        )
        advance = int(math.floor(font.getlength(ch, mode="1") + 0.5))
        if not 0 <= advance <= 255:
            raise FontError(f"advance {advance} of U+{ord(ch):04X} does not fit in a byte")
        glyphs.append((ord(ch), advance, img, rel))

    inked = [rel for _, _, _, rel in glyphs if rel is not None]
    if inked:
        top = min(r[1] for r in inked)  # rows above the baseline are negative
        bottom = max(r[3] for r in inked)
        ascent = max(0, -top)
        height = max(bottom, 0) + ascent
    else:  # nothing but blanks: fall back to the font's own metrics
        ascent, descent = font.getmetrics()
        height = ascent + descent
    width = 1
    for _, advance, _, rel in glyphs:
        width = max(width, advance)
        if rel is not None:
            width = max(width, rel[2] - min(rel[0], 0))
    stride = (width + 7) // 8
    if height > 255 or stride > 255 or ascent > 255:
        raise FontError(f"glyph cell {width}x{height} px is too large for the format")

    cps = bytearray()
    advs = bytearray()
    bitmaps = bytearray()
    for cp, advance, img, rel in glyphs:
        shift = -rel[0] if rel is not None and rel[0] < 0 else 0
        left = margin - shift
        top_row = 2 * margin - ascent
        cell = img.crop((left, top_row, left + stride * 8, top_row + height))
        # Pillow packs mode "1" rows MSB first, padded to whole bytes, 1 = set: MONO_HLSB.
        bitmaps += cell.tobytes()
        cps += struct.pack("<I", cp)
        advs.append(advance)

    header = HEADER.pack(MAGIC, VERSION, height, ascent, stride, len(glyphs), 0)
    return bytes(header + cps + advs + bitmaps)


# --- the characters the sign shows ----------------------------------------------------------

# Kinds of glyph set (``sign_chars``): Latin text fonts, CJK text fonts, number fonts.
CHAR_KINDS = ("latin", "cjk", "numbers")
PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))


def is_cjk(ch: str) -> bool:
    """True for CJK ideographs, kana, CJK punctuation and full-width forms."""
    cp = ord(ch)
    return (
        0x2E80 <= cp <= 0x9FFF
        or 0xAC00 <= cp <= 0xD7AF
        or 0xF900 <= cp <= 0xFAFF
        or 0xFE30 <= cp <= 0xFE4F
        or 0xFF00 <= cp <= 0xFFEF
        or 0x20000 <= cp <= 0x3FFFF
    )


def board_strings(profile: dict) -> list[str]:
    """The strings of a board profile that the sign shows: ``layout.site`` (a string, or a list
    such as [English, Chinese]) and ``layout.text`` (a list of strings). Nothing else in a
    profile is drawn."""
    layout = profile.get("layout") or {}
    out: list[str] = []
    for key in ("site", "text"):
        v = layout.get(key)
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            out.extend(x for x in v if isinstance(x, str))
        elif isinstance(v, dict):
            out.extend(x for x in v.values() if isinstance(x, str))
    return out


def all_board_strings(boards_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """``board_strings`` of every boards/*.json."""
    import json

    from host_tools.paths import BOARDS

    out: list[str] = []
    for path in sorted(Path(boards_dir or BOARDS).glob("*.json")):
        try:
            profile = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FontError(f"{path}: cannot read the board profile: {exc}") from None
        if isinstance(profile, dict):
            out.extend(board_strings(profile))
    return out


def sign_chars(kind: str, extra: str = "", boards_dir: str | os.PathLike[str] | None = None) -> str:
    """The characters a font of ``kind`` must have, in code point order, taken from every string
    the firmware's layouts can show (``sunprint.ui.layout.all_strings``, and the status screen's
    link texts, ``sunprint.net.publish.LINK_TEXTS``: kept out of layout, which every unit loads)
    and the board profiles, plus ``extra``:

    - "latin": printable ASCII (free text such as a fault message or a source), every character
      of the English strings, and the non-CJK characters of the boards' strings;
    - "cjk": printable ASCII, every character of the Chinese strings and of the boards' strings;
    - "numbers": digits, number punctuation and the characters of the units.
    """
    from host_tools.paths import use_firmware

    use_firmware()
    from sunprint.net.publish import LINK_TEXTS  # the status screen's Wi-Fi / MQTT text
    from sunprint.ui import layout

    links = [pair for pair in LINK_TEXTS if pair]  # (English, Chinese); "" when off
    if kind == "latin":
        text = PRINTABLE_ASCII + "".join(layout.all_strings("en"))
        text += "".join(en for en, _zh in links)
        text += "".join(c for c in "".join(all_board_strings(boards_dir)) if not is_cjk(c))
    elif kind == "cjk":
        text = PRINTABLE_ASCII + "".join(layout.all_strings("zh"))
        text += "".join(zh for _en, zh in links)
        text += "".join(all_board_strings(boards_dir))
    elif kind == "numbers":
        text = layout.DIGITS + layout.NUMBER_PUNCTUATION + "".join(layout.UNITS)
        text += "".join(layout.UNITS_LED.values())
    else:
        raise FontError(f"unknown character set {kind!r} (known: {', '.join(CHAR_KINDS)})")
    return "".join(normalize_chars(text + extra))


def check_layout_fonts(profile: dict, fonts_dir: str | os.PathLike[str] | None = None) -> None:
    """Every font a board profile's layout.fonts names must be a font file in fonts_dir
    (assets/fonts), by name: a name is never a path (a "../" would read any host file, and
    deploy would write it anywhere on the unit). UserError naming the field otherwise. Used
    by every command that loads a profile's fonts (deploy, flash, replay)."""
    from host_tools.paths import FONTS

    fonts_dir = Path(FONTS if fonts_dir is None else fonts_dir)
    known = sorted(p.name for p in fonts_dir.glob("*.bin"))
    layout = profile.get("layout") or {}
    fonts = layout.get("fonts") or {}
    for role, name in sorted(fonts.items()):
        if not isinstance(name, str) or name not in known:
            text = repr(name)
            raise UserError(
                "board %s: layout.fonts.%s: %s is not a font in %s (known: %s)"
                % (
                    profile.get("name"),
                    role,
                    text if len(text) <= 60 else text[:57] + "...",
                    fonts_dir,
                    ", ".join(known),
                )
            )


# --- reading, writing, previewing ------------------------------------------------------------


def parse_font(data: bytes) -> Font:
    """Parse and check v1 font bytes."""
    if len(data) < HEADER_SIZE:
        raise FontError("font file is shorter than its header")
    magic, version, height, ascent, stride, count, _reserved = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise FontError(f"not a sunprint font (magic {magic!r})")
    if version != VERSION:
        raise FontError(f"unsupported font version {version}")
    size = stride * height
    expected = HEADER_SIZE + 5 * count + count * size
    if len(data) != expected:
        raise FontError(f"font file is {len(data)} bytes, the header implies {expected}")
    cps = struct.unpack_from(f"<{count}I", data, HEADER_SIZE)
    if any(a >= b for a, b in zip(cps, cps[1:], strict=False)):
        raise FontError("code points are not sorted and unique")
    advs = tuple(data[HEADER_SIZE + 4 * count : HEADER_SIZE + 5 * count])
    base = HEADER_SIZE + 5 * count
    bitmaps = tuple(bytes(data[base + i * size : base + (i + 1) * size]) for i in range(count))
    return Font(height, ascent, stride, tuple(cps), advs, bitmaps)


TOOL = "sunprint fonts"  # names this command's outputs (host_tools/outfile.py)


def is_font_file(path: str | os.PathLike[str]) -> bool:
    """True for a sunprint font file: the v1 header, and the file as long as it implies (what
    `sunprint fonts` and tools/make_fonts.py write, and so may replace)."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEADER_SIZE)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return False
    if len(head) < HEADER_SIZE:
        return False
    magic, version, height, _ascent, stride, count, _reserved = HEADER.unpack_from(head)
    return (
        magic == MAGIC
        and version == VERSION
        and size == HEADER_SIZE + 5 * count + count * stride * height
    )


def write_font(out_path: str | os.PathLike[str], font_bytes: bytes, option: str = "--out") -> None:
    """Write font bytes to ``out_path`` atomically (a temporary file, then ``os.replace``).

    out_path must be new or a sunprint font (host_tools/outfile.py); anything else is refused
    (UserError naming ``option``), never overwritten."""
    parse_font(font_bytes)  # never write something the firmware would reject
    outfile.write(out_path, font_bytes, option, TOOL, is_font_file, make_parent=True)


def check_outputs(out: str, preview: str | None = None) -> None:
    """UserError unless `sunprint fonts` may write --out (and --preview): each new, or an
    earlier output of the command, and not the same file."""
    outfile.check(out, "--out", TOOL, is_font_file, make_parent=True)
    if preview is None:
        return
    same = Path(out).resolve() == Path(preview).resolve()
    if same or (Path(out).exists() and Path(preview).exists() and os.path.samefile(out, preview)):
        raise UserError("--preview %s: is the --out file; name another file" % preview)
    outfile.check(preview, "--preview", TOOL, outfile.png_from(TOOL), make_parent=True)


def preview_png(
    font_bytes: bytes, out_png: str | os.PathLike[str], option: str = "--preview"
) -> None:
    """Draw every glyph, enlarged, in a grid labelled with its code point; write a PNG.

    Its Software text names this command, which marks it as one: out_png must be new or such a
    preview (host_tools/outfile.py); anything else is refused (UserError naming ``option``)."""
    fnt = parse_font(font_bytes)
    scale = 3 if fnt.height <= 20 else 2
    label_font = _label_font()
    label_h = 14
    pad = 6
    cell_w = max(fnt.stride * 8 * scale, 52) + pad
    cell_h = fnt.height * scale + label_h + pad
    cols = 16
    rows = (fnt.count + cols - 1) // cols
    title_h = 20
    img = Image.new("RGB", (cols * cell_w + pad, title_h + rows * cell_h + pad), "white")
    draw = ImageDraw.Draw(img)
    draw.text(
        (pad, 4),
        f"{fnt.count} glyphs, cell {fnt.stride * 8}x{fnt.height} (stride {fnt.stride}), "
        f"ascent {fnt.ascent}, {len(font_bytes)} bytes; blue line = baseline, red = advance",
        fill="black",
        font=label_font,
    )
    for i in range(fnt.count):
        ox = pad + (i % cols) * cell_w
        oy = title_h + (i // cols) * cell_h
        w = fnt.stride * 8 * scale
        h = fnt.height * scale
        draw.rectangle((ox, oy, ox + w - 1, oy + h - 1), fill=(236, 236, 236))
        adv_x = ox + fnt.advances[i] * scale
        draw.rectangle((ox, oy, adv_x - 1, oy + h - 1), fill=(250, 250, 220))
        base_y = oy + fnt.ascent * scale
        draw.line((ox, base_y, ox + w - 1, base_y), fill=(120, 160, 255))
        draw.line((adv_x, oy, adv_x, oy + h - 1), fill=(230, 80, 80))
        for y in range(fnt.height):
            for x in range(fnt.stride * 8):
                if fnt.pixel(i, x, y):
                    px, py = ox + x * scale, oy + y * scale
                    draw.rectangle((px, py, px + scale - 1, py + scale - 1), fill="black")
        cp = fnt.code_points[i]
        ch = chr(cp)
        label = f"{cp:04X}" + (f" {ch}" if ch.isprintable() and ch != " " else "")
        draw.text((ox, oy + h + 1), label, fill=(60, 60, 60), font=label_font)
    buf = io.BytesIO()
    img.save(buf, format="PNG", pnginfo=outfile.png_info(TOOL))
    outfile.write(out_png, buf.getvalue(), option, TOOL, outfile.png_from(TOOL), make_parent=True)


def _label_font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A small font for the preview's labels: DejaVu Sans if matplotlib is around (it has every
    glyph the sign uses), else Pillow's built-in one."""
    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        return ImageFont.truetype(str(path), 11)
    except (ImportError, OSError):
        return ImageFont.load_default(size=11)


# --- command line ----------------------------------------------------------------------------


def add_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``sunprint fonts``; the handler is ``args.func(args) -> exit status``."""
    p = subparsers.add_parser(
        "fonts",
        help="render a TTF into a sunprint bitmap font (.bin)",
        description="Render the characters given by --chars/--chars-file from a TrueType font into "
        "a sunprint binary bitmap font (format SPF1) for the firmware.",
    )
    p.add_argument("--ttf", required=True, help="TrueType/OpenType font file")
    p.add_argument("--size", required=True, type=int, help="em size in pixels")
    p.add_argument("--chars", default="", help="characters to include")
    p.add_argument(
        "--sign-chars",
        choices=CHAR_KINDS,
        help="include every character of this kind that the sign's layouts and board profiles "
        "can show (latin: text in Latin script; cjk: Chinese text; numbers: digits and units)",
    )
    p.add_argument(
        "--chars-file",
        help="UTF-8 text file whose characters are included too (line breaks ignored)",
    )
    p.add_argument("--out", required=True, help="output .bin file: a new file or a sunprint font")
    p.add_argument(
        "--preview", help="also write a PNG preview sheet here (a new file or an earlier one)"
    )
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    """The ``fonts`` subcommand: 0 done, 1 failed to write, 2 bad input."""
    prog = "sunprint fonts"
    chars = args.chars or ""
    if args.chars_file:
        try:
            text = Path(args.chars_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(
                f"{prog}: error: cannot read --chars-file {args.chars_file}: {exc}", file=sys.stderr
            )
            return 2
        chars += text.replace("\r", "").replace("\n", "")
    if args.sign_chars:
        try:
            chars += sign_chars(args.sign_chars)
        except FontError as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 2
    if not chars:
        print(
            f"{prog}: error: give the characters with --chars, --chars-file or --sign-chars",
            file=sys.stderr,
        )
        return 2
    try:
        check_outputs(args.out, args.preview)  # before any work; checked again at the write
        data = build_font(args.ttf, args.size, chars)
        write_font(args.out, data)
        if args.preview:
            preview_png(data, args.preview)
    except (FontError, UserError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{prog}: error: cannot write: {exc}", file=sys.stderr)
        return 1
    fnt = parse_font(data)
    print(
        f"wrote {args.out}: {fnt.count} glyphs, {len(data)} bytes "
        f"(cell {fnt.stride * 8}x{fnt.height}, ascent {fnt.ascent})"
        + (f"; preview {args.preview}" if args.preview else "")
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m host_tools.fonts ...``: the same as ``sunprint fonts ...``."""
    parser = argparse.ArgumentParser(prog="sunprint")
    sub = parser.add_subparsers(dest="command", required=True)
    add_cli(sub)
    args = parser.parse_args(["fonts", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

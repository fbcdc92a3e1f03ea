"""host_tools/fonts.py and tools/make_fonts.py: the TTF -> SPF1 bitmap font pipeline (CPython)."""

import importlib.util
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from host_tools import cli
from host_tools.errors import UserError
from host_tools.fonts import FontError, build_font, parse_font, preview_png, write_font

ROOT = Path(__file__).resolve().parent.parent.parent


def _load_make_fonts():
    spec = importlib.util.spec_from_file_location("make_fonts", ROOT / "tools" / "make_fonts.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


make_fonts = _load_make_fonts()
SANS = make_fonts.ttf_path("DejaVuSans.ttf")


def test_build_twice_gives_identical_bytes():
    chars = "0123456789.kWh\u00b0"
    assert build_font(SANS, 13, chars) == build_font(SANS, 13, chars)


@pytest.mark.parametrize("name", sorted(make_fonts.FONTS))
def test_committed_fonts_are_reproduced_exactly(name):
    committed = (ROOT / "assets" / "fonts" / f"{name}.bin").read_bytes()
    assert make_fonts.build(name) == committed, (
        f"assets/fonts/{name}.bin differs from what tools/make_fonts.py writes; run `make fonts`"
    )


def test_header_fields_and_code_point_order():
    data = build_font(SANS, 12, "zA0 \u2082\u00b7\u00b0A")  # duplicates and disorder on purpose
    magic, version, height, ascent, stride, count, reserved = struct.unpack_from("<4sBBBBHH", data)
    assert (magic, version, reserved) == (b"SPF1", 1, 0)
    want = sorted({ord(c) for c in "zA0 \u2082\u00b7\u00b0"})
    assert count == len(want)
    assert list(struct.unpack_from(f"<{count}I", data, 12)) == want
    assert 0 < ascent <= height  # no descenders in this set: the cell ends at the baseline
    assert len(data) == 12 + 5 * count + count * stride * height
    fnt = parse_font(data)
    adv = dict(zip(fnt.code_points, fnt.advances, strict=True))
    assert adv[ord(" ")] > 0 and adv[ord("A")] > adv[ord(" ")]
    space = fnt.code_points.index(ord(" "))
    assert fnt.bitmaps[space] == bytes(stride * height)  # blank
    # stride is the smallest that holds every advance and every glyph's ink
    ink_w = max(
        x + 1
        for i in range(count)
        for y in range(height)
        for x in range(stride * 8)
        if fnt.pixel(i, x, y)
    )
    assert stride == (max(max(fnt.advances), ink_w) + 7) // 8


def test_glyphs_share_a_baseline():
    fnt = parse_font(build_font(SANS, 12, "HIxgp_"))

    def rows(ch):
        i = fnt.code_points.index(ord(ch))
        return [
            y for y in range(fnt.height) if any(fnt.pixel(i, x, y) for x in range(fnt.stride * 8))
        ]

    # Letters sitting on the baseline end on row ascent - 1; descenders go below it.
    assert rows("H")[-1] == rows("I")[-1] == rows("x")[-1] == fnt.ascent - 1
    assert rows("g")[-1] >= fnt.ascent and rows("p")[-1] >= fnt.ascent
    assert rows("H")[0] < rows("x")[0]


def test_rendering_is_one_bit_without_antialiasing():
    # A bold digit has solid runs: every byte of a 1-bpp bitmap, no grey levels to lose.
    fnt = parse_font(build_font(make_fonts.ttf_path("DejaVuSans-Bold.ttf"), 24, "8"))
    ink = sum(bin(b).count("1") for b in fnt.bitmaps[0])
    assert 60 < ink < fnt.stride * 8 * fnt.height


def test_missing_glyphs_are_all_listed():
    with pytest.raises(FontError) as exc:
        build_font(SANS, 12, "CO\u2082 \u78b3\u592a")
    msg = str(exc.value)
    assert "\n" not in msg
    assert "U+78B3" in msg and "U+592A" in msg and "2 character" in msg
    assert "U+2082" not in msg
    assert isinstance(exc.value, UserError)


def test_missing_glyphs_without_fonttools(monkeypatch):
    from host_tools import fonts

    monkeypatch.setattr(fonts, "_cmap", lambda path: None)  # the .notdef comparison
    assert fonts.missing_chars(SANS, 12, "A\u78b3 \u592a\u00b0") == ["\u592a", "\u78b3"]


@pytest.mark.parametrize(
    ("size", "chars", "fragment"),
    [
        (0, "A", "out of range"),
        (500, "A", "out of range"),
        (12, "", "no characters"),
        (12, "A\n", "control"),
    ],
)
def test_bad_input_raises_font_error(size, chars, fragment):
    with pytest.raises(FontError, match=fragment):
        build_font(SANS, size, chars)


def test_not_a_font_file(tmp_path):
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"not a font at all")
    with pytest.raises(FontError, match="cannot read"):
        build_font(bogus, 12, "A")


def test_parse_rejects_damaged_files():
    data = build_font(SANS, 12, "AB")
    for bad in (b"XXXX" + data[4:], data[:-1], data[:4] + b"\x02" + data[5:]):
        with pytest.raises(FontError):
            parse_font(bad)


def test_write_is_atomic_and_preview_is_a_png(tmp_path):
    data = build_font(SANS, 12, "0123456789 kWh")
    out = tmp_path / "sub" / "f.bin"
    write_font(out, data)
    assert out.read_bytes() == data
    assert [p.name for p in out.parent.iterdir()] == ["f.bin"]  # no temporary left behind
    with pytest.raises(FontError):
        write_font(out, data[:-1])
    assert out.read_bytes() == data  # a bad write leaves the old file alone
    png = tmp_path / "f.png"
    preview_png(data, png)
    with Image.open(png) as img:
        assert img.format == "PNG" and img.width > 200 and img.height > 40


def test_cli_writes_font_and_preview(tmp_path, capsys):
    out, png = tmp_path / "d.bin", tmp_path / "d.png"
    chars_file = tmp_path / "chars.txt"
    chars_file.write_text("kWh\n\u00b0\n", encoding="utf-8")
    argv = ["fonts", "--ttf", str(SANS), "--size", "12", "--chars", "0123456789."]
    argv += ["--chars-file", str(chars_file), "--out", str(out), "--preview", str(png)]
    assert cli.main(argv) == 0
    fnt = parse_font(out.read_bytes())
    assert fnt.count == 15 and png.is_file()
    stdout = capsys.readouterr().out
    assert "15 glyphs" in stdout and f"{out.stat().st_size} bytes" in stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--ttf", "/no/such/font.ttf", "--size", "12", "--chars", "A"], "no such font file"),
        (["--ttf", str(SANS), "--size", "1", "--chars", "A"], "out of range"),
        (["--ttf", str(SANS), "--size", "12", "--chars", "A\u78b3"], "U+78B3"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, args, fragment):
    out = tmp_path / "x.bin"
    assert cli.main(["fonts", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sunprint fonts: error: ") and fragment in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_cli_as_a_process_missing_ttf(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "host_tools.cli", "fonts", "--ttf", str(tmp_path / "none.ttf")]
        + ["--size", "12", "--chars", "A", "--out", str(tmp_path / "x.bin")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no such font file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_make_fonts_charset_has_the_sign_characters():
    assert set("0123456789kWh.%-") <= set(make_fonts.CHARSET)
    assert {"\u00b0", "\u2082", "\u00b7"} <= set(make_fonts.CHARSET)
    assert len(set(make_fonts.CHARSET)) == 95 + 3


@pytest.mark.parametrize("name", sorted(make_fonts.FONTS))
def test_no_ink_is_lost(name):
    # Every glyph holds all the pixels FreeType draws for it, including those of glyphs with a
    # negative left side bearing (shifted right into the cell) or an overhang past the advance.
    from host_tools import fonts

    ttf, size, chars = make_fonts.FONTS[name]
    font = fonts._load(make_fonts.ttf_path(ttf), size)
    fnt = parse_font(make_fonts.build(name))
    for i, cp in enumerate(fnt.code_points):
        drawn = sum(bin(b).count("1") for b in fonts._render(font, chr(cp), 2 * size).tobytes())
        stored = sum(bin(b).count("1") for b in fnt.bitmaps[i])
        assert stored == drawn, chr(cp)


# --- the glyph sets come from what the sign shows -------------------------------------------


def _layout():
    from host_tools.paths import use_firmware

    use_firmware()
    from sunprint.ui import layout

    return layout


def _chars(name):
    return {chr(cp) for cp in parse_font(make_fonts.build(name)).code_points}


def test_fonts_hold_every_character_of_their_language():
    layout = _layout()
    en = set("".join(layout.all_strings("en")))
    zh = set("".join(layout.all_strings("zh")))
    assert {"\u5149", "\u4f0f", "\u68f5"} <= zh  # 光 伏 棵
    for name in ("sans12", "sans16", "sans24b"):
        assert en <= _chars(name), (name, sorted(en - _chars(name)))
    for name in ("cjk16", "cjk24"):
        assert zh <= _chars(name), (name, sorted(zh - _chars(name)))
    numbers = set(layout.DIGITS + layout.NUMBER_PUNCTUATION + "".join(layout.UNITS))
    assert numbers <= _chars("num48b")
    assert not {c for c in _chars("num48b") if c.isalpha()} - set("".join(layout.UNITS))


def test_every_panel_has_fonts_for_all_its_text():
    layout = _layout()
    en = set("".join(layout.all_strings("en")))
    zh = set("".join(layout.all_strings("zh")))
    for (w, h), (roles, _rotation, mode) in layout.PANELS.items():
        if mode == layout.NO_WORDS:
            assert roles == {}
            continue
        files = set(roles.values())
        assert all((ROOT / "assets" / "fonts" / f).is_file() for f in files), files
        assert en <= _chars(roles["small"].removesuffix(".bin")), (w, h)
        assert zh <= _chars(roles["zh"].removesuffix(".bin")), (w, h)


def test_number_fonts_have_digits_of_one_advance():
    for name in ("sans12", "sans16", "sans24b", "num48b"):
        fnt = parse_font(make_fonts.build(name))
        adv = dict(zip(fnt.code_points, fnt.advances, strict=True))
        assert len({adv[ord(d)] for d in "0123456789"}) == 1, name


def test_board_strings_join_the_glyph_sets(tmp_path):
    from host_tools.fonts import board_strings, sign_chars

    board = {"layout": {"site": ["Xiaolan Town \u00e9", "\u5c0f\u6984\u9547"], "fonts": {}}}
    assert board_strings(board) == ["Xiaolan Town \u00e9", "\u5c0f\u6984\u9547"]
    assert board_strings({"name": "x", "description": "not shown"}) == []
    (tmp_path / "b.json").write_text(__import__("json").dumps(board), encoding="utf-8")
    latin = sign_chars("latin", boards_dir=tmp_path)
    cjk = sign_chars("cjk", boards_dir=tmp_path)
    assert "\u00e9" in latin and "\u6984" not in latin  # é for the Latin font, 榄 not
    assert "\u6984" in cjk and "\u00e9" in cjk
    assert "\u6984" not in sign_chars("cjk")  # the real boards have no site name
    # a Chinese site name the source lacks is an error that names it
    with pytest.raises(FontError, match="U\\+2082"):
        build_font(make_fonts.ttf_path(make_fonts.NOTO_SC), 16, cjk + "\u2082")


def test_sign_chars_rejects_an_unknown_kind():
    from host_tools.fonts import sign_chars

    with pytest.raises(FontError, match="unknown character set"):
        sign_chars("klingon")


def test_cli_sign_chars(tmp_path, capsys):
    out = tmp_path / "n.bin"
    argv = ["fonts", "--ttf", str(make_fonts.ttf_path("DejaVuSans-Bold.ttf")), "--size", "20"]
    assert cli.main([*argv, "--sign-chars", "numbers", "--out", str(out)]) == 0
    fnt = parse_font(out.read_bytes())
    assert {chr(c) for c in fnt.code_points} == set(make_fonts.sign_chars("numbers"))
    capsys.readouterr()

"""The status screen's Wi-Fi / MQTT link text in both languages (issue 17): every link state on
every e-paper panel, in every language it shows, pixel for pixel against the frames
tools/make_link_golden.py keeps in tests/golden/status-link/; the Chinese screens show Chinese
link text, drawn with glyphs the committed fonts have."""

import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from make_link_golden import GOLDEN, link_frames, link_states  # noqa: E402

from host_tools.paths import FONTS, use_firmware  # noqa: E402

FRAMES = link_frames()


def test_every_frame_has_its_golden_one_and_no_other():
    assert sorted(FRAMES) == sorted(p.name for p in GOLDEN.glob("*.png"))


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_the_status_screen_with_a_link_state_matches(name):
    want = Image.open(GOLDEN / name).convert("RGB")
    got = FRAMES[name].convert("RGB")
    assert got.size == want.size
    assert ImageChops.difference(got, want).getbbox() is None, name


def test_each_state_has_its_own_text_in_each_language():
    texts = [link for _state, link in link_states()]
    assert all(type(t) is tuple and len(t) == 2 for t in texts), texts
    en = [t[0] for t in texts]
    zh = [t[1] for t in texts]
    assert len(set(en)) == len(en) and len(set(zh)) == len(zh)
    assert all(any("\u4e00" <= c <= "\u9fff" for c in z) for z in zh), zh  # Chinese words
    assert all(c < "\x7f" for e in en for c in e), en


def test_the_chinese_fonts_have_every_glyph_of_the_link_texts():
    use_firmware()
    from sunprint.ui.font import BitmapFont

    chars = {c for _s, link in link_states() for c in link[1]}
    for name in ("cjk16.bin", "cjk24.bin"):
        with open(FONTS / name, "rb") as f:
            font = BitmapFont(f)
            missing = [c for c in sorted(chars) if font.index(ord(c)) < 0]
        assert missing == [], (name, missing)


def test_the_zh_screens_differ_from_the_en_ones_where_the_link_is():
    for name in FRAMES:
        if "-zh-" in name:
            en = FRAMES[name.replace("-zh-", "-en-")]
            assert ImageChops.difference(en.convert("RGB"), FRAMES[name].convert("RGB")).getbbox()

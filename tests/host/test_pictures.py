"""host_tools.pictures: the run's plot, animated GIF and contact sheet."""

import datetime as dt
import os
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from host_tools import pictures
from host_tools.paths import LOGS, use_firmware

pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
T0 = int(dt.datetime(2024, 10, 15, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())


def panel_frames(tmp_path, n, size=(296, 128), mode="1"):
    """n distinct panel-like frames: random dots and a frame number drawn in."""
    rng = random.Random(5)
    paths = []
    for i in range(n):
        im = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(im)
        for _ in range(size[0] * size[1] // 20):
            colour = rng.choice([(0, 0, 0), (200, 0, 0), (255, 160, 0)])
            draw.point((rng.randrange(size[0]), rng.randrange(size[1])), colour)
        draw.text((2, 0), "frame %d" % i, (0, 0, 0))
        path = tmp_path / ("%04d.png" % i)
        (im.convert("1") if mode == "1" else im).save(path)
        paths.append(path)
    return paths


def gif_images(path):
    with Image.open(path) as gif:
        out = []
        for k in range(gif.n_frames):
            gif.seek(k)
            out.append(gif.convert("RGB"))
        return out


def scaled(path, scale):
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    return rgb.resize((rgb.width * scale, rgb.height * scale), Image.Resampling.NEAREST)


def same_pixels(a, b):
    return a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


def test_gif_has_every_frame_scaled_2x_with_a_caption_and_a_sheet(tmp_path):
    frames = panel_frames(tmp_path, 6)
    labels = ["%02d:00:00 %s" % (h, "full" if h == 0 else "partial") for h in range(6)]
    info = pictures.write_animation(
        frames, tmp_path / "run.gif", tmp_path / "sheet.png", labels=labels
    )
    images = gif_images(tmp_path / "run.gif")
    assert len(images) == 6 == info["gif_frames"]
    box = pictures.gif_frame_box((296, 128), 2)
    assert box == (0, 0, 592, 256)
    for k in (0, 3, 5):  # later frames are stored as deltas: they must rebuild exactly too
        assert same_pixels(images[k].crop(box), scaled(frames[k], 2)), k
    caption = np.asarray(images[0].crop((0, 257, 592, 256 + pictures.CAPTION_H)))
    assert (caption < 128).any()  # text in the caption strip
    assert not same_pixels(images[1].crop((0, 257, 592, 278)), images[0].crop((0, 257, 592, 278)))

    with open(tmp_path / "sheet.png", "rb") as f:
        assert f.read(8) == PNG_MAGIC
    with Image.open(tmp_path / "sheet.png") as sheet:
        sheet = sheet.convert("RGB")
    assert sheet.width <= pictures.SHEET_MAX_W and info["sheet_frames"] == 6
    x, y = pictures.SHEET_PAD, pictures.SHEET_HEAD_H + pictures.SHEET_PAD
    assert same_pixels(sheet.crop((x, y, x + 296, y + 128)), scaled(frames[0], 1))
    assert sorted(os.listdir(tmp_path))[-2:] == ["run.gif", "sheet.png"]  # no temp files


def test_many_frames_are_thinned_first_and_last_kept(tmp_path):
    frames = panel_frames(tmp_path, 11, mode="RGB")
    info = pictures.write_animation(
        frames, tmp_path / "a.gif", tmp_path / "a.png", max_frames=4, sheet_frames=3
    )
    images = gif_images(tmp_path / "a.gif")
    assert len(images) == 4 and info == {**info, "frames": 11, "sheet_frames": 3}
    box = pictures.gif_frame_box((296, 128))
    assert same_pixels(images[0].crop(box), scaled(frames[0], 2))
    assert same_pixels(images[-1].crop(box), scaled(frames[10], 2))  # 3-colour, exact


def test_tiny_led_frame_is_centred_on_a_readable_strip(tmp_path):
    frames = panel_frames(tmp_path, 2, size=(32, 8), mode="RGB")
    info = pictures.write_animation(frames, tmp_path / "led.gif", tmp_path / "led.png")
    images = gif_images(tmp_path / "led.gif")
    box = pictures.gif_frame_box((32, 8), 2)
    assert images[0].width == pictures.MIN_GIF_W and box[0] > 0
    assert same_pixels(images[0].crop(box), scaled(frames[0], 2))
    assert info["sheet_thumb_scale"] * 32 >= pictures.THUMB_MIN_W


def test_frames_of_different_sizes_are_refused_and_nothing_is_written(tmp_path):
    frames = panel_frames(tmp_path, 1) + panel_frames(tmp_path / "..", 1, size=(64, 8))
    with pytest.raises(ValueError):
        pictures.write_animation(frames, tmp_path / "x.gif", tmp_path / "x.png")
    assert not (tmp_path / "x.gif").exists() and not (tmp_path / "x.png").exists()
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")]


def bundled_day():
    use_firmware()
    from sunprint.samplelog import read_samples

    with open(LOGS / "zhongshan-2024-10-15.csv", encoding="utf-8", newline="") as f:
        rows = list(read_samples(f))
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


def colour_pixels(path, hex_colour):
    rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB")).astype(int)
    return int(np.count_nonzero(np.abs(a - rgb).sum(axis=2) <= 30))


def test_plot_is_a_png_of_the_expected_size_with_its_events(tmp_path):
    t, p = bundled_day()
    energy = np.concatenate(([0.0], np.cumsum((p[1:] + p[:-1]) * 5.0))) / 3.6e6
    events = [(T0 + 300 * k, "full" if k % 30 == 0 else "partial", "") for k in range(288)]
    events += [
        (T0 + 11 * 3600, "cut", "power cut (lost 0.4 Wh)"),
        (T0 + 14 * 3600, "dropout", "dropout 14:00-14:20"),
        (T0 + 15 * 3600, "clock_jump", "clock +120 s"),
        (T0 + 16 * 3600, "meter_swap", "meter swap"),
        (T0 + 12 * 3600, "bus_errors", "I2C errors"),
        (T0 + 13 * 3600, "fault", "panel timeout"),
    ]
    with_events = tmp_path / "plot.png"
    pictures.write_plot(with_events, t, p, energy, events, title="Zhongshan")
    with open(with_events, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    with Image.open(with_events) as im:
        assert im.size == pictures.PLOT_SIZE_PX
    bare = tmp_path / "bare.png"
    pictures.write_plot(bare, t, p, energy, [])
    with Image.open(bare) as im:
        assert im.size == pictures.PLOT_SIZE_PX
    for kind in ("dropout", "meter_swap", "clock_jump"):  # each fault kind in its colour
        colour = pictures.FAULT_STYLE[kind][0]
        assert colour_pixels(with_events, colour) > 150 > colour_pixels(bare, colour), kind


def test_long_log_with_a_gap_is_binned_and_the_gap_shaded(tmp_path):
    # 40 days at 60 s (57,600 rows > MAX_POINTS) with a missing afternoon
    t = T0 + 60 * np.arange(40 * 1440)
    hour = (t - T0) % 86400 / 3600.0
    p = np.clip(np.sin(np.pi * (hour - 6) / 12), 0, None) * 5000.0
    keep = (t < T0 + 3 * 86400 + 12 * 3600) | (t >= T0 + 3 * 86400 + 17 * 3600)
    out = tmp_path / "long.png"
    pictures.write_plot(out, t[keep], p[keep], None, [(T0 + 86400, "cut", "cut")])
    with Image.open(out) as im:
        assert im.size == pictures.PLOT_SIZE_PX
    assert colour_pixels(out, "#d0d0d0") > 0 or colour_pixels(out, "#e2e2e2") > 0


def test_bad_plot_input_is_refused_and_nothing_is_written(tmp_path):
    t, p = np.array([T0, T0 + 10, T0 + 20]), np.array([0.0, 1.0, 2.0])
    with pytest.raises(ValueError):
        pictures.write_plot(tmp_path / "x.png", t, p, None, [(T0, "explosion", "")])
    with pytest.raises(ValueError):
        pictures.write_plot(tmp_path / "x.png", t[::-1], p, None, [])
    assert os.listdir(tmp_path) == []

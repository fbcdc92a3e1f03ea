import gc

from sunprint.ui.diff import (
    MONO_HLSB,
    MONO_VLSB,
    changed_rect,
    changed_rects,
    new_boxes,
    remember,
)
from sunprint.ui.sums import changed_box, frame_sums, new_sums


def _size(w, h, fmt):
    return w * ((h + 7) // 8) if fmt == MONO_VLSB else ((w + 7) // 8) * h


def _set(buf, w, fmt, x, y):
    if fmt == MONO_VLSB:
        buf[(y >> 3) * w + x] |= 1 << (y & 7)
    else:
        buf[y * ((w + 7) >> 3) + (x >> 3)] |= 0x80 >> (x & 7)


def _get(buf, w, fmt, x, y):
    if fmt == MONO_VLSB:
        return (buf[(y >> 3) * w + x] >> (y & 7)) & 1
    return (buf[y * ((w + 7) >> 3) + (x >> 3)] >> (7 - (x & 7))) & 1


def _fill(buf, w, fmt, x, y, fw, fh):
    for yy in range(y, y + fh):
        for xx in range(x, x + fw):
            _set(buf, w, fmt, xx, yy)


def _one_pixel(w, h, fmt, x, y):
    prev = bytearray(_size(w, h, fmt))
    cur = bytearray(prev)
    _set(cur, w, fmt, x, y)
    return changed_rect(prev, cur, w, h, fmt)


def test_single_pixels_at_corners_and_edges_vlsb():
    # SSD1680 2.9" landscape: y in whole pages of 8, x to the pixel.
    w, h = 296, 128
    assert _one_pixel(w, h, MONO_VLSB, 0, 0) == (0, 0, 1, 8)
    assert _one_pixel(w, h, MONO_VLSB, 295, 0) == (295, 0, 1, 8)
    assert _one_pixel(w, h, MONO_VLSB, 0, 127) == (0, 120, 1, 8)
    assert _one_pixel(w, h, MONO_VLSB, 295, 127) == (295, 120, 1, 8)
    assert _one_pixel(w, h, MONO_VLSB, 150, 63) == (150, 56, 1, 8)
    assert _one_pixel(w, h, MONO_VLSB, 150, 64) == (150, 64, 1, 8)
    # A height that is not a multiple of 8 (2.13" 250 x 122): the last page ends at the edge.
    assert _one_pixel(250, 122, MONO_VLSB, 249, 121) == (249, 120, 1, 2)


def test_single_pixels_at_corners_and_edges_hlsb():
    # SSD1683 4.2" 400 x 300: x in whole bytes of 8, y to the row.
    w, h = 400, 300
    assert _one_pixel(w, h, MONO_HLSB, 0, 0) == (0, 0, 8, 1)
    assert _one_pixel(w, h, MONO_HLSB, 399, 0) == (392, 0, 8, 1)
    assert _one_pixel(w, h, MONO_HLSB, 0, 299) == (0, 299, 8, 1)
    assert _one_pixel(w, h, MONO_HLSB, 399, 299) == (392, 299, 8, 1)
    assert _one_pixel(w, h, MONO_HLSB, 203, 150) == (200, 150, 8, 1)
    # A width that is not a multiple of 8: the last byte's box ends at the edge.
    assert _one_pixel(250, 122, MONO_HLSB, 249, 121) == (248, 121, 2, 1)
    assert _one_pixel(250, 122, MONO_HLSB, 247, 0) == (240, 0, 8, 1)


def test_bounding_box_of_two_changes_and_alignment():
    for fmt in (MONO_VLSB, MONO_HLSB):
        prev = bytearray(_size(296, 128, fmt))
        cur = bytearray(prev)
        _set(cur, 296, fmt, 13, 21)
        _set(cur, 296, fmt, 250, 99)
        x, y, w, h = changed_rect(prev, cur, 296, 128, fmt)
        if fmt == MONO_VLSB:
            assert (x, y, w, h) == (13, 16, 238, 88)
            assert y % 8 == 0 and h % 8 == 0
        else:
            assert (x, y, w, h) == (8, 21, 248, 79)
            assert x % 8 == 0 and w % 8 == 0


def test_identical_frames_give_none_and_zero_boxes():
    out = new_boxes(4)
    for fmt in (MONO_VLSB, MONO_HLSB):
        prev = bytearray(_size(296, 128, fmt))
        for i in range(len(prev)):
            prev[i] = (i * 37) & 0xFF
        cur = bytearray(prev)
        assert changed_rect(prev, cur, 296, 128, fmt) is None
        assert changed_rect(prev, cur, 296, 128, fmt, out) is None
        assert changed_rects(prev, cur, 296, 128, fmt, out) == 0


def test_changed_rect_into_an_array():
    out = new_boxes(1)
    prev = bytearray(_size(296, 128, MONO_VLSB))
    cur = bytearray(prev)
    _set(cur, 296, MONO_VLSB, 100, 40)
    assert changed_rect(prev, cur, 296, 128, MONO_VLSB, out) is out
    assert list(out) == [100, 40, 1, 8]


def test_two_distant_numbers_give_two_boxes():
    # The 2.9" main screen: "power now" (top right) and "CO2" (bottom right) change.
    for fmt in (MONO_VLSB, MONO_HLSB):
        prev = bytearray(_size(296, 128, fmt))
        cur = bytearray(prev)
        _fill(cur, 296, fmt, 200, 6, 60, 26)
        _fill(cur, 296, fmt, 180, 90, 80, 26)
        out = new_boxes(4)
        n = changed_rects(prev, cur, 296, 128, fmt, out)
        assert n == 2
        boxes = [tuple(out[4 * k : 4 * k + 4]) for k in range(n)]
        if fmt == MONO_VLSB:
            assert boxes == [(200, 0, 60, 32), (180, 88, 80, 32)]
        else:
            assert boxes == [(200, 6, 64, 26), (176, 90, 88, 26)]
        assert changed_rect(prev, cur, 296, 128, fmt)[3] > 100  # one box would span it all


def test_close_changes_merge_and_far_ones_do_not():
    for fmt in (MONO_VLSB, MONO_HLSB):
        out = new_boxes(4)
        prev = bytearray(_size(296, 128, fmt))
        cur = bytearray(prev)
        _fill(cur, 296, fmt, 40, 40, 10, 10)
        _fill(cur, 296, fmt, 60, 40, 10, 10)  # 10 px to the right: within gap=16
        assert changed_rects(prev, cur, 296, 128, fmt, out, 4, 16) == 1
        _fill(cur, 296, fmt, 120, 40, 10, 10)  # 50 px further: its own box
        assert changed_rects(prev, cur, 296, 128, fmt, out, 4, 16) == 2
        assert changed_rects(prev, cur, 296, 128, fmt, out, 4, 64) == 1
        # Diagonal neighbours merge when both gaps are within `gap`.
        cur2 = bytearray(prev)
        _fill(cur2, 296, fmt, 8, 8, 8, 8)
        _fill(cur2, 296, fmt, 24, 24, 8, 8)
        assert changed_rects(prev, cur2, 296, 128, fmt, out, 4, 16) == 1
        assert changed_rects(prev, cur2, 296, 128, fmt, out, 4, 0) == 2


def test_more_clusters_than_boxes_merge_the_closest():
    for fmt in (MONO_VLSB, MONO_HLSB):
        out = new_boxes(2)
        prev = bytearray(_size(296, 128, fmt))
        cur = bytearray(prev)
        _fill(cur, 296, fmt, 0, 0, 8, 8)
        _fill(cur, 296, fmt, 40, 0, 8, 8)  # near the first: these two merge
        _fill(cur, 296, fmt, 280, 112, 8, 8)
        n = changed_rects(prev, cur, 296, 128, fmt, out, 2, 4)
        assert n == 2
        assert list(out) == [0, 0, 48, 8, 280, 112, 8, 8]


def _check_boxes(prev, cur, w, h, fmt, out, n, max_boxes, gap):
    assert 1 <= n <= max_boxes
    for k in range(n):
        x, y, bw, bh = out[4 * k], out[4 * k + 1], out[4 * k + 2], out[4 * k + 3]
        assert bw > 0 and bh > 0 and x + bw <= w and y + bh <= h
        if fmt == MONO_VLSB:
            assert y % 8 == 0 and (bh % 8 == 0 or y + bh == h)
        else:
            assert x % 8 == 0 and (bw % 8 == 0 or x + bw == w)
        for j in range(k):
            x2, y2, w2, h2 = out[4 * j], out[4 * j + 1], out[4 * j + 2], out[4 * j + 3]
            apart_x = x2 - (x + bw) > gap or x - (x2 + w2) > gap
            apart_y = y2 - (y + bh) > gap or y - (y2 + h2) > gap
            assert apart_x or apart_y  # disjoint, and further apart than gap
    for y in range(h):
        for x in range(w):
            if _get(prev, w, fmt, x, y) != _get(cur, w, fmt, x, y):
                inside = False
                for k in range(n):
                    bx, by = out[4 * k], out[4 * k + 1]
                    if bx <= x < bx + out[4 * k + 2] and by <= y < by + out[4 * k + 3]:
                        inside = True
                assert inside, (x, y)


def test_every_changed_pixel_is_covered_random_frames():
    seed = 12345
    out = new_boxes(3)
    for size in ((40, 24), (37, 21), (16, 8)):
        w, h = size
        for fmt in (MONO_VLSB, MONO_HLSB):
            for _ in range(25):
                prev = bytearray(_size(w, h, fmt))
                cur = bytearray(prev)
                seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
                blobs = 1 + seed % 6
                for _ in range(blobs):
                    seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
                    x, y = (seed >> 4) % w, (seed >> 12) % h
                    _fill(cur, w, fmt, x, y, min(1 + seed % 5, w - x), min(1 + seed % 3, h - y))
                gap = seed % 9
                n = changed_rects(prev, cur, w, h, fmt, out, 3, gap)
                _check_boxes(prev, cur, w, h, fmt, out, n, 3, gap)
                box = changed_rect(prev, cur, w, h, fmt)
                assert box is not None
                _check_boxes(prev, cur, w, h, fmt, box, 1, 1, 0)


def test_bad_arguments_raise():
    prev = bytearray(_size(296, 128, MONO_VLSB))
    for args in (
        (prev, prev, 296, 128, 4),  # MONO_HMSB is not supported
        (prev, bytearray(10), 296, 128, MONO_VLSB),
        (prev, prev, 400, 300, MONO_HLSB),
    ):
        try:
            changed_rect(*args)
        except ValueError:
            pass
        else:
            raise AssertionError(args[2:])
    try:
        changed_rects(prev, prev, 296, 128, MONO_VLSB, new_boxes(1), 2)
    except ValueError:
        pass
    else:
        raise AssertionError("out too small")


def test_remember_copies_the_frame():
    prev = bytearray(4736)
    cur = bytearray(4736)
    _fill(cur, 296, MONO_VLSB, 10, 10, 30, 30)
    remember(prev, cur)
    assert prev == cur and changed_rect(prev, cur, 296, 128, MONO_VLSB) is None
    try:
        remember(prev, bytearray(10))
    except ValueError:
        pass
    else:
        raise AssertionError("sizes differ")
    assert len(prev) == 4736


def _diffs(prev, cur, out, n):
    # Locals only: a new global would count as allocation.
    k = 0
    for _ in range(n):
        k += changed_rects(prev, cur, 296, 128, MONO_VLSB, out, 4, 16)
        k += changed_rects(prev, cur, 296, 128, MONO_HLSB, out, 2, 8)
        if changed_rect(prev, cur, 296, 128, MONO_VLSB, out) is not None:
            k += 1
    return k


def test_diff_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return  # CPython: no allocation counter
    prev = bytearray(4736)
    cur = bytearray(4736)
    for x0 in (0, 60, 120, 180, 240):  # five clusters: merges when full
        _fill(cur, 296, MONO_VLSB, x0, x0 // 3, 20, 20)
    out = new_boxes(4)
    _diffs(prev, cur, out, 1)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        k = _diffs(prev, cur, out, 5)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        remember(prev, cur)
        copied = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert k > 0
    assert used == 0, used
    assert copied == 0, copied


def _sums_box(prev, cur, w, h, fmt):
    a = new_sums(w, h, fmt)
    b = new_sums(w, h, fmt)
    frame_sums(prev, w, h, fmt, a)
    frame_sums(cur, w, h, fmt, b)
    box = changed_box(a, b, w, h, fmt, new_boxes(1))
    return None if box is None else tuple(box[0:4])


def test_the_checksums_give_changed_rects_box():
    # The app keeps the frame on the panel as line and column checksums (no second frame):
    # the box from them is changed_rect's, for pictures drawn over pictures, blank frames,
    # one pixel, the corners, every format and odd sizes.
    x = 99991
    for w, h, fmt in ((296, 128, MONO_VLSB), (200, 120, MONO_HLSB), (61, 13, MONO_VLSB),
                      (45, 17, MONO_HLSB)):  # fmt: skip
        size = _size(w, h, fmt)
        blank = bytearray(size)
        assert _sums_box(blank, blank, w, h, fmt) is None
        for corner in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
            cur = bytearray(size)
            _set(cur, w, fmt, corner[0], corner[1])
            assert _sums_box(blank, cur, w, h, fmt) == changed_rect(blank, cur, w, h, fmt)
        prev = bytearray(size)
        for rnd in range(6):
            cur = bytearray(prev)
            for _ in range(1 + rnd * 3):  # text-like blocks drawn and erased
                x = (x * 1103515245 + 12345) & 0x7FFFFFF
                bx = x % w
                by = (x >> 9) % h
                bw = 1 + (x >> 3) % 12
                bh = 1 + (x >> 5) % 9
                for yy in range(by, min(by + bh, h)):
                    for xx in range(bx, min(bx + bw, w)):
                        if (xx + yy + rnd) % 3:
                            _set(cur, w, fmt, xx, yy)
            want = changed_rect(prev, cur, w, h, fmt)
            assert _sums_box(prev, cur, w, h, fmt) == want, (w, h, fmt, rnd)
            prev = cur
        # a changed byte anywhere: one pixel cleared in the last picture
        cur = bytearray(prev)
        for i in range(size):
            if cur[i]:
                cur[i] &= cur[i] - 1
                break
        assert _sums_box(prev, cur, w, h, fmt) == changed_rect(prev, cur, w, h, fmt)


def test_a_checksum_that_missed_a_change_widens_the_box():
    # lines changed, no column (or the reverse): the box spans the frame in that direction
    w, h, fmt = 400, 300, MONO_HLSB
    a = new_sums(w, h, fmt)
    b = new_sums(w, h, fmt)
    b[7] = 1  # row 7 only
    assert tuple(changed_box(a, b, w, h, fmt, new_boxes(1))[0:4]) == (0, 7, 400, 1)
    b[7] = 0
    b[h + 3] = 1  # byte column 3 only
    assert tuple(changed_box(a, b, w, h, fmt, new_boxes(1))[0:4]) == (24, 0, 8, 300)


def test_the_checksums_allocate_nothing():
    w, h, fmt = 400, 300, MONO_HLSB
    prev = bytearray(_size(w, h, fmt))
    cur = bytearray(prev)
    _fill(cur, w, fmt, 100, 40, 60, 20)
    a = new_sums(w, h, fmt)
    b = new_sums(w, h, fmt)
    box = new_boxes(1)
    frame_sums(prev, w, h, fmt, a)
    frame_sums(cur, w, h, fmt, b)
    assert tuple(changed_box(a, b, w, h, fmt, box)) == (96, 40, 64, 20), tuple(box)
    if not hasattr(gc, "mem_alloc"):  # CPython: nothing to measure
        return
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        frame_sums(cur, w, h, fmt, b)
        got = changed_box(a, b, w, h, fmt, box)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert got is box
    assert used == 0, used

# The base frame a driver restores its lost RAM from (sunprint.app.App keeps it for its diff:
# the picture on the glass). Its own tiny module: test files near MicroPython's 110 KB heap
# import only this.


def _copy_window(d, src, dst):
    # Only what the update put on the glass: the aligned window win_* of the picture.
    x0 = d.win_x
    x1 = x0 + d.win_w
    w = d.width
    if d.BUFFER_FORMAT == 0:  # MONO_VLSB: pages of w bytes
        for p in range(d.win_y // 8, (d.win_y + d.win_h) // 8):
            o = p * w
            dst[o + x0 : o + x1] = src[o + x0 : o + x1]
    else:  # MONO_HLSB: rows of w/8 bytes
        xb = w // 8
        for y in range(d.win_y, d.win_y + d.win_h):
            o = y * xb
            dst[o + x0 // 8 : o + x1 // 8] = src[o + x0 // 8 : o + x1 // 8]


def track(d):
    """Give the driver a base frame that follows the glass, as sunprint.app.App's diff frame
    does (there the picture outside a window never differs from the frame: here a test may
    draw outside the window, so only the window is copied). Returns the frame."""
    prev = bytearray(d.BUFFER_SIZE)
    d.set_base(prev)
    finish = d.finish

    def finish_and_track():
        buf = d._pending
        finish()
        if buf is not None:
            _copy_window(d, buf, prev)

    d.finish = finish_and_track
    return prev

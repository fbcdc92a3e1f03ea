# What the whole-unit tests (test_unit_board_*.py) look at: the renderer's picture's lit pixels.
# CPython and MicroPython.


def lit_pixels(unit, width, height, row_step=1):
    """How many pixels of the renderer's picture are set, on every row_step-th row: a sign it
    drew something."""
    import framebuf

    fb = framebuf.FrameBuffer(unit.buffer, width, height, unit.display.BUFFER_FORMAT)
    n = 0
    for y in range(0, height, row_step):
        for x in range(width):
            n += fb.pixel(x, y)
    return n

"""A pure-Python stand-in for MicroPython's ``framebuf`` module (the API of MicroPython 1.29).

Import it where the firmware does ``import framebuf`` and runs under CPython (tests, replay, the demo).
Every drawing operation writes the same bytes as ``extmod/modframebuf.c``: the same clipping, the same
line / ellipse / polygon algorithms, the same colour masking (a colour is taken as a C ``uint32_t``, then
reduced to what the format holds; the mono formats draw "1" for any non-zero colour), the same ``stride``
rounding and the same ``ValueError`` for a buffer that is too small. ``tests/host/test_framebuf_diff.py``
checks that byte for byte against the real module in the MicroPython unix port.

Speed: fill / fill_rect / hline / vline / rect work on whole bytes (slice assignment, and
``bytes.translate`` for partly covered bytes) in every format. A blit (also scroll and text) from any
mono format onto any mono format moves whole pages (MONO_VLSB) or rows (MONO_HLSB / MONO_HMSB) at once
as Python big integers, key and palette included; GS8 / RGB565 copies without key or palette use row
slices. Everything else (line, ellipse, poly outlines, blits onto or from the grey and colour formats,
and any blit whose source or palette shares memory with the destination) is a per-pixel port of the C
code, in the C code's order.

Not modelled: the buffer protocol on a FrameBuffer object itself (use the buffer you passed in), and
reads outside a palette (the C code reads past the palette's end; here that raises or reads padding).
"""

from __future__ import annotations

from operator import index as _int

MONO_VLSB = 0
MVLSB = 0
RGB565 = 1
GS4_HMSB = 2
MONO_HLSB = 3
MONO_HMSB = 4
GS2_HMSB = 5
GS8 = 6

_U32 = 0xFFFFFFFF
_HORIZ = (MONO_HLSB, MONO_HMSB)
# Largest value a pixel of each format can hold (getpixel never returns more).
_MAX_VALUE = {
    MONO_VLSB: 1,
    MONO_HLSB: 1,
    MONO_HMSB: 1,
    GS2_HMSB: 3,
    GS4_HMSB: 15,
    GS8: 255,
    RGB565: 0xFFFF,
}

# Bit-reversal of a byte: MONO_HLSB stores the leftmost pixel in bit 7, MONO_HMSB in bit 0. Rows of
# either are handled as "canonical" LSB-first integers (bit i = pixel i); HLSB bytes pass through this.
_REV = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))

# Translate tables for moving pixels between the two orientations as strings of b"0" / b"1":
# _BITCHAR[r] maps a MONO_VLSB byte to the character of its row r; _CHARBIT maps the characters
# to lane values 0 / 1 (one byte per pixel).
_BITCHAR = [bytes(0x30 + ((v >> r) & 1) for v in range(256)) for r in range(8)]
_CHARBIT = bytes.maketrans(b"01", b"\x00\x01")

_TABLES: dict[tuple[int, bool], bytes] = {}


def _table(mask: int, on: bool) -> bytes:
    """A bytes.translate table that sets (on) or clears the bits of ``mask`` in every byte."""
    key = (mask, on)
    t = _TABLES.get(key)
    if t is None:
        t = bytes((i | mask) if on else (i & ~mask) for i in range(256))
        _TABLES[key] = t
    return t


def _cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


# The built-in 8x8 font (font_petme128_8x8), characters 32..127, 8 bytes each: one byte per column,
# least significant bit at the top. Derived, not copied: each character was drawn with the real module
# (MicroPython 1.29 unix port) into an 8x8 MONO_VLSB FrameBuffer and the buffer's bytes recorded:
#   for c in range(32, 128): fb.fill(0); fb.text(chr(c), 0, 0, 1); out.extend(buf)
# test_framebuf_diff.py re-derives it the same way and compares.
_FONT = bytes.fromhex(
    "0000000000000000"  #  32 ' '
    "0000004f4f000000"  #  33 '!'
    "0007070000070700"  #  34 '"'
    "147f7f14147f7f14"  #  35 '#'
    "00242e6b6b3a1200"  #  36 '$'
    "006333180c666300"  #  37 '%'
    "00327f4d4d777250"  #  38 '&'
    "0000000406030100"  #  39 "'"
    "00001c3e63410000"  #  40 '('
    "000041633e1c0000"  #  41 ')'
    "082a3e1c1c3e2a08"  #  42 '*'
    "0008083e3e080800"  #  43 '+'
    "000080e060000000"  #  44 ','
    "0008080808080800"  #  45 '-'
    "0000006060000000"  #  46 '.'
    "00406030180c0602"  #  47 '/'
    "003e7f49457f3e00"  #  48 '0'
    "0040447f7f404000"  #  49 '1'
    "00627351494f4600"  #  50 '2'
    "00226349497f3600"  #  51 '3'
    "00181814167f7f10"  #  52 '4'
    "00276745457d3900"  #  53 '5'
    "003e7f49497b3200"  #  54 '6'
    "000303797d070300"  #  55 '7'
    "00367f49497f3600"  #  56 '8'
    "00266f49497f3e00"  #  57 '9'
    "0000002424000000"  #  58 ':'
    "000080e464000000"  #  59 ';'
    "00081c3663414100"  #  60 '<'
    "0014141414141400"  #  61 '='
    "00414163361c0800"  #  62 '>'
    "00020351590f0600"  #  63 '?'
    "003e7f414d4f2e00"  #  64 '@'
    "007c7e0b0b7e7c00"  #  65 'A'
    "007f7f49497f3600"  #  66 'B'
    "003e7f4141632200"  #  67 'C'
    "007f7f41633e1c00"  #  68 'D'
    "007f7f4949414100"  #  69 'E'
    "007f7f0909010100"  #  70 'F'
    "003e7f41497b3a00"  #  71 'G'
    "007f7f08087f7f00"  #  72 'H'
    "0000417f7f410000"  #  73 'I'
    "002060417f3f0100"  #  74 'J'
    "007f7f1c36634100"  #  75 'K'
    "007f7f4040404000"  #  76 'L'
    "007f7f060c067f7f"  #  77 'M'
    "007f7f0e1c7f7f00"  #  78 'N'
    "003e7f41417f3e00"  #  79 'O'
    "007f7f09090f0600"  #  80 'P'
    "001e3f21617f5e00"  #  81 'Q'
    "007f7f19396f4600"  #  82 'R'
    "00266f49497b3200"  #  83 'S'
    "0001017f7f010100"  #  84 'T'
    "003f7f40407f3f00"  #  85 'U'
    "001f3f60603f1f00"  #  86 'V'
    "007f7f3018307f7f"  #  87 'W'
    "0063771c1c776300"  #  88 'X'
    "00070f78780f0700"  #  89 'Y'
    "006171594d474300"  #  90 'Z'
    "00007f7f41410000"  #  91 '['
    "0002060c18306040"  #  92 '\\'
    "000041417f7f0000"  #  93 ']'
    "00080c06060c0800"  #  94 '^'
    "c0c0c0c0c0c0c0c0"  #  95 '_'
    "0000010306040000"  #  96 '`'
    "00207454547c7800"  #  97 'a'
    "007f7f44447c3800"  #  98 'b'
    "00387c44446c2800"  #  99 'c'
    "00387c44447f7f00"  # 100 'd'
    "00387c54545c5800"  # 101 'e'
    "00087e7f09030200"  # 102 'f'
    "0098bca4a4fc7c00"  # 103 'g'
    "007f7f04047c7800"  # 104 'h'
    "0000007d7d000000"  # 105 'i'
    "0040c08080fd7d00"  # 106 'j'
    "007f7f30386c4400"  # 107 'k'
    "0000417f7f400000"  # 108 'l'
    "007c7c1830187c7c"  # 109 'm'
    "007c7c04047c7800"  # 110 'n'
    "00387c44447c3800"  # 111 'o'
    "00fcfc24243c1800"  # 112 'p'
    "00183c2424fcfc00"  # 113 'q'
    "007c7c04040c0800"  # 114 'r'
    "00485c5454742000"  # 115 's'
    "04043f7f44642000"  # 116 't'
    "003c7c40407c3c00"  # 117 'u'
    "001c3c60603c1c00"  # 118 'v'
    "001c7c3018307c1c"  # 119 'w'
    "00446c38386c4400"  # 120 'x'
    "009cbca0a0fc7c00"  # 121 'y'
    "004464745c4c4400"  # 122 'z'
    "0008083e77414100"  # 123 '{'
    "000000ffff000000"  # 124 '|'
    "004141773e080800"  # 125 '}'
    "0002030103020301"  # 126 '~'
    "aa55aa55aa55aa55"  # 127 DEL, also used for bytes < 32 or > 127
)

_MONO = (MONO_VLSB, MONO_HLSB, MONO_HMSB)
_NO_ARG = object()
_ELLIPSE_FILL = 0x10
_ELLIPSE_ALL = 0x0F


def _tr(seg, table: bytes) -> bytes:
    """``seg.translate(table)`` for a slice of a bytearray, bytes or memoryview buffer."""
    if type(seg) is memoryview:
        return seg.tobytes().translate(table)
    return seg.translate(table)


def _accessors(buf, stride: int, fmt: int):
    """The C ``getpixel`` / ``setpixel`` of one format, as closures over the buffer (no clipping)."""
    if fmt == MONO_VLSB:

        def get(x, y):
            return (buf[(y >> 3) * stride + x] >> (y & 7)) & 1

        def put(x, y, c):
            i = (y >> 3) * stride + x
            if c & _U32:
                buf[i] |= 1 << (y & 7)
            else:
                buf[i] &= ~(1 << (y & 7))

    elif fmt == MONO_HLSB:

        def get(x, y):
            return (buf[(x + y * stride) >> 3] >> (7 - (x & 7))) & 1

        def put(x, y, c):
            i = (x + y * stride) >> 3
            if c & _U32:
                buf[i] |= 0x80 >> (x & 7)
            else:
                buf[i] &= ~(0x80 >> (x & 7))

    elif fmt == MONO_HMSB:

        def get(x, y):
            return (buf[(x + y * stride) >> 3] >> (x & 7)) & 1

        def put(x, y, c):
            i = (x + y * stride) >> 3
            if c & _U32:
                buf[i] |= 1 << (x & 7)
            else:
                buf[i] &= ~(1 << (x & 7))

    elif fmt == RGB565:

        def get(x, y):
            i = (x + y * stride) << 1
            return buf[i] | (buf[i + 1] << 8)

        def put(x, y, c):
            i = (x + y * stride) << 1
            buf[i] = c & 0xFF
            buf[i + 1] = (c >> 8) & 0xFF

    elif fmt == GS2_HMSB:

        def get(x, y):
            return (buf[(x + y * stride) >> 2] >> ((x & 3) << 1)) & 3

        def put(x, y, c):
            i = (x + y * stride) >> 2
            shift = (x & 3) << 1
            buf[i] = ((c & 3) << shift) | (buf[i] & ~(3 << shift))

    elif fmt == GS4_HMSB:

        def get(x, y):
            if x & 1:
                return buf[(x + y * stride) >> 1] & 0x0F
            return buf[(x + y * stride) >> 1] >> 4

        def put(x, y, c):
            i = (x + y * stride) >> 1
            if x & 1:
                buf[i] = (c & 0x0F) | (buf[i] & 0xF0)
            else:
                buf[i] = ((c & 0x0F) << 4) | (buf[i] & 0x0F)

    else:  # GS8

        def get(x, y):
            return buf[x + y * stride]

        def put(x, y, c):
            buf[x + y * stride] = c & 0xFF

    return get, put


class FrameBuffer:
    """``framebuf.FrameBuffer(buffer, width, height, format, stride=width)``, as in MicroPython."""

    __slots__ = ("_buf", "_root", "_width", "_height", "_stride", "_format", "_get", "_set", "_fr")

    def __init__(self, buffer, width, height, format, stride=_NO_ARG):
        self._setup(buffer, width, height, format, width if stride is _NO_ARG else stride, True)

    # ----------------------------------------------------------------- construction

    def _setup(self, buffer, width, height, fmt, stride, writable):
        # Same checks, in the same order, as framebuf_make_new().
        # operator.index: ints and bools only, like mp_obj_get_int (a float is a TypeError).
        width = _int(width)
        height = _int(height)
        fmt = _int(fmt)
        stride = _int(stride)
        if width < 1 or height < 1 or width > 0xFFFF or height > 0xFFFF:
            raise ValueError
        if stride > 0xFFFF or stride < width:
            raise ValueError
        bpp = 1
        height_required = height
        width_required = width
        strides_required = height - 1
        if fmt == MONO_VLSB:
            height_required = (height + 7) & ~7
            strides_required = height_required - 8
        elif fmt in _HORIZ:
            stride = (stride + 7) & ~7
            width_required = (width + 7) & ~7
        elif fmt == GS2_HMSB:
            stride = (stride + 3) & ~3
            width_required = (width + 3) & ~3
            bpp = 2
        elif fmt == GS4_HMSB:
            stride = (stride + 1) & ~1
            width_required = (width + 1) & ~1
            bpp = 4
        elif fmt == GS8:
            bpp = 8
        elif fmt == RGB565:
            bpp = 16
        else:
            raise ValueError("invalid format")
        try:
            mv = memoryview(buffer)
        except TypeError:
            raise TypeError("object with buffer protocol required") from None
        if writable and mv.readonly:
            raise TypeError("object with buffer protocol required")
        needed = strides_required * stride + (height_required - strides_required) * width_required
        if needed * bpp // 8 > mv.nbytes:
            raise ValueError
        if isinstance(buffer, (bytearray, bytes)):
            buf = buffer
            root = buffer
        else:
            buf = mv.cast("B") if (mv.format != "B" or mv.ndim != 1) else mv
            root = mv.obj
        self._init_fields(buf, root, width, height, fmt, stride)

    def _init_fields(self, buf, root, width, height, fmt, stride):
        self._buf = buf
        self._root = root
        self._width = width
        self._height = height
        self._stride = stride
        self._format = fmt
        self._get, self._set = _accessors(buf, stride, fmt)
        self._fr = {
            MONO_VLSB: self._fr_vlsb,
            MONO_HLSB: self._fr_horiz,
            MONO_HMSB: self._fr_horiz,
            RGB565: self._fr_rgb565,
            GS2_HMSB: self._fr_gs2,
            GS4_HMSB: self._fr_gs4,
            GS8: self._fr_gs8,
        }[fmt]

    def _snapshot(self) -> FrameBuffer:
        """A FrameBuffer over a private copy of this one's bytes (what scroll() reads from)."""
        copy = object.__new__(FrameBuffer)
        data = bytearray(self._buf)
        copy._init_fields(data, data, self._width, self._height, self._format, self._stride)
        return copy

    # ----------------------------------------------------------------- public API

    def fill(self, c):
        self._fr(0, 0, self._width, self._height, c)

    def fill_rect(self, x, y, w, h, c):
        self._clip_fill(x, y, w, h, c)

    def pixel(self, x, y, c=_NO_ARG):
        if 0 <= x < self._width and 0 <= y < self._height:
            if c is _NO_ARG:
                return self._get(x, y)
            self._set(x, y, c)
        return None

    def hline(self, x, y, w, c):
        self._clip_fill(x, y, w, 1, c)

    def vline(self, x, y, h, c):
        self._clip_fill(x, y, 1, h, c)

    def rect(self, x, y, w, h, c, f=False):
        if f:
            self._clip_fill(x, y, w, h, c)
        else:
            self._clip_fill(x, y, w, 1, c)
            self._clip_fill(x, y + h - 1, w, 1, c)
            self._clip_fill(x, y, 1, h, c)
            self._clip_fill(x + w - 1, y, 1, h, c)

    def line(self, x1, y1, x2, y2, c):
        # A horizontal or vertical line sets exactly the pixels of a 1-wide fill_rect, and the
        # colour reduction of setpixel and fill_rect agree for every format: take the fast path.
        if y1 == y2:
            self._clip_fill(min(x1, x2), y1, abs(x2 - x1) + 1, 1, c)
            return
        if x1 == x2:
            self._clip_fill(x1, min(y1, y2), 1, abs(y2 - y1) + 1, c)
            return
        self._line(x1, y1, x2, y2, c)

    def ellipse(self, x, y, xr, yr, c, f=False, m=_NO_ARG):
        mask = _ELLIPSE_FILL if f else 0
        mask |= _ELLIPSE_ALL if m is _NO_ARG else (_int(m) & _ELLIPSE_ALL)
        if xr == 0 and yr == 0:
            self._set_checked(x, y, c, mask & _ELLIPSE_ALL)
            return
        self._ellipse_arc(x, y, xr, yr, c, mask, False)  # 1st set of points, y' > -1
        self._ellipse_arc(x, y, yr, xr, c, mask, True)  # 2nd set of points, y' < -1

    def _ellipse_arc(self, x, y, ur, vr, c, mask, swapped):
        """One set of the midpoint ellipse's points: v steps by one from 0 while u falls from ur,
        for as long as the slope says v is the fast axis. (u, v) is (x, y) for the 1st set and
        (y, x) for the 2nd (swapped), the same steps with the axes exchanged."""
        two_usquare = 2 * ur * ur
        two_vsquare = 2 * vr * vr
        pu = ur
        pv = 0
        uchange = vr * vr * (1 - 2 * ur)
        vchange = ur * ur
        error = 0
        stoppingu = two_vsquare * ur
        stoppingv = 0
        while stoppingu >= stoppingv:
            if swapped:
                self._ellipse_points(x, y, pv, pu, c, mask)
            else:
                self._ellipse_points(x, y, pu, pv, c, mask)
            pv += 1
            stoppingv += two_usquare
            error += vchange
            vchange += two_usquare
            if 2 * error + uchange > 0:
                pu -= 1
                stoppingu -= two_vsquare
                error += uchange
                uchange += two_vsquare

    def poly(self, x, y, coords, c, f=False):
        try:  # any buffer-protocol object (usually array("h", ...)), not a list
            items = memoryview(coords).tolist()
        except TypeError:
            raise TypeError("object with buffer protocol required") from None
        n_poly = len(items) // 2  # an odd count rounds down, as in C
        if n_poly == 0:
            return
        v = [_int(items[i]) for i in range(2 * n_poly)]
        if not f:
            px1, py1 = v[0], v[1]
            for i in range(n_poly * 2 - 1, 0, -2):
                px2, py2 = v[i - 1], v[i]
                self.line(x + px1, y + py1, x + px2, y + py2, c)
                px1, py1 = px2, py2
            return
        # Integer scan-line fill (http://alienryderflex.com/polygon_fill/), as modframebuf.c does it.
        ys = v[1::2]
        for row in range(min(ys), max(ys) + 1):
            nodes = []
            px1, py1 = v[0], v[1]
            for i in range(n_poly * 2 - 1, 0, -2):
                px2, py2 = v[i - 1], v[i]
                # Leave out the bottom pixel of each edge so that a shared vertex is one node.
                if py1 != py2 and ((py1 > row >= py2) or (py1 <= row < py2)):
                    q = _cdiv(32 * (px2 - px1) * (row - py1), py2 - py1)
                    nodes.append(_cdiv(32 * px1 + q + 16, 32))
                elif row == max(py1, py2):
                    # At a local minimum fill in the pixels the rule above misses.
                    if py1 < py2:
                        self._set_checked(x + px2, y + py2, c, 1)
                    elif py2 < py1:
                        self._set_checked(x + px1, y + py1, c, 1)
                    else:
                        self.line(x + px1, y + py1, x + px2, y + py2, c)
                px1, py1 = px2, py2
            if not nodes:
                continue
            nodes.sort()
            for i in range(0, len(nodes) - 1, 2):
                self._clip_fill(x + nodes[i], y + row, nodes[i + 1] - nodes[i] + 1, 1, c)

    def blit(self, fbuf, x, y, key=-1, palette=None):
        src = _as_framebuffer(fbuf)
        pal = None if palette is None else _as_framebuffer(palette)
        if x >= self._width or y >= self._height or -x >= src._width or -y >= src._height:
            return  # out of bounds, no-op
        key32 = key & _U32
        # The fast paths read a whole row / page before writing it; when source (or palette) and
        # destination share memory only the per-pixel order of the C code gives its result.
        shared = src._root is self._root or (pal is not None and pal._root is self._root)
        if not shared and src._format in _MONO:
            actions = []
            for s in (0, 1):
                col = s if pal is None else pal._get(s, 0)
                actions.append(None if col == key32 else col)
            self._paint_mono(src, x, y, actions[0], actions[1])
            return
        x0, y0, x0end, y0end, x1, y1 = self._clip_blit(src, x, y)
        if (
            not shared
            and pal is None
            and src._format == self._format
            and self._format in (GS8, RGB565)
            and key32 > _MAX_VALUE[self._format]
        ):
            self._copy_rows(src, x0, y0, x0end, y0end, x1, y1)
            return
        sget = src._get
        dset = self._set
        pget = None if pal is None else pal._get
        for yy in range(y0, y0end):
            cx1 = x1
            for xx in range(x0, x0end):
                col = sget(cx1, y1)
                if pget is not None:
                    col = pget(col, 0)
                if col != key32:
                    dset(xx, yy, col)
                cx1 += 1
            y1 += 1

    def scroll(self, xstep, ystep):
        # modframebuf.c walks away from the direction of travel, so every pixel reads a value not yet
        # overwritten: the result is the old picture shifted by (xstep, ystep), with the uncovered
        # strip left as it was. That is a blit of a snapshot with no key.
        if xstep >= self._width or -xstep >= self._width:
            return
        if ystep >= self._height or -ystep >= self._height:
            return
        snap = self._snapshot()
        if self._format in _MONO:
            self._paint_mono(snap, xstep, ystep, 0, 1)
        else:
            self.blit(snap, xstep, ystep)

    def text(self, s, x, y, c=1):
        if isinstance(s, str):
            data = s.encode()
        elif isinstance(s, bytes):
            data = s
        else:
            raise TypeError(f"can't convert '{type(s).__name__}' object to str implicitly")
        end = data.find(b"\0")  # the C loop stops at a NUL byte
        if end >= 0:
            data = data[:end]
        horiz = self._format in _HORIZ
        width = self._width
        for ch in data:
            if x >= width:
                break
            if x > -8:
                glyph = _glyph(ch if 32 <= ch <= 127 else 127, horiz)
                self._paint_mono(glyph, x, y, None, c)
            x += 8

    # ----------------------------------------------------------------- shared helpers

    def _set_checked(self, x, y, c, mask):
        if mask and 0 <= x < self._width and 0 <= y < self._height:
            self._set(x, y, c)

    def _clip_fill(self, x, y, w, h, c):
        width = self._width
        height = self._height
        if h < 1 or w < 1 or x + w <= 0 or y + h <= 0 or y >= height or x >= width:
            return
        xend = x + w if x + w < width else width
        yend = y + h if y + h < height else height
        if x < 0:
            x = 0
        if y < 0:
            y = 0
        self._fr(x, y, xend - x, yend - y, c)

    def _line(self, x1, y1, x2, y2, c):
        # Bresenham exactly as line() in modframebuf.c (the end point is drawn separately).
        width = self._width
        height = self._height
        put = self._set
        dx = x2 - x1
        if dx > 0:
            sx = 1
        else:
            dx = -dx
            sx = -1
        dy = y2 - y1
        if dy > 0:
            sy = 1
        else:
            dy = -dy
            sy = -1
        steep = dy > dx
        if steep:
            x1, y1 = y1, x1
            dx, dy = dy, dx
            sx, sy = sy, sx
        e = 2 * dy - dx
        for _ in range(dx):
            if steep:
                if 0 <= y1 < width and 0 <= x1 < height:
                    put(y1, x1, c)
            elif 0 <= x1 < width and 0 <= y1 < height:
                put(x1, y1, c)
            while e >= 0:
                y1 += sy
                e -= 2 * dx
            x1 += sx
            e += 2 * dy
        if 0 <= x2 < width and 0 <= y2 < height:
            put(x2, y2, c)

    def _ellipse_points(self, cx, cy, x, y, c, mask):
        if mask & _ELLIPSE_FILL:
            if mask & 1:
                self._clip_fill(cx, cy - y, x + 1, 1, c)
            if mask & 2:
                self._clip_fill(cx - x, cy - y, x + 1, 1, c)
            if mask & 4:
                self._clip_fill(cx - x, cy + y, x + 1, 1, c)
            if mask & 8:
                self._clip_fill(cx, cy + y, x + 1, 1, c)
        else:
            self._set_checked(cx + x, cy - y, c, mask & 1)
            self._set_checked(cx - x, cy - y, c, mask & 2)
            self._set_checked(cx - x, cy + y, c, mask & 4)
            self._set_checked(cx + x, cy + y, c, mask & 8)

    def _clip_blit(self, src, x, y):
        """The clipped blit rectangle: dest x0..x0end, y0..y0end and the source corner x1, y1."""
        x0 = x if x > 0 else 0
        y0 = y if y > 0 else 0
        x1 = -x if x < 0 else 0
        y1 = -y if y < 0 else 0
        x0end = min(self._width, x + src._width)
        y0end = min(self._height, y + src._height)
        return x0, y0, x0end, y0end, x1, y1

    # ----------------------------------------------------------------- fill_rect per format
    # (x, y, w, h) are already clipped and non-empty, as in the C format table.

    def _fr_vlsb(self, x, y, w, h, c):
        buf = self._buf
        stride = self._stride
        on = bool(c & _U32)
        yend = y + h
        ptop = y >> 3
        pbot = (yend - 1) >> 3
        mtop = (0xFF << (y & 7)) & 0xFF
        mbot = 0xFF >> (7 - ((yend - 1) & 7))
        if ptop == pbot:
            mtop &= mbot
            mbot = mtop
        elif mbot != 0xFF:
            a = pbot * stride + x
            buf[a : a + w] = _tr(buf[a : a + w], _table(mbot, on))
        if mtop != 0xFF:
            a = ptop * stride + x
            buf[a : a + w] = _tr(buf[a : a + w], _table(mtop, on))
        pf0 = ptop if mtop == 0xFF else ptop + 1
        pf1 = pbot + 1 if mbot == 0xFF else pbot
        if pf0 >= pf1:
            return
        fill = b"\xff" if on else b"\x00"
        if w == stride:  # x == 0 and the pages are contiguous
            buf[pf0 * stride : pf1 * stride] = fill * ((pf1 - pf0) * stride)
            return
        row = fill * w
        for p in range(pf0, pf1):
            a = p * stride + x
            buf[a : a + w] = row

    def _fr_horiz(self, x, y, w, h, c):
        buf = self._buf
        adv = self._stride >> 3
        on = bool(c & _U32)
        rev = self._format == MONO_HLSB
        k0 = x >> 3
        k1 = (x + w - 1) >> 3
        lo = x & 7
        hi = (x + w - 1) & 7
        first = y * adv
        span = (h - 1) * adv + 1  # extent of one byte column over the h rows
        partial = []  # (byte column, canonical mask: bit i = pixel 8k+i)
        if k0 == k1:
            m = (0xFF << lo) & (0xFF >> (7 - hi))
            if m != 0xFF:
                partial.append((k0, m))
                fk0 = fk1 = k0
            else:
                fk0, fk1 = k0, k0 + 1
        else:
            fk0 = k0
            fk1 = k1 + 1
            if lo:
                partial.append((k0, (0xFF << lo) & 0xFF))
                fk0 += 1
            if hi != 7:
                partial.append((k1, 0xFF >> (7 - hi)))
                fk1 -= 1
        for k, m in partial:
            table = _table(_REV[m] if rev else m, on)
            s = first + k
            buf[s : s + span : adv] = _tr(buf[s : s + span : adv], table)
        nf = fk1 - fk0
        if nf <= 0:
            return
        fill = b"\xff" if on else b"\x00"
        if nf == adv:  # whole rows: one contiguous run
            buf[first : first + h * adv] = fill * (h * adv)
        elif h <= nf:
            row = fill * nf
            for a in range(first + fk0, first + fk0 + h * adv, adv):
                buf[a : a + nf] = row
        else:
            col = fill * h
            for s in range(first + fk0, first + fk1):
                buf[s : s + span : adv] = col

    def _fr_rgb565(self, x, y, w, h, c):
        buf = self._buf
        stride = self._stride
        c &= 0xFFFF
        pixel = bytes((c & 0xFF, c >> 8))
        if w == stride:
            buf[y * stride * 2 : (y + h) * stride * 2] = pixel * (w * h)
            return
        row = pixel * w
        for yy in range(y, y + h):
            a = (x + yy * stride) << 1
            buf[a : a + 2 * w] = row

    def _fr_gs8(self, x, y, w, h, c):
        buf = self._buf
        stride = self._stride
        value = bytes((c & 0xFF,))
        if w == stride:
            buf[y * stride : (y + h) * stride] = value * (w * h)
            return
        row = value * w
        for yy in range(y, y + h):
            a = x + yy * stride
            buf[a : a + w] = row

    def _fr_gs4(self, x, y, w, h, c):
        buf = self._buf
        stride = self._stride
        c &= 0x0F
        pair = bytes((c * 0x11,))
        for yy in range(y, y + h):
            base = yy * stride
            xs = x
            xe = x + w
            if xs & 1:
                i = (base + xs) >> 1
                buf[i] = (buf[i] & 0xF0) | c
                xs += 1
            if xe & 1 and xe - 1 >= xs:
                xe -= 1
                i = (base + xe) >> 1
                buf[i] = (c << 4) | (buf[i] & 0x0F)
            if xe > xs:
                buf[(base + xs) >> 1 : (base + xe) >> 1] = pair * ((xe - xs) >> 1)

    def _fr_gs2(self, x, y, w, h, c):
        buf = self._buf
        stride = self._stride
        put = self._set
        quad = bytes(((c & 3) * 0x55,))
        for yy in range(y, y + h):
            xs = x
            xe = x + w
            while xs < xe and xs & 3:
                put(xs, yy, c)
                xs += 1
            while xe > xs and xe & 3:
                xe -= 1
                put(xe, yy, c)
            if xe > xs:
                base = yy * stride
                buf[(base + xs) >> 2 : (base + xe) >> 2] = quad * ((xe - xs) >> 2)

    # ----------------------------------------------------------------- blit engines

    def _copy_rows(self, src, x0, y0, x0end, y0end, x1, y1):
        """Same byte-per-pixel format (GS8, RGB565), no key, no palette: row slices."""
        size = 2 if self._format == RGB565 else 1
        dbuf, dstride = self._buf, self._stride
        sbuf, sstride = src._buf, src._stride
        n = (x0end - x0) * size
        for k in range(y0end - y0):
            d = (x0 + (y0 + k) * dstride) * size
            s = (x1 + (y1 + k) * sstride) * size
            dbuf[d : d + n] = sbuf[s : s + n]

    def _paint_mono(self, src, x, y, a0, a1):
        """Blit a mono ``src`` at (x, y): a source 0 becomes colour a0, a 1 becomes a1; None keeps
        the destination pixel. Same clipping as blit(); used by blit, scroll and text."""
        if x >= self._width or y >= self._height or -x >= src._width or -y >= src._height:
            return
        if a0 is None and a1 is None:
            return
        x0, y0, x0end, y0end, x1, y1 = self._clip_blit(src, x, y)
        dfmt = self._format
        if dfmt in _MONO:
            b0 = None if a0 is None else (1 if a0 & _U32 else 0)
            b1 = None if a1 is None else (1 if a1 & _U32 else 0)
            if dfmt == MONO_VLSB:
                self._paint_v(src, x0, y0, x0end, y0end, x1, y1, b0, b1)
            else:
                self._paint_h(src, x0, y0, x0end, y0end, x1, y1, b0, b1)
            return
        # Reference path (also the mono source on a grey / colour destination): per pixel.
        sget = src._get
        dset = self._set
        for yy in range(y0, y0end):
            cx1 = x1
            for xx in range(x0, x0end):
                a = a1 if sget(cx1, y1) else a0
                if a is not None:
                    dset(xx, yy, a)
                cx1 += 1
            y1 += 1

    def _paint_v(self, src, x0, y0, x0end, y0end, x1, y1, b0, b1):
        """A mono source onto MONO_VLSB, one destination page (8 rows x n columns) at a time.

        A page row of n bytes is one integer with n 8-bit lanes. From a MONO_VLSB source the lanes
        are two source pages shifted vertically (SWAR: shift the whole integer, mask each lane);
        from a horizontal source each row is spread to one bit per lane through a "0"/"1" string."""
        dbuf, dstride = self._buf, self._stride
        sbuf, sstride = src._buf, src._stride
        sfmt = src._format
        spages = (src._height + 7) >> 3
        n = x0end - x0
        ones = int.from_bytes(b"\x01" * n, "little")  # 0x01 in every lane
        dy = y0 - y1  # destination row = source row + dy
        copy = b0 == 0 and b1 == 1
        if sfmt != MONO_VLSB:
            sadv = sstride >> 3
            sk0 = x1 >> 3
            snb = ((x1 + n - 1) >> 3) - sk0 + 1
            sh = x1 & 7
            order = "big" if sfmt == MONO_HLSB else "little"
            step = 1 if sfmt == MONO_HLSB else -1
            nbits = 8 * snb
        for p in range(y0 >> 3, ((y0end - 1) >> 3) + 1):
            top = p << 3
            lo = y0 - top if y0 > top else 0
            hi = y0end - top if y0end - top < 8 else 8
            m = (0xFF << lo) & (0xFF >> (8 - hi))
            if sfmt == MONO_VLSB:
                t = top - dy  # source row shown in this page's bit 0
                q = t >> 3
                r = t & 7
                if 0 <= q < spages:
                    s = q * sstride + x1
                    a = int.from_bytes(sbuf[s : s + n], "little")
                else:
                    a = 0
                if r:
                    q += 1
                    if 0 <= q < spages:
                        s = q * sstride + x1
                        b = int.from_bytes(sbuf[s : s + n], "little")
                    else:
                        b = 0
                    a = ((a >> r) & ((0xFF >> r) * ones)) | (
                        (b << (8 - r)) & (((0xFF << (8 - r)) & 0xFF) * ones)
                    )
            else:
                a = 0
                for bit in range(lo, hi):
                    s = (top + bit - dy) * sadv + sk0
                    row = int.from_bytes(sbuf[s : s + snb], order)
                    chars = f"{row:0{nbits}b}"[::step]  # pixel order, leftmost first
                    lanes = chars[sh : sh + n].encode().translate(_CHARBIT)
                    a |= int.from_bytes(lanes, "little") << bit
            d = p * dstride + x0
            if copy and m == 0xFF:
                dbuf[d : d + n] = a.to_bytes(n, "little")
                continue
            mask = m * ones
            dval = int.from_bytes(dbuf[d : d + n], "little")
            s1 = a & mask  # lanes' bits where the source is 1
            s0 = mask ^ s1  # ... where it is 0
            setbits = (s1 if b1 == 1 else 0) | (s0 if b0 == 1 else 0)
            clrbits = (s1 if b1 == 0 else 0) | (s0 if b0 == 0 else 0)
            dval = (dval & ~clrbits) | setbits
            dbuf[d : d + n] = dval.to_bytes(n, "little")

    def _paint_h(self, src, x0, y0, x0end, y0end, x1, y1, b0, b1):
        """A mono source onto MONO_HLSB / MONO_HMSB, one row at a time as an integer with bit i =
        pixel i (HLSB bytes are bit-reversed on the way in and out). A MONO_VLSB source row is
        gathered through a "0"/"1" string of its bit in each column byte."""
        dbuf, dadv = self._buf, self._stride >> 3
        sbuf, sstride = src._buf, src._stride
        drev = self._format == MONO_HLSB
        sfmt = src._format
        srev = sfmt == MONO_HLSB
        sadv = sstride >> 3
        n = x0end - x0
        k0 = x0 >> 3
        nb = ((x0end - 1) >> 3) - k0 + 1
        o = x0 & 7
        mask = ((1 << n) - 1) << o
        sk0 = x1 >> 3
        snb = ((x1 + n - 1) >> 3) - sk0 + 1
        sh = x1 & 7
        whole = b0 == 0 and b1 == 1 and o == 0 and n == nb * 8
        for k in range(y0end - y0):
            sy = y1 + k
            if sfmt == MONO_VLSB:
                s = (sy >> 3) * sstride + x1
                a = int(_tr(sbuf[s : s + n], _BITCHAR[sy & 7])[::-1], 2) << o
            else:
                s = sy * sadv + sk0
                seg = sbuf[s : s + snb]
                if srev:
                    seg = _tr(seg, _REV)
                a = ((int.from_bytes(seg, "little") >> sh) << o) & mask
            d = (y0 + k) * dadv + k0
            if whole:
                dval = a
            else:
                seg = dbuf[d : d + nb]
                if drev:
                    seg = _tr(seg, _REV)
                dval = int.from_bytes(seg, "little")
                s0 = mask ^ a
                setbits = (a if b1 == 1 else 0) | (s0 if b0 == 1 else 0)
                clrbits = (a if b1 == 0 else 0) | (s0 if b0 == 0 else 0)
                dval = (dval & ~clrbits) | setbits
            out = dval.to_bytes(nb, "little")
            if drev:
                out = out.translate(_REV)
            dbuf[d : d + nb] = out


def _as_framebuffer(obj) -> FrameBuffer:
    """A blit source or palette: a FrameBuffer, or a (buffer, width, height, format[, stride])
    tuple or list whose buffer may be read-only (checked like the constructor)."""
    if isinstance(obj, FrameBuffer):
        return obj
    if not isinstance(obj, (tuple, list)):
        raise TypeError(f"object '{type(obj).__name__}' isn't a tuple or list")
    if len(obj) not in (4, 5):
        raise ValueError
    fb = object.__new__(FrameBuffer)
    fb._setup(obj[0], obj[1], obj[2], obj[3], obj[4] if len(obj) == 5 else obj[1], False)
    return fb


_GLYPHS: dict[tuple[int, bool], FrameBuffer] = {}


def _glyph(code: int, horiz: bool) -> FrameBuffer:
    """The 8x8 glyph of ``code`` as a FrameBuffer: MONO_VLSB (the font's own layout) for a
    MONO_VLSB or non-mono destination, MONO_HMSB for the horizontal mono formats."""
    key = (code, horiz)
    fb = _GLYPHS.get(key)
    if fb is None:
        cols = _FONT[(code - 32) * 8 : (code - 31) * 8]
        if horiz:
            data = bytearray(sum(((cols[j] >> row) & 1) << j for j in range(8)) for row in range(8))
            fmt = MONO_HMSB
        else:
            data = bytearray(cols)
            fmt = MONO_VLSB
        fb = object.__new__(FrameBuffer)
        fb._init_fields(data, data, 8, 8, fmt, 8)
        _GLYPHS[key] = fb
    return fb


def FrameBuffer1(buffer, width, height, stride=_NO_ARG):
    """The legacy constructor: a MONO_VLSB FrameBuffer."""
    return FrameBuffer(buffer, width, height, MONO_VLSB, width if stride is _NO_ARG else stride)

# A chain of MAX7219 LED matrix drivers behind a fake SPI bus and CS pin: decodes the 16-bit
# words a driver shifts in into each device's registers, and the registers into the picture the
# matrices show.
#
# Portable Python: runs under CPython and inside the MicroPython unix port (no typing, no PIL).
#
#     m = MAX7219Chain(modules=8)                  # 64x8, FC-16 boards (see below)
#     d = MAX7219(m.spi, cs=m.cs, modules=8)
#     d.show(buf)
#     m.pixel(x, y), m.lit_count(), m.bytes_sent, m.violations, m.image_mono_hlsb()
#
# What is modelled (MAX7219 datasheet, Maxim 19-4452 rev 4, "Serial-Addressing Modes" and the
# register tables):
# - The devices form one shift register: every byte written on the bus enters device 0 (the one
#   whose DIN is wired to the ESP32) and pushes the older bytes on towards device n-1. On the
#   MAX7219 the clock shifts data in whatever the state of LOAD (CS) is; on the rising edge of
#   CS every device latches the 16 bits it holds: bits 11-8 the register address, bits 7-0 the
#   data (bits 15-12 are ignored). So a CS frame must carry 2 bytes per device; a shorter or
#   longer one makes some devices latch stale or misplaced words, and is recorded in
#   `violations`, as are bytes clocked while CS is high.
# - Registers: no-op 0x00; digits 0-7 at 0x01-0x08; decode mode 0x09 (bit d set: digit d is
#   Code B, bits 3-0 select the character, bit 7 the decimal point); intensity 0x0A (bits 3-0);
#   scan limit 0x0B (bits 2-0: digits 0..limit are scanned, the others dark); shutdown 0x0C
#   (bit 0: 0 = shutdown, every LED dark, registers kept); display test 0x0F (bit 0: every LED
#   lit, overriding shutdown and the digits without changing them). Addresses 0x0D and 0x0E are
#   not registers: latching them is recorded in `unknown`.
# - Power-up: "all control registers are reset, the display is blanked, and the MAX7219 enters
#   shutdown mode"; the digit registers are not cleared, so the model fills them with a
#   pseudo-random pattern (a driver has to write them before leaving shutdown).
#
# Orientation of the FC-16 4-in-1 board, as the common MicroPython driver drives it
# (mcauser/micropython-max7219: digit register i = row i of a MONO_HLSB framebuffer, bit 7 the
# leftmost pixel; the first module written is the far end of the chain, so "the 4 is drawn on
# the DIN matrix", the rightmost): the board upright with DIN on the right is the reference:
# in matrix-local coordinates (lx, ly), 0..7 from the top left, digit ly drives row ly and
# data bit 7 - lx column lx (bit 0 = lx with flip=True). rotation is
# the clockwise angle by which each matrix is turned against that; device p (0 nearest DIN) sits
# in module row p // modules, at column modules - 1 - p % modules counted from the left, or, on
# odd module rows with serpentine=True (mounted upside down), at column p % modules and turned a
# further 180 degrees. The model maps each visible pixel back to (device, digit, bit) on its own,
# from the picture side, so a driver that gets its own mapping wrong fails the comparison.
#
# Pictures: pixel(x, y) is 1 when the LED is lit. image_mono_hlsb() returns the picture packed
# as Pillow's mode "1" raw data (rows of ceil(width/8) bytes, leftmost pixel in bit 7): a set
# bit is a lit LED, which Pillow shows as white, as the LEDs look on the dark panel:
#     Image.frombytes("1", (m.width, m.height), m.image_mono_hlsb()).save("led.png")

# Code B font (datasheet table 5), segments in data bits 6-0 = A B C D E F G: 0-9, '-', E, H,
# L, P, blank.
_CODE_B = bytes(
    (0x7E, 0x30, 0x6D, 0x79, 0x33, 0x5B, 0x5F, 0x70, 0x7F, 0x7B, 0x01, 0x4F, 0x37, 0x0E, 0x67, 0x00)
)


class _Device:
    def __init__(self, seed):
        self.digits = bytearray(8)
        v = seed & 0xFF
        for i in range(8):
            v = (v * 109 + 89) & 0xFF
            self.digits[i] = v
        self.decode = 0
        self.intensity = 0
        self.scan_limit = 0
        self.shutdown = True  # power-up: shutdown mode
        self.test = False

    def latch(self, addr, data, chain):
        if addr == 0x00:
            return
        if 0x01 <= addr <= 0x08:
            self.digits[addr - 1] = data
        elif addr == 0x09:
            self.decode = data
        elif addr == 0x0A:
            self.intensity = data & 0x0F
        elif addr == 0x0B:
            self.scan_limit = data & 0x07
        elif addr == 0x0C:
            self.shutdown = not (data & 0x01)
        elif addr == 0x0F:
            self.test = bool(data & 0x01)
        else:
            chain.unknown.append(addr)

    def segments(self, digit):
        """The segment byte digit `digit` lights now (DP = bit 7, A..G = bits 6..0)."""
        if self.test:
            return 0xFF
        if self.shutdown or digit > self.scan_limit:
            return 0x00
        v = self.digits[digit]
        if self.decode & (1 << digit):
            return (v & 0x80) | _CODE_B[v & 0x0F]
        return v


class _SPI:
    def __init__(self, chain):
        self._chain = chain

    def write(self, buf):
        self._chain._shift(buf)


class _CS:
    def __init__(self, chain):
        self._chain = chain
        self.level = 1

    def value(self, v=None):
        if v is None:
            return self.level
        v = 1 if v else 0
        if v and not self.level:
            self._chain._latch()
        elif not v and self.level:
            self._chain._frame_bytes = 0
        self.level = v
        return None

    def __call__(self, v=None):
        return self.value(v)


class MAX7219Chain:
    def __init__(self, modules=4, rows=1, rotation=0, flip=False, serpentine=False):
        if rotation not in (0, 90, 180, 270):
            raise ValueError("rotation")
        self.modules = modules
        self.rows = rows
        self.rotation = rotation
        self.flip = flip
        self.serpentine = serpentine
        self.n = modules * rows
        self.width = 8 * modules
        self.height = 8 * rows
        self.devices = [_Device(37 * p + 11) for p in range(self.n)]
        self._sr = bytearray(2 * self.n)  # the chain's shift register, device n-1 first
        self._frame_bytes = 0
        self.spi = _SPI(self)
        self.cs = _CS(self)
        self.bytes_sent = 0  # every byte clocked in
        self.frames = 0  # CS rising edges
        self.digit_frames = 0  # frames in which device 0 latched a digit register
        self.violations = []
        self.unknown = []
        self.record = False  # when True, `latched` collects each frame's words
        self.latched = []  # per frame: tuple of (address, data), device 0 first

    # --- bus side ---

    def _shift(self, buf):
        k = len(buf)
        if not k:
            return
        sr = self._sr
        size = len(sr)
        if self.cs.level:
            self.violations.append("%d bytes clocked in while CS was high" % k)
        if k >= size:
            sr[:] = buf[k - size :]
        else:
            sr[: size - k] = sr[k:]
            sr[size - k :] = buf
        self.bytes_sent += k
        self._frame_bytes += k

    def _latch(self):
        self.frames += 1
        if self._frame_bytes != 2 * self.n:
            self.violations.append(
                "CS frame of %d bytes; a chain of %d devices needs %d"
                % (self._frame_bytes, self.n, 2 * self.n)
            )
        sr = self._sr
        n = self.n
        words = []
        for p in range(n):
            i = 2 * (n - 1 - p)
            addr = sr[i] & 0x0F
            data = sr[i + 1]
            self.devices[p].latch(addr, data, self)
            if self.record:
                words.append((addr, data))
        if 0x01 <= (sr[2 * n - 2] & 0x0F) <= 0x08:
            self.digit_frames += 1
        if self.record:
            self.latched.append(tuple(words))

    # --- picture side ---

    def locate(self, x, y):
        """(device, digit, bit) that drives pixel (x, y) of the picture."""
        tr = y >> 3
        tc = x >> 3
        vx = x & 7
        vy = y & 7
        rot = self.rotation
        if self.serpentine and tr & 1:
            p = tr * self.modules + tc
            rot = (rot + 180) % 360
        else:
            p = tr * self.modules + self.modules - 1 - tc
        # the viewer's (vx, vy) in the matrix's own FC-16 frame: the matrix is turned clockwise
        # by rot, so turn the point back counter-clockwise
        if rot == 0:
            lx, ly = vx, vy
        elif rot == 90:
            lx, ly = vy, 7 - vx
        elif rot == 180:
            lx, ly = 7 - vx, 7 - vy
        else:
            lx, ly = 7 - vy, vx
        bit = lx if self.flip else 7 - lx
        return p, ly, bit

    def pixel(self, x, y):
        p, digit, bit = self.locate(x, y)
        return (self.devices[p].segments(digit) >> bit) & 1

    def lit_count(self):
        n = 0
        for y in range(self.height):
            for x in range(self.width):
                n += self.pixel(x, y)
        return n

    def intensities(self):
        return [d.intensity for d in self.devices]

    def image_mono_hlsb(self):
        """The picture as Pillow mode "1" raw bytes: bit 7 leftmost, 1 = lit (white)."""
        stride = (self.width + 7) >> 3
        out = bytearray(stride * self.height)
        for y in range(self.height):
            for x in range(self.width):
                if self.pixel(x, y):
                    out[y * stride + (x >> 3)] |= 0x80 >> (x & 7)
        return out

    def ascii(self, on="#", off="."):
        rows = []
        for y in range(self.height):
            rows.append("".join(on if self.pixel(x, y) else off for x in range(self.width)))
        return "\n".join(rows)

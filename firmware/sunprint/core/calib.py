"""Calibration models: raw readings -> physical values, y = gain * raw + offset.

Fitting (two_point, least_squares) runs once, on site, in floats. Applying runs on every
reading, in integers, with gain in fixed point (m = round(gain * 2**shift)) and the offset
split into an integer part and a binary fraction. A plain (m * raw + b) >> shift would need
|m| * max_raw < 2**30 (the ESP32's small ints), which for a reading in mW of a 12 kW string
(max_raw ~ 2**24) leaves m 6 bits: a gain error of up to 0.8 %. So raw is split in two halves
of k bits, raw = hi * 2**k + lo, with k half the bits of max_raw, and

    y = ((m * hi + ((m * lo + b) >> k)) >> (shift - k)) + offset_int

(exact floor arithmetic: the inner shift loses nothing the outer one would keep). Only
|m| * (|hi| + 1) and |m| * 2**k must stay below 2**29, so m keeps about 29 - log2(max_raw) / 2
bits: 17 for that 12 kW string, a gain error below 2**-17 ~ 8e-6, and every step is a small
int: apply() allocates nothing. A gain so large that shift falls below k is applied
the plain way, with the largest shift that fits (shift 0 at worst: an exact integer gain, big
ints on the ESP32).

Floats on the ESP32 are single precision: least_squares centres the data on its means before
summing, so the fit does not lose the digits a raw offset of thousands would cost.
"""

from sunprint.compat import const

_SMALL = const(0x20000000)  # 2**29: a sum of two such terms stays a small int (< 2**30)
_MAX_SHIFT = const(24)


class Linear:
    """y = gain * raw + offset, applied in fixed point to int raw readings |raw| <= max_raw."""

    def __init__(self, gain, offset=0.0, max_raw=32768):
        if gain - gain != 0 or offset - offset != 0:  # NaN, or inf - inf
            raise ValueError("gain and offset must be finite numbers, not NaN or infinity")
        self.gain = gain
        self.offset = offset
        self.max_raw = max_raw
        whole = _floor(offset)
        self._whole = whole
        k = 1
        while (1 << (2 * k)) < max_raw:
            k += 1
        hi = (abs(max_raw) >> k) + 1
        shift = _MAX_SHIFT
        while shift >= k:
            m = _round(gain * (1 << shift))
            if abs(m) * hi < _SMALL and abs(m) * (1 << k) + (1 << shift) < _SMALL:
                break
            shift -= 1
        self._k = k
        self._k_mask = (1 << k) - 1
        self._split = shift >= k
        if not self._split:
            shift = k - 1
            while shift > 0:
                m = _round(gain * (1 << shift))
                b = _round((offset - whole) * (1 << shift))
                if abs(m) * max_raw + abs(b) + (1 << shift) < _SMALL:
                    break
                shift -= 1
        self.shift = shift
        self._m = _round(gain * (1 << shift))
        # The fraction of the offset, plus one half so the final shift rounds to nearest.
        self._b = _round((offset - whole) * (1 << shift)) + ((1 << shift) >> 1)
        self._outer = shift - k

    def apply(self, raw):
        """The calibrated value of an int raw reading, rounded to the nearest int."""
        m = self._m
        if self._split:
            k = self._k
            inner = (m * (raw & self._k_mask) + self._b) >> k
            return ((m * (raw >> k) + inner) >> self._outer) + self._whole
        return ((m * raw + self._b) >> self.shift) + self._whole

    def exact(self, raw):
        """gain * raw + offset in floats: what apply() approximates."""
        return self.gain * raw + self.offset

    def __repr__(self):
        return "Linear(gain=%r, offset=%r)" % (self.gain, self.offset)


def _floor(x):
    i = int(x)
    return i - 1 if i > x else i


def _round(x):
    # Nearest int, ties away from zero (round() differs between ports for .5).
    if x >= 0:
        return int(x + 0.5)
    return -int(-x + 0.5)


def two_point(raw1, ref1, raw2, ref2, max_raw=32768):
    """The line through (raw1, ref1) and (raw2, ref2): two reference readings on site."""
    if raw1 == raw2:
        raise ValueError("two-point calibration needs two different raw values, both are %r" % raw1)
    gain = (ref2 - ref1) / (raw2 - raw1)
    return Linear(gain, ref1 - gain * raw1, max_raw)


class Fit:
    """A least-squares result: the model, each point's residual (ref - fit), their RMS."""

    def __init__(self, linear, residuals, rms):
        self.linear = linear
        self.gain = linear.gain
        self.offset = linear.offset
        self.residuals = residuals
        self.rms = rms

    def __repr__(self):
        return "Fit(gain=%r, offset=%r, rms=%r)" % (self.gain, self.offset, self.rms)


def least_squares(points, max_raw=32768):
    """Fit y = gain * raw + offset to (raw, reference) pairs, least squares on the reference.

    ValueError for fewer than 2 points or when every raw value is the same.
    """
    n = len(points)
    if n < 2:
        raise ValueError("least squares needs at least 2 points, got %d" % n)
    sx = 0.0
    sy = 0.0
    for x, y in points:
        sx += x
        sy += y
    mx = sx / n
    my = sy / n
    sxx = 0.0
    sxy = 0.0
    for x, y in points:
        dx = x - mx
        sxx += dx * dx
        sxy += dx * (y - my)
    if sxx == 0:
        raise ValueError("all %d raw values are %r: the gain is undetermined" % (n, points[0][0]))
    gain = sxy / sxx
    offset = my - gain * mx
    residuals = []
    ss = 0.0
    for x, y in points:
        r = y - (gain * x + offset)
        residuals.append(r)
        ss += r * r
    return Fit(Linear(gain, offset, max_raw), residuals, (ss / n) ** 0.5)

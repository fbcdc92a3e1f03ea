"""Calibration models: raw readings -> physical values, y = gain * raw + offset.

Fitting (two_point, least_squares) runs once, on site, in floats. Applying runs on every
reading, in integers: Linear keeps gain and offset in fixed point with a binary shift,

    y = (m * raw + b) >> shift,    m = round(gain * 2**shift),
                                   b = round(offset * 2**shift) + 2**(shift - 1)

(the half folded into b makes the shift round to nearest, ties up). shift is the largest (up
to 24) that keeps |m| * max_raw + |b| below 2**30, so for |raw| <= max_raw every step is a
small int on the ESP32 and apply() allocates nothing. The price is resolution: m has about
30 - log2(max_raw) significant bits (15 for a 16-bit raw), a relative gain error below
2**-15 ~ 3e-5 when the output uses the whole range. A gain so large that even shift 0 passes
2**30 is applied with shift 0 (exact integer gain; big ints on the ESP32).

Floats on the ESP32 are single precision: least_squares centres the data on its means before
summing, so the fit does not lose the digits a raw offset of thousands would cost.
"""

from sunprint.compat import const

_SMALL = const(0x40000000)  # 2**30: the ESP32's small-int limit
_MAX_SHIFT = const(24)


class Linear:
    """y = gain * raw + offset, applied in fixed point to int raw readings."""

    def __init__(self, gain, offset=0.0, max_raw=32768):
        if gain != gain or offset != offset:
            raise ValueError("gain and offset must be numbers, not NaN")
        self.gain = gain
        self.offset = offset
        self.max_raw = max_raw
        shift = _MAX_SHIFT
        while shift > 0:
            m = _round(gain * (1 << shift))
            b = _round(offset * (1 << shift))
            if abs(m) * max_raw + abs(b) + (1 << shift) < _SMALL:
                break
            shift -= 1
        self.shift = shift
        self._m = _round(gain * (1 << shift))
        self._b = _round(offset * (1 << shift)) + ((1 << shift) >> 1)

    def apply(self, raw):
        """The calibrated value of an int raw reading, rounded to the nearest int."""
        return (self._m * raw + self._b) >> self.shift

    def exact(self, raw):
        """gain * raw + offset in floats: what apply() approximates."""
        return self.gain * raw + self.offset

    def __repr__(self):
        return "Linear(gain=%r, offset=%r)" % (self.gain, self.offset)


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

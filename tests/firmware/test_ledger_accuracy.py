# Ledger accuracy against exact integrals of analytic PV curves with clouds. CPython and
# MicroPython. The curve is a clear-sky half sine times a piecewise-linear cloud factor, so the
# exact energy has a closed form.
import math

from sunprint.core.ledger import LIFETIME, Ledger

A = 8000.0  # W at noon
SUNRISE = 794275200 - 2 * 3600  # firmware s: 2025-03-03 06:00 local (22:00 UTC the day before)
LENGTH = 12 * 3600
W = math.pi / LENGTH
# Clouds: (start s after sunrise, ramp s, flat s, depth): the factor goes 1 -> 1-depth -> 1.
CLOUDS = (
    (7200, 30, 240, 0.6),
    (9000, 10, 60, 0.8),
    (14000, 60, 900, 0.5),
    (20000, 5, 20, 0.7),
    (20100, 20, 300, 0.4),
    (26000, 40, 1800, 0.75),
    (33000, 15, 120, 0.3),
    (36000, 90, 600, 0.65),
)


def factor_knots():
    """Breakpoints (u, f) of the piecewise-linear cloud factor, u seconds after sunrise."""
    knots = [(0.0, 1.0)]
    for start, ramp, flat, depth in CLOUDS:
        knots += [
            (start, 1.0),
            (start + ramp, 1.0 - depth),
            (start + ramp + flat, 1.0 - depth),
            (start + 2 * ramp + flat, 1.0),
        ]
    knots.append((float(LENGTH), 1.0))
    return knots


KNOTS = factor_knots()


def factor(u):
    for i in range(1, len(KNOTS)):
        u0, f0 = KNOTS[i - 1]
        u1, f1 = KNOTS[i]
        if u <= u1:
            return f0 + (f1 - f0) * (u - u0) / (u1 - u0) if u1 > u0 else f1
    return 1.0


def power_w(u):
    if u <= 0 or u >= LENGTH:
        return 0.0
    return A * math.sin(W * u) * factor(u)


def exact_wh():
    # On a segment f(u) = a + b u: the antiderivative of (a + b u) A sin(w u) is
    # A (-a cos(wu) / w + b (sin(wu) / w^2 - u cos(wu) / w)).
    def anti(a, b, u):
        return A * (
            -a * math.cos(W * u) / W + b * (math.sin(W * u) / W**2 - u * math.cos(W * u) / W)
        )

    joules = 0.0
    for i in range(1, len(KNOTS)):
        u0, f0 = KNOTS[i - 1]
        u1, f1 = KNOTS[i]
        if u1 <= u0:
            continue
        b = (f1 - f0) / (u1 - u0)
        a = f0 - b * u0
        joules += anti(a, b, u1) - anti(a, b, u0)
    return joules / 3600


def replay_wh(step):
    led = Ledger(max_gap_s=600)
    u = -step
    while u <= LENGTH + step:
        led.add_power(SUNRISE + u, int(power_w(u) * 1000 + 0.5))
        u += step
    return led.mwh(LIFETIME) / 1000


def test_exact_integral_is_sane():
    clear = 2 * A / W / 3600  # integral of the clear half sine, Wh
    e = exact_wh()
    assert 0.7 * clear < e < clear


def test_one_second_sampling_within_a_tenth_of_a_percent():
    e, got = exact_wh(), replay_wh(1)
    assert abs(got - e) / e <= 0.001, (got, e)


def test_one_minute_sampling_within_one_percent():
    e, got = exact_wh(), replay_wh(60)
    assert abs(got - e) / e <= 0.01, (got, e)

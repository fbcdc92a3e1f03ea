# Calibration models (sunprint.core.calib): fixed-point Linear, two-point, least squares.
# Plain test_* functions with bare asserts: runs under pytest and inside MicroPython.
import gc

from host_tools.sim.chips.pulses import Lcg
from sunprint.core.calib import Linear, least_squares, two_point


def _noise(rng, amplitude):
    # Uniform in [-amplitude, amplitude], from the seeded LCG: the same in both interpreters.
    return (rng.below(2000001) - 1000000) * amplitude / 1000000


def _raises(fn, *words):
    try:
        fn()
    except ValueError as e:
        text = str(e)
        for w in words:
            assert w in text, (w, text)
        return
    raise AssertionError("no ValueError")


def test_linear_applies_in_fixed_point_within_half_a_unit():
    # INA226-like power (25 mW/LSB times a shunt trim), a tiny gain, a negative one, offsets.
    for gain, offset in ((25.137, -40.2), (0.0123, 7.5), (-3.75, 1000.0), (1.0, 0.0)):
        lin = Linear(gain, offset)
        for raw in range(-32768, 32768, 997):
            want = gain * raw + offset
            got = lin.apply(raw)
            assert isinstance(got, int)
            # Rounded to nearest, plus the fixed-point gain error over the raw range.
            assert abs(got - want) <= 0.5 + (abs(raw) + 1) * 2**-lin.shift, (gain, raw, got)


def _intermediates_are_small(lin, max_raw):
    m = abs(lin._m)
    if lin._split:
        k = lin._k
        return m * ((max_raw >> k) + 1) + (1 << 24) < 2**30 and m * (1 << k) + lin._b < 2**30
    return m * max_raw + abs(lin._b) < 2**30


def test_linear_picks_the_shift_that_keeps_small_ints():
    lin = Linear(25.137, -40.2)
    assert 0 < lin.shift <= 24
    assert _intermediates_are_small(lin, 32768)
    assert Linear(0.001, 0).shift == 24  # a tiny gain gets the most fraction bits
    wide = Linear(25.137, 0, max_raw=2**24)
    assert wide.shift < lin.shift and _intermediates_are_small(wide, 2**24)
    assert Linear(1.0, 0, max_raw=2**24).shift >= 16  # the split keeps 16+ fraction bits


def test_a_reading_in_mw_of_a_12_kw_string_keeps_the_gain_to_1e_5():
    # max_raw ~ 2**24 (mW): a plain m * raw < 2**30 would leave the gain 6 bits (0.8 % off).
    for gain, offset in ((1.03, 0.0), (0.987654, -1500.4), (1.0001, 250.0)):
        lin = Linear(gain, offset, max_raw=12000000)
        assert _intermediates_are_small(lin, 12000000), (gain, lin.shift)
        for raw in (-12000000, -777777, 0, 1, 999999, 2000000, 6543210, 12000000):
            want = gain * raw + offset
            got = lin.apply(raw)
            assert abs(got - want) <= 0.5 + abs(raw) * 1e-5, (gain, offset, raw, got, want)


def test_linear_rounds_to_nearest():
    half = Linear(0.5, 0)
    assert [half.apply(x) for x in (-3, -2, -1, 0, 1, 2, 3)] == [-1, -1, 0, 0, 1, 1, 2]
    assert Linear(1, 0.4).apply(10) == 10 and Linear(1, 0.6).apply(10) == 11
    assert Linear(2, -0.5).apply(0) == 0  # ties go up


def test_linear_large_gain_still_exact():
    big = Linear(100000, 3)  # beyond 2**30 at full scale: shift 0, an integer gain
    assert big.shift == 0
    assert big.apply(30000) == 3000000003


def test_linear_apply_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return  # CPython: no allocation counter
    lin = Linear(25.137, -40.2)
    _apply_many(lin, 10)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        total = _apply_many(lin, 2000)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert total != 0
    assert used == 0, used


def _apply_many(lin, n):
    t = 0
    for raw in range(-n, n):
        t += lin.apply(raw * 16) & 0xFF
    return t


def test_two_point_is_exact_through_both_points():
    lin = two_point(1000, 2500, 21000, 502500)
    assert lin.gain == 25.0 and lin.offset == -22500.0
    assert lin.apply(1000) == 2500 and lin.apply(21000) == 502500
    assert lin.apply(11000) == 252500
    # Order does not matter; a falling line works.
    lin = two_point(500, 100, 100, 900)
    assert lin.gain == -2.0 and lin.apply(300) == 500


def test_two_point_rejects_equal_raw_values():
    _raises(lambda: two_point(1200, 10, 1200, 20), "two different raw values", "1200")


def test_least_squares_recovers_gain_and_offset_from_noisy_points():
    rng = Lcg(2024)
    gain, offset = 24.87, -153.0
    points = []
    for i in range(40):
        raw = 200 + i * 800 + rng.below(300)
        points.append((raw, gain * raw + offset + _noise(rng, 50.0)))
    fit = least_squares(points)
    assert abs(fit.gain - gain) < 0.01, fit
    assert abs(fit.offset - offset) < 40, fit
    # Uniform noise of +-50 has an RMS of 50 / sqrt(3) = 28.9.
    assert 20 < fit.rms < 38, fit
    lin = fit.linear
    assert abs(lin.apply(16000) - lin.exact(16000)) <= 0.5 + 16001 * 2**-lin.shift


def test_least_squares_residuals_are_reference_minus_fit():
    points = [(0, 1.0), (1, 2.9), (2, 5.2), (3, 6.9)]
    fit = least_squares(points)
    # By hand: mean x 1.5, mean y 4.0, sxx 5, sxy 10 -> gain 2, offset 1.
    assert abs(fit.gain - 2.0) < 1e-9 and abs(fit.offset - 1.0) < 1e-9
    want = [0.0, -0.1, 0.2, -0.1]
    assert len(fit.residuals) == 4
    for i in range(4):
        assert abs(fit.residuals[i] - want[i]) < 1e-9, (fit.residuals, want)
    assert abs(sum(fit.residuals)) < 1e-9  # a least-squares line has residuals summing to 0
    rms = (sum(w * w for w in want) / 4) ** 0.5
    assert abs(fit.rms - rms) < 1e-12


def test_least_squares_exact_points_fit_exactly():
    points = [(x, 3 * x - 7) for x in (10, 20, 35, 1000)]
    fit = least_squares(points)
    assert abs(fit.gain - 3) < 1e-12 and abs(fit.offset + 7) < 1e-9
    assert fit.rms < 1e-9 and max(abs(r) for r in fit.residuals) < 1e-9
    two = least_squares([(1000, 2500), (21000, 502500)])
    assert abs(two.gain - 25) < 1e-12 and two.rms < 1e-9


def test_least_squares_centres_a_large_raw_offset():
    # Raw values near 30000 with a span of 10: uncentred sums would lose the fit in float32.
    points = [(30000 + i, 2.0 * (30000 + i) + 5.0) for i in range(10)]
    fit = least_squares(points)
    assert abs(fit.gain - 2.0) < 1e-6 and abs(fit.offset - 5.0) < 1e-2


def test_least_squares_errors_name_the_problem():
    _raises(lambda: least_squares([]), "at least 2 points", "got 0")
    _raises(lambda: least_squares([(5, 1.0)]), "at least 2 points", "got 1")
    _raises(lambda: least_squares([(7, 1.0), (7, 2.0), (7, 3.0)]), "raw values", "7")


def test_linear_rejects_nan():
    _raises(lambda: Linear(float("nan"), 0), "NaN")


def test_linear_rejects_infinity():
    # once an OverflowError from int(inf) deep in the fixed-point set-up
    for gain, offset in ((float("inf"), 0), (float("-inf"), 0), (1.0, float("inf"))):
        try:
            Linear(gain, offset)
        except ValueError:
            continue
        except Exception as e:  # noqa: BLE001 - any other exception is the failure
            raise AssertionError("%r %r: %r" % (gain, offset, e))
        raise AssertionError("accepted %r %r" % (gain, offset))

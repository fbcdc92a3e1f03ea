"""host_tools.sim.platform.framebuf against the real ``framebuf`` of the MicroPython unix port, byte for byte.

Hundreds of seeded random drawing sequences run in the CPython stand-in and, batched into one
MicroPython process, in the real module; the final buffers (and every ``pixel()`` read on the way)
must agree exactly. A failure names the seed and prints the op list; ``make_case(seed)`` rebuilds it.
Both sides run the same drawing code, tests/host/framebuf_runner.py: MicroPython as a script,
CPython by importing it.
"""

from __future__ import annotations

import array
import json
import random
import subprocess
import sys
from pathlib import Path

import framebuf_runner
import pytest

from host_tools.sim.platform import framebuf as fb

MICROPYTHON = Path(sys.executable).parent / "micropython"
RUNNER = Path(framebuf_runner.__file__)
N_CASES = 400
BASE_SEED = 20_290_000

MONO = [fb.MONO_VLSB, fb.MONO_HLSB, fb.MONO_HMSB]
OTHER = [fb.RGB565, fb.GS2_HMSB, fb.GS4_HMSB, fb.GS8]
FORMAT_NAMES = {
    fb.MONO_VLSB: "MONO_VLSB",
    fb.MONO_HLSB: "MONO_HLSB",
    fb.MONO_HMSB: "MONO_HMSB",
    fb.RGB565: "RGB565",
    fb.GS2_HMSB: "GS2_HMSB",
    fb.GS4_HMSB: "GS4_HMSB",
    fb.GS8: "GS8",
}
BITS = {fb.MONO_VLSB: 1, fb.MONO_HLSB: 1, fb.MONO_HMSB: 1, fb.GS2_HMSB: 2, fb.GS4_HMSB: 4}
BITS.update({fb.GS8: 8, fb.RGB565: 16})


# --------------------------------------------------------------------------- the MicroPython side


def run_micropython(jobs: list[dict], tmp: Path) -> list:
    """Run every job in one MicroPython process; one JSON result per job."""
    jobs_file = tmp / "jobs.jsonl"
    jobs_file.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    proc = subprocess.run(
        [str(MICROPYTHON), "-X", "heapsize=32M", str(RUNNER), str(jobs_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"micropython failed:\n{proc.stderr}\n{proc.stdout[-2000:]}"
    lines = proc.stdout.splitlines()
    assert len(lines) == len(jobs), proc.stdout[-2000:]
    return [json.loads(line) for line in lines]


# Argument handling: each expression runs in both, with fb = FrameBuffer(buf, 8, 16, MONO_VLSB).
EXPRS = [
    "fb.pixel(1, 2)",
    "fb.pixel(1, 2, 1)",
    "fb.pixel(1, 2)",
    "fb.pixel(8, 0)",
    "fb.pixel(-1, 0, 1)",
    "fb.pixel(0, 0, None)",
    "fb.pixel(1.0, 0)",
    "fb.text(b'Hi', 0, 0)",
    "fb.text(bytearray(b'A'), 0, 0)",
    "fb.text(5, 0, 0)",
    "fb.text('a\\x00b', 0, 8, 1)",
    "fb.poly(0, 0, [0, 0, 3, 3], 1)",
    "fb.poly(0, 0, array.array('f', [0, 0, 3, 3]), 1)",
    "fb.poly(0, 0, b'\\x00\\x00\\x07\\x0f\\x00\\x0f', 1, True)",
    "fb.poly(1, 1, array.array('i', [0, 0, 5, 2, 1, 9, 7]), 0, True)",
    "fb.poly(0, 0, array.array('h'), 1)",
    "fb.ellipse(3, 3, 2, 2, 1, True, None)",
    "fb.ellipse(4, 8, 3, 6, 1, True, 6)",
    "fb.rect(0, 0, 4, 4, 0, None)",
    "fb.rect(0, 0, 4, 4, 0, 1)",
    "fb.fill_rect(1, 1, 2.5, 2, 1)",
    "fb.blit(buf, 0, 0)",
    "fb.blit((buf, 8, 8), 0, 0)",
    "fb.blit((bytes(4), 8, 8, framebuf.MONO_VLSB), 0, 0)",
    "fb.blit((b'\\xff' * 8, 8, 8, framebuf.MONO_HLSB), 1, 3, 0)",
    "fb.blit([bytearray(b'\\x0f' * 8), 8, 8, framebuf.MONO_VLSB, 8], -2, 9)",
    "fb.blit(fb, 1, 1, 0, (bytearray(b'\\x00\\x01'), 2, 1, framebuf.GS8))",
    "fb.blit(fb, 2, 2, None)",
    "fb.scroll(1.5, 0)",
    "framebuf.FrameBuffer(buf, 8, 16, 0, None)",
    "framebuf.FrameBuffer(buf, 8.0, 16, 0)",
    "framebuf.FrameBuffer(bytes(16), 8, 16, 0)",
    "framebuf.FrameBuffer(buf, 8, 16, 7)",
    "framebuf.FrameBuffer(buf, 16, 8, 3) and None",
    "framebuf.FrameBuffer1(buf, 8, 16) and None",
    "framebuf.FrameBuffer1(buf, 8, 16, 9)",
    "framebuf.FrameBuffer1(buf, 4, 16, 8).fill(1)",
]


# --------------------------------------------------------------------------- random cases


def bytes_needed(fmt: int, w: int, h: int, stride: int) -> int:
    """Smallest buffer the real constructor accepts (independent of the stand-in's code)."""
    if fmt == fb.MONO_VLSB:
        return ((h + 7) // 8 - 1) * stride + w
    align = {fb.MONO_HLSB: 8, fb.MONO_HMSB: 8, fb.GS2_HMSB: 4, fb.GS4_HMSB: 2}.get(fmt, 1)
    stride = -(-stride // align) * align
    wr = -(-w // align) * align
    return ((h - 1) * stride + wr) * BITS[fmt] // 8


def rand_spec(rng: random.Random, fmt: int, w: int, h: int) -> list:
    stride = w if rng.random() < 0.5 else w + rng.randint(1, 9)
    n = bytes_needed(fmt, w, h, stride) + rng.choice([0, 0, 1, rng.randint(2, 9)])
    data = bytes(rng.getrandbits(8) for _ in range(n))
    return [fmt, w, h, stride, data.hex()]


def rand_color(rng: random.Random, fmt: int) -> int:
    r = rng.random()
    if r < 0.3:
        return rng.choice([0, 1])
    if r < 0.45:
        return rng.choice([-1, 2, 3, 15, 16, 255, 256, 0xFFFF, 0x10000, 0x100000000, 0x1_0000_0001])
    return rng.randrange(1 << BITS[fmt]) if fmt not in MONO else rng.randrange(4)


def rand_dim(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.15:
        return rng.randint(1, 4)
    if r < 0.75:
        return rng.randint(5, 24)
    return rng.randint(25, 70)


def rand_text(rng: random.Random) -> str:
    chars = [chr(c) for c in range(32, 127)]
    extra = ["\x7f", "\x01", "\t", "\n", "é", "°", "中", "\x00"]
    n = rng.randint(0, 6)
    return "".join(
        rng.choice(extra) if rng.random() < 0.12 else rng.choice(chars) for _ in range(n)
    )


def make_case(seed: int) -> dict:
    """One reproducible random drawing sequence (a JSON-able dict)."""
    rng = random.Random(seed)
    if rng.random() < 0.04:  # now and then a full e-paper frame
        fmt = rng.choice(MONO)
        w, h = rng.choice([(296, 128), (128, 296), (250, 122)])
    else:
        fmt = rng.choice(MONO * 3 + OTHER * 2)
        w, h = rand_dim(rng), rand_dim(rng)
    spec = rand_spec(rng, fmt, w, h)

    def cx(span: int) -> int:
        r = rng.random()
        if r < 0.08:
            return rng.randint(-300, 300)
        return rng.randint(-span // 2 - 6, span + 6)

    srcs = []
    for _ in range(rng.randint(0, 3)):
        sfmt = rng.choice(MONO * 3 + OTHER) if rng.random() < 0.8 else fmt
        srcs.append(rand_spec(rng, sfmt, rand_dim(rng) // 2 + 1, rand_dim(rng) // 2 + 1))
    ops: list[list] = []
    for _ in range(rng.randint(1, 10)):
        kind = rng.choice(
            ["fill", "pixel", "get", "get", "hline", "vline", "line", "line", "rect", "fill_rect"]
            + ["fill_rect", "blit", "blit", "blit", "scroll", "text", "ellipse", "poly"]
        )
        c = rand_color(rng, fmt)
        if kind == "fill":
            ops.append(["fill", c])
        elif kind == "pixel":
            ops.append(["pixel", cx(w), cx(h), c])
        elif kind == "get":
            ops.append(["get", cx(w), cx(h)])
        elif kind == "hline":
            ops.append(["hline", cx(w), cx(h), rng.randint(-5, w + 10), c])
        elif kind == "vline":
            ops.append(["vline", cx(w), cx(h), rng.randint(-5, h + 10), c])
        elif kind == "line":
            ops.append(["line", cx(w), cx(h), cx(w), cx(h), c])
        elif kind in ("rect", "fill_rect"):
            op = [kind, cx(w), cx(h), rng.randint(-3, w + 8), rng.randint(-3, h + 8), c]
            if kind == "rect" and rng.random() < 0.5:
                op.append(rng.choice([True, False]))
            ops.append(op)
        elif kind == "blit":
            si = rng.randrange(len(srcs)) if srcs and rng.random() < 0.9 else -1
            sw, sh = (srcs[si][1], srcs[si][2]) if si >= 0 else (w, h)
            sfmt = srcs[si][0] if si >= 0 else fmt
            x = rng.randint(-sw - 2, w + 2)
            y = rng.randint(-sh - 2, h + 2)
            key = rng.choice([None, None, -1, 0, 1, rng.randrange(1 << BITS[sfmt])])
            pi = None
            if sfmt != fb.RGB565 and rng.random() < 0.3:
                # a palette wide enough for every source value (the C code does not check)
                pfmt = rng.choice(MONO + OTHER)
                srcs.append(rand_spec(rng, pfmt, 1 << BITS[sfmt], rng.randint(1, 2)))
                pi = len(srcs) - 1
                if key is None:
                    key = -1
            as_tuple = si >= 0 and rng.random() < 0.2
            ops.append(["blit", si, x, y, key, pi, as_tuple])
        elif kind == "scroll":
            ops.append(["scroll", rng.randint(-w - 2, w + 2), rng.randint(-h - 2, h + 2)])
        elif kind == "text":
            op = ["text", rand_text(rng), cx(w), cx(h)]
            if rng.random() < 0.7:
                op.append(c)
            ops.append(op)
        elif kind == "ellipse":
            op = ["ellipse", cx(w), cx(h), rng.randint(-2, w), rng.randint(-2, h), c]
            if rng.random() < 0.7:
                op.append(rng.choice([True, False]))
                if rng.random() < 0.6:
                    op.append(rng.randint(0, 31))
            ops.append(op)
        else:
            n = rng.randint(0, 7) * 2 + (1 if rng.random() < 0.1 else 0)
            coords = [rng.randint(-10, max(w, h) + 10) for _ in range(n)]
            op = ["poly", cx(w) // 2, cx(h) // 2, coords, c]
            if rng.random() < 0.7:
                op.append(rng.choice([True, False]))
            ops.append(op)
    return {"seed": seed, "fb": spec, "srcs": srcs, "ops": ops}


def special_cases() -> list[dict]:
    """Hand-made sequences that random draws rarely hit."""
    cases = []
    # The whole font, one row of glyphs: the buffer *is* the font table (column bytes, LSB on top).
    all_chars = "".join(chr(c) for c in range(32, 128))
    spec = [fb.MONO_VLSB, 8 * 96, 8, 8 * 96, "00" * (8 * 96)]
    cases.append({"seed": "font", "fb": spec, "srcs": [], "ops": [["text", all_chars, 0, 0, 1]]})
    # Every pixel of a small odd-sized buffer read back, in every format.
    for fmt in MONO + OTHER:
        rng = random.Random(fmt)
        spec = rand_spec(rng, fmt, 11, 9)
        ops = [["get", x, y] for y in range(-1, 10) for x in range(-1, 12)]
        cases.append({"seed": f"getall-{fmt}", "fb": spec, "srcs": [], "ops": ops})
    # A 24x32 glyph blitted with key 0 into a full frame, each mono format pair.
    for dfmt in MONO:
        for sfmt in MONO:
            rng = random.Random(100 * dfmt + sfmt)
            d = rand_spec(rng, dfmt, 296, 128)
            s = rand_spec(rng, sfmt, 24, 32)
            ops = [["blit", 0, x, y, 0, None, False] for x, y in [(3, 5), (-7, -9), (280, 100)]]
            ops += [["blit", 0, 17, 44, 1, None, False], ["blit", 0, 9, 1, None, None, False]]
            cases.append({"seed": f"glyph-{dfmt}-{sfmt}", "fb": d, "srcs": [s], "ops": ops})
    # Clipping sweeps: text and blits hanging over every edge by 1..9 pixels, each mono pair.
    for fmt in MONO + [fb.GS8]:
        rng = random.Random(200 + fmt)
        d = rand_spec(rng, fmt, 21, 19)
        ops = [["fill", 0]]
        ops += [["text", "#\x7f", x, y, 1] for x, y in [(-7, 2), (15, -7), (-9, 12), (14, 13)]]
        ops += [["text", "W\x7f", -x, 4 + x, 1] for x in range(1, 8)]
        cases.append({"seed": f"textclip-{fmt}", "fb": d, "srcs": [], "ops": ops})
    for dfmt in MONO:
        for sfmt in MONO:
            for key in (None, 0, 1):
                rng = random.Random(1000 * dfmt + 100 * sfmt + (key or 0))
                d = rand_spec(rng, dfmt, 37, 29)
                s = rand_spec(rng, sfmt, 19, 21)
                spots = [(-5, -9), (-13, 3), (25, -17), (30, 20), (-1, 15), (9, 10)]
                ops = [["blit", 0, x, y, key, None, False] for x, y in spots]
                seed = f"blitclip-{dfmt}-{sfmt}-{key}"
                cases.append({"seed": seed, "fb": d, "srcs": [s], "ops": ops})
    return cases


def ctor_cases() -> list:
    rng = random.Random(7)
    specs = [
        [fb.MONO_VLSB, 0, 8, None, 8],
        [fb.MONO_VLSB, 8, 0, None, 8],
        [fb.MONO_VLSB, 8, 16, 7, 16],
        [fb.MONO_VLSB, 9, 16, None, 16],
        [fb.MONO_VLSB, 9, 16, None, 17],
        [fb.MONO_VLSB, 9, 16, None, 18],
        [9, 8, 8, None, 64],
        [-1, 8, 8, None, 64],
        [fb.MONO_HLSB, 17, 8, None, 16],
        [fb.MONO_HLSB, 16, 8, 17, 16],
        [fb.MONO_HLSB, 16, 8, 17, 23],
        [fb.GS8, 70000, 1, None, 70000],
    ]
    for _ in range(150):
        fmt = rng.choice(MONO + OTHER)
        w, h = rng.randint(1, 40), rng.randint(1, 40)
        stride = rng.choice([None, w, w + rng.randint(1, 9), w - 1])
        need = bytes_needed(fmt, w, h, w if stride is None else max(stride, w))
        specs.append([fmt, w, h, stride, max(0, need + rng.randint(-2, 1))])
    return specs


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    if not MICROPYTHON.exists():
        pytest.skip(f"no MicroPython unix port at {MICROPYTHON}")
    cases = [make_case(BASE_SEED + i) for i in range(N_CASES)] + special_cases()
    ctor = ctor_cases()
    jobs = cases + [{"ctor": ctor}, {"exprs": EXPRS}]
    real = run_micropython(jobs, tmp_path_factory.mktemp("framebuf"))
    return cases, real[:-2], ctor, real[-2], real[-1]


def describe(case: dict, ours: list, theirs: list) -> str:
    spec = case["fb"]
    seed = case["seed"]
    rebuild = f"make_case({seed})" if isinstance(seed, int) else "special_cases()"
    lines = [
        f"seed {seed}: {FORMAT_NAMES[spec[0]]} {spec[1]}x{spec[2]} stride {spec[3]}, "
        f"{len(spec[4]) // 2}-byte buffer (rebuild: {rebuild})",
        "ops:",
    ]
    lines += [f"  {json.dumps(op, ensure_ascii=False)}" for op in case["ops"]]
    if ours[1] != theirs[1]:
        lines.append(f"pixel()/errors: stand-in {ours[1]} != micropython {theirs[1]}")
    a, b = bytes.fromhex(ours[0]), bytes.fromhex(theirs[0])
    diff = [i for i in range(min(len(a), len(b))) if a[i] != b[i]]
    if diff:
        i = diff[0]
        lines.append(
            f"{len(diff)} bytes differ, first at {i}: stand-in {a[i]:#04x} != micropython {b[i]:#04x}"
        )
    return "\n".join(lines)


def test_random_sequences_match_micropython(results):
    cases, real, *_ = results
    failures = []
    for case, theirs in zip(cases, real, strict=True):
        ours = framebuf_runner.run(case)
        if ours != theirs:
            failures.append(describe(case, ours, theirs))
    assert not failures, f"{len(failures)} of {len(cases)} sequences differ:\n\n" + "\n\n".join(
        failures[:5]
    )
    assert len(cases) >= 300


def test_constructor_checks_match_micropython(results):
    _, _, ctor, theirs, _ = results
    ours = [framebuf_runner.construct(s) for s in ctor]
    bad = [(s, o, t) for s, o, t in zip(ctor, ours, theirs, strict=True) if o != t]
    assert not bad, "\n".join(f"{s}: stand-in {o}, micropython {t}" for s, o, t in bad[:10])
    assert "ok" in theirs and "ValueError" in theirs


def test_font_table_is_the_real_font(results):
    cases, real, *_ = results
    (font_result,) = [r for c, r in zip(cases, real, strict=True) if c["seed"] == "font"]
    assert bytes.fromhex(font_result[0]) == fb._FONT


def test_other_buffer_objects_draw_the_same(results):
    # The real module takes any writable buffer; the stand-in works on a memoryview (or a cast of
    # it) when not handed a bytearray. Same sequences, same expected bytes.
    cases, real, *_ = results
    wraps = [memoryview, lambda b: memoryview(b)[0:], lambda b: array.array("B", b)]
    failures = []
    for i, (case, theirs) in enumerate(list(zip(cases, real, strict=True))[:120]):
        ours = framebuf_runner.run(case, wrap=wraps[i % len(wraps)])
        if ours != theirs:
            failures.append(describe(case, ours, theirs))
    assert not failures, "\n\n".join(failures[:3])


def test_argument_handling_matches_micropython(results):
    theirs = results[-1]
    ours = framebuf_runner.evaluate(EXPRS)
    bad = [(e, o, t) for e, o, t in zip(EXPRS, ours, theirs, strict=True) if o != t]
    assert not bad, "\n".join(f"{e}: stand-in {o}, micropython {t}" for e, o, t in bad)


def test_constants_match_micropython():
    out = subprocess.run(
        [
            str(MICROPYTHON),
            "-c",
            "import framebuf as f; print([getattr(f, n) for n in %r])"
            % (
                [
                    "MONO_VLSB",
                    "MVLSB",
                    "RGB565",
                    "GS2_HMSB",
                    "GS4_HMSB",
                    "GS8",
                    "MONO_HLSB",
                    "MONO_HMSB",
                ],
            ),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ours = [fb.MONO_VLSB, fb.MVLSB, fb.RGB565, fb.GS2_HMSB, fb.GS4_HMSB, fb.GS8]
    ours += [fb.MONO_HLSB, fb.MONO_HMSB]
    assert json.loads(out) == ours


# --------------------------------------------------------------------------- plain unit tests


def test_mono_bit_order():
    buf = bytearray(2)
    fb.FrameBuffer(buf, 16, 1, fb.MONO_HLSB).pixel(0, 0, 1)
    assert buf == b"\x80\x00"
    buf = bytearray(2)
    fb.FrameBuffer(buf, 16, 1, fb.MONO_HMSB).pixel(0, 0, 1)
    assert buf == b"\x01\x00"
    buf = bytearray(4)
    f = fb.FrameBuffer(buf, 2, 16, fb.MONO_VLSB)
    f.pixel(1, 9, 7)  # any non-zero colour is "1"
    assert buf == b"\x00\x00\x00\x02"
    assert f.pixel(1, 9) == 1 and f.pixel(0, 9) == 0


def test_pixel_out_of_range_and_masking():
    buf = bytearray(8)
    f = fb.FrameBuffer(buf, 8, 8, fb.MONO_VLSB)
    assert f.pixel(8, 0) is None and f.pixel(-1, 0) is None and f.pixel(0, 8) is None
    assert f.pixel(8, 0, 1) is None and buf == bytearray(8)
    f.pixel(0, 0, 0x1_0000_0000)  # a C uint32_t: this colour is 0
    assert buf[0] == 0
    g = fb.FrameBuffer(bytearray(4), 2, 1, fb.RGB565)
    g.pixel(1, 0, 0x12345)
    assert g.pixel(1, 0) == 0x2345


def test_fill_rect_hlsb_known_pattern():
    buf = bytearray(4)  # 16x2, MONO_HLSB
    f = fb.FrameBuffer(buf, 16, 2, fb.MONO_HLSB)
    f.fill_rect(3, 1, 7, 5, 1)  # clipped to row 1, x 3..9
    assert buf == b"\x00\x00\x1f\xc0"
    f.scroll(-2, -1)
    assert buf == b"\x7f\x00\x1f\xc0"  # moved, the uncovered row kept


def test_readonly_buffer_rejected_but_allowed_as_blit_tuple():
    with pytest.raises(TypeError):
        fb.FrameBuffer(bytes(8), 8, 8, fb.MONO_VLSB)
    buf = bytearray(8)
    fb.FrameBuffer(buf, 8, 8, fb.MONO_VLSB).blit((b"\xff" * 8, 8, 8, fb.MONO_VLSB), 2, 0)
    assert buf == b"\x00\x00" + b"\xff" * 6

"""The drawing half of tests/host/test_framebuf_diff.py, one piece of code for both sides.

MicroPython runs this file as a script on its real ``framebuf`` (one JSON job a line in the file
argv[1], one JSON result a line out); CPython imports it and runs the same functions against the
stand-in, host_tools.sim.platform.framebuf. So both sides draw, read and catch errors alike, and
only the module under them differs. Plain Python that MicroPython runs too.
"""

import array
import binascii
import json
import sys

if sys.implementation.name == "micropython":
    import framebuf
else:  # CPython: the stand-in under test
    from host_tools.sim.platform import framebuf


def make(spec, wrap=None):
    """(the buffer object, a FrameBuffer on it) from [fmt, w, h, stride, hex data]. ``wrap``
    turns the bytearray into the object handed to FrameBuffer (a memoryview, say)."""
    fmt, w, h, stride, data = spec
    buf = bytearray(binascii.unhexlify(data))
    obj = buf if wrap is None else wrap(buf)
    return obj, framebuf.FrameBuffer(obj, w, h, fmt, stride)


def run(case, wrap=None):
    """[the final buffer in hex, every pixel() read and error name on the way] of one case."""
    buf, f = make(case["fb"], wrap)
    others = [make(s, wrap) for s in case["srcs"]]
    out = []
    for op in case["ops"]:
        name = op[0]
        a = op[1:]
        try:
            if name == "get":
                out.append(f.pixel(a[0], a[1]))
            elif name == "blit":
                si, x, y, key, pi, as_tuple = a
                if si < 0:
                    src = f
                elif as_tuple:
                    s = case["srcs"][si]
                    src = (others[si][0], s[1], s[2], s[0], s[3])
                else:
                    src = others[si][1]
                if pi is not None:
                    f.blit(src, x, y, key, others[pi][1])
                elif key is not None:
                    f.blit(src, x, y, key)
                else:
                    f.blit(src, x, y)
            elif name == "poly":
                args = list(a)
                args[2] = array.array("h", args[2])
                f.poly(*args)
            else:
                getattr(f, name)(*a)
        except Exception as e:  # noqa: BLE001 - compared with what the other side raised
            out.append("error:" + type(e).__name__)
    return [binascii.hexlify(buf).decode(), out]


def construct(spec):
    """'ok', or the name of the error the constructor raised for [fmt, w, h, stride, size]."""
    fmt, w, h, stride, n = spec
    try:
        if stride is None:
            framebuf.FrameBuffer(bytearray(n), w, h, fmt)
        else:
            framebuf.FrameBuffer(bytearray(n), w, h, fmt, stride)
        return "ok"
    except Exception as e:  # noqa: BLE001
        return type(e).__name__


def evaluate(exprs):
    """[repr of the result or the error name, the buffer in hex] of each expression, run in
    order with fb = FrameBuffer(buf, 8, 16, MONO_VLSB) on a 16-byte buf."""
    buf = bytearray(16)
    ns = {"framebuf": framebuf, "array": array, "buf": buf}
    ns["fb"] = framebuf.FrameBuffer(buf, 8, 16, framebuf.MONO_VLSB)
    out = []
    for expr in exprs:
        try:
            r = repr(eval(expr, ns))
        except Exception as e:  # noqa: BLE001
            r = type(e).__name__
        out.append([r, binascii.hexlify(buf).decode()])
    return out


def main(path):
    with open(path) as fh:
        for line in fh:
            job = json.loads(line)
            if "ctor" in job:
                print(json.dumps([construct(s) for s in job["ctor"]]))
            elif "exprs" in job:
                print(json.dumps(evaluate(job["exprs"])))
            else:
                print(json.dumps(run(job)))


if __name__ == "__main__":
    main(sys.argv[1])

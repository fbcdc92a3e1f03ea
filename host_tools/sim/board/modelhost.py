"""The model host: a unit's chip and panel models in this CPython process, served over two
pipes to the unit's MicroPython VM (host_tools/sim/board/modellink.py is the unit's side and says
the wire format). The unit's heap then holds the unit alone, as on an ESP32.

    host = ModelHost(root)                     # root: the folder profile paths are under
    r, w = host.pipes()                        # the VM's ends: pass_fds, and
    env["SUNPRINT_MODEL_LINK"] = "%d,%d" % (r, w)
    proc = subprocess.Popen([vm, ...], pass_fds=(r, w), env=env)
    host.start()                               # serves in a thread until the VM closes its ends
    ... proc.wait(); host.join()

What crosses: pin levels, SPI writes, I2C register reads and writes, UART traffic, the unit's
clock (an 8-byte ns before a request when it moved; back in an answer when a model moved it,
as a UART flush waits for the last stop bit), and the test's own JSON calls on the rig and
the models (wire a profile, set the power, read the picture).
"""

import errno
import json
import os
import struct
import threading
from pathlib import Path

from host_tools.sim import rig as rigmod
from host_tools.sim.board import modellink as ml


class _Wiring:
    """The fake machine's wiring tables (host_tools.sim.platform.machine's interface), private to one
    host: pins, SPI, I2C and UART ids -> the models rig.wire put there."""

    def __init__(self):
        self.pins = {}
        self.spi = {}
        self.i2c = {}
        self.uart = {}
        self.clock = None

    def wire_pin(self, n, target):
        self.pins[n] = target

    def wire_spi(self, bus_id, target):
        self.spi[bus_id] = target

    def wire_i2c(self, bus_id, target):
        self.i2c[bus_id] = target

    def wire_uart(self, bus_id, target):
        self.uart[bus_id] = target

    def set_clock(self, clock):
        self.clock = clock

    def unwire(self):
        self.pins.clear()
        self.spi.clear()
        self.i2c.clear()
        self.uart.clear()


class ModelHost:
    def __init__(self, root):
        self.root = Path(root)
        self.wiring = _Wiring()
        self.clock = rigmod.Clock()
        self.rig = None
        self.neo = None  # the WS2812 strip model, once the unit made its NeoPixel
        self.refs = {}  # id -> an object the VM holds a proxy of (as long as this host runs)
        self._last_ref = 0
        self.blobs = []  # the bytes of the last JSON answer, fetched with OP_BLOB
        self.puts = []  # the bytes the next JSON request names
        self.error = None  # the first failure of a request without an answer
        self.requests = 0
        self._thread = None
        self._fds = None

    def pipes(self):
        """(read fd, write fd) for the VM; this host keeps the other ends."""
        to_vm_r, to_vm_w = os.pipe()
        from_vm_r, from_vm_w = os.pipe()
        self._fds = (from_vm_r, to_vm_w)
        self._vm_fds = (to_vm_r, from_vm_w)
        return self._vm_fds

    def start(self):
        """Serve in a thread; call after the VM started (the VM's ends are closed here)."""
        for fd in self._vm_fds:
            os.close(fd)
        self._thread = threading.Thread(target=self.serve, daemon=True)
        self._thread.start()

    def join(self, timeout=10):
        if self._thread is not None:
            self._thread.join(timeout)

    # --- the loop ---

    def serve(self):
        rfd, wfd = self._fds
        with open(rfd, "rb", buffering=1 << 16) as r, open(wfd, "wb", buffering=0) as w:
            self._r, self._w = r, w
            while True:
                head = r.read(4)
                if len(head) < 4:
                    return
                op, ident, n = head[0], head[1], head[2] | head[3] << 8
                data = r.read(n) if n else b""
                self.requests += 1
                try:
                    self.handle(op, ident, data)
                except BrokenPipeError:
                    return

    def _moved(self, before):
        return self.clock.ns != before

    def _answer(self, status, data=b"", clock_before=None):
        flags = 0
        extra = b""
        if clock_before is not None and self.clock.ns != clock_before:
            flags = ml.FLAG_CLOCK
            extra = struct.pack("<q", self.clock.ns)
        if status == 0 and self.error is not None:  # a request without an answer failed
            status, data, self.error = ml.STATUS_ERROR, self.error.encode(), None
        self._w.write(bytes((status, flags, len(data) & 0xFF, len(data) >> 8)) + extra + data)

    def handle(self, op, ident, data):
        w = self.wiring
        if op == ml.OP_CLOCK:
            self.clock.ns = struct.unpack("<q", data)[0]
            return
        if op == ml.OP_PUT:
            self.puts.append(data)
            return
        if op == ml.OP_NEO_WRITE:  # the strip latches what the unit wrote
            strip = self.neo
            strip.buf[:] = data
            strip.write()
            return
        if op == ml.OP_PIN_SET or op == ml.OP_SPI_WRITE or op == ml.OP_UART_WRITE:
            try:
                if op == ml.OP_PIN_SET:
                    t = w.pins.get(ident)
                    if t is not None:
                        t.value(data[0])
                elif op == ml.OP_SPI_WRITE:
                    w.spi[ident].write(data)
                else:
                    w.uart[ident].write(data)
            except Exception as e:  # noqa: BLE001 - reported at the next answer
                if self.error is None:
                    self.error = "%s on the model host: %s: %s" % (
                        chr(op),
                        type(e).__name__,
                        e,
                    )
            return
        before = self.clock.ns
        try:
            out = self._ask(op, ident, data)
        except OSError as e:
            self._answer(e.errno or errno.EIO, b"", before)
            return
        except Exception as e:  # noqa: BLE001 - the VM raises it as a LinkError
            text = "%s: %s" % (type(e).__name__, e)
            self._answer(ml.STATUS_ERROR, text.encode()[:4000], before)
            return
        self._answer(0, out, before)

    def _ask(self, op, ident, data):
        w = self.wiring
        if op == ml.OP_PIN_GET:
            t = w.pins.get(ident)
            return bytes((1 if t is not None and t.value() else 0,))
        if op == ml.OP_I2C_READ_MEM:
            addr, reg, n = data[0], data[1] | data[2] << 8, data[3] | data[4] << 8
            buf = bytearray(n)
            w.i2c[ident].readfrom_mem_into(addr, reg, buf)
            return bytes(buf)
        if op == ml.OP_I2C_WRITE_MEM:
            w.i2c[ident].writeto_mem(data[0], data[1] | data[2] << 8, data[3:])
            return b""
        if op == ml.OP_UART_FLUSH:
            w.uart[ident].flush()
            return b""
        if op == ml.OP_UART_ANY:
            n = w.uart[ident].any()
            return bytes((n & 0xFF, n >> 8))
        if op == ml.OP_UART_READ:
            n = data[0] | data[1] << 8
            buf = bytearray(n)
            k = w.uart[ident].readinto(buf, n) or 0
            return bytes(buf[:k])
        if op == ml.OP_JSON:
            self.blobs = []
            try:
                return json.dumps(self._call(json.loads(data))).encode()
            finally:
                self.puts = []
        if op == ml.OP_BLOB:
            return self.blobs[data[1] | data[2] << 8]
        raise ValueError("unknown request %r" % chr(op))

    # --- the test's calls ---

    def _encode(self, v):
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, (bytes, bytearray, memoryview)):
            # bytes stay bytes (a file's read()), a bytearray a bytearray (a picture)
            kind = {"ba": 1} if isinstance(v, bytearray) else {}
            if len(v) > 64:  # fetched raw by the VM: no hex text in its heap
                self.blobs.append(bytes(v))
                return dict(kind, **{"$blob": len(v), "id": len(self.blobs) - 1})
            return dict(kind, **{"$b": bytes(v).hex()})
        if isinstance(v, tuple):
            return {"$t": [self._encode(x) for x in v]}
        if isinstance(v, list):
            return [self._encode(x) for x in v]
        if isinstance(v, dict) and all(isinstance(k, str) for k in v):
            return {k: self._encode(x) for k, x in v.items()}
        if isinstance(v, set):
            return [self._encode(x) for x in sorted(v)]
        self._last_ref += 1
        ref = str(self._last_ref)
        self.refs[ref] = v
        if callable(v) and not isinstance(v, type):
            return {"$fn": ref}
        return {"$ref": ref}

    def _arg(self, a):
        if isinstance(a, dict):
            if "$put" in a:
                return self.puts[a["$put"]]
            if "$b" in a:
                return bytes.fromhex(a["$b"])
            return {k: self._arg(v) for k, v in a.items()}
        return a

    def _call(self, req):
        if "wire" in req:
            return self._wire(req["wire"])
        if req.get("new") == "flash":  # the unit's flash: files here, not in its heap
            from host_tools.sim.platform.faultfs import FaultFS

            return self._encode(FaultFS(*[self._arg(a) for a in req["args"]]))
        if "neopixel" in req:
            n, bpp, timing = req["neopixel"]
            self.neo = self.rig.neopixel.NeoPixel(None, n, bpp, timing)
            return None
        if "pcnt" in req:
            p = self.rig.esp32.PCNT(req["pcnt"], **self._pcnt_kw(req["kw"]))
            p.events = []
            return self._encode(p)["$ref"]
        if "pcnt_do" in req:
            p = self.refs[req["pcnt_do"]]
            do, kw = req["do"], self._pcnt_kw(req["kw"])
            if do == "irq":  # the unit's handler runs in the VM: record the events here

                def record(pcnt):
                    pcnt.events.append(pcnt.irq().flags())

                p.irq(handler=record, trigger=kw["trigger"])
            else:
                getattr(p, do)(**kw)
            return None
        if "pcnt_value" in req:
            p = self.refs[req["pcnt_value"]]
            c = p.value(req["v"])
            events, p.events = p.events, []
            return [c, events]
        if "get" in req:
            obj = self.refs[req["get"]]
            try:
                value = getattr(obj, req["name"])
            except AttributeError:
                return {"$noattr": req["name"]}
            return self._encode(value)
        if "item" in req:
            return self._encode(self.refs[req["item"]][req["key"]])
        if "set" in req:
            setattr(self.refs[req["set"]], req["name"], req["value"])
            return None
        if "call" in req:
            fn = self.refs[req["call"]]
            args = [self._arg(a) for a in req["args"]]
            return self._encode(fn(*args, **req["kwargs"]))
        raise ValueError("unknown call %r" % sorted(req))

    def _pcnt_kw(self, kw):
        pin = kw.get("pin")
        if isinstance(pin, dict):  # machine.Pin(n) in the VM: the model wired on pin n
            kw = dict(kw, pin=self.wiring.pins[pin["$pin"]])
        return kw

    def _wire(self, profile):
        if isinstance(profile, str):
            path = Path(profile)
            if not path.is_absolute():
                path = self.root / path
            profile = json.loads(path.read_text(encoding="utf-8"))
        w = self.wiring
        rig = rigmod.wire(profile, self.clock, w)
        self.rig = rig
        self.neo = None
        self.refs["rig"] = rig
        return {
            "rig": "rig",
            "kind": rig.kind,
            "width": rig.width,
            "height": rig.height,
            "family": rig._family,
            "sensor_type": rig.sensor_type,
            "pins": sorted(w.pins),
            "spi": sorted(w.spi),
            "i2c": sorted(w.i2c),
            "uart": sorted(w.uart),
            "neopixel": rig.neopixel is not None,
            "esp32": rig.esp32 is not None,
        }

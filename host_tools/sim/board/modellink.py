# The chip and panel models outside the unit's VM: the unit side of the model link.
#
# A whole unit in MicroPython at an ESP32's heap (110 KB) has no room for the models of its
# panel and sensor beside it (an SSD1683's RAM planes alone are 45 KB). So the models run in
# the host's CPython (host_tools/sim/board/modelhost.py) and the unit's fake machine forwards each
# bus transaction to them over two pipes: a pin level, an SPI write, an I2C register read, a
# UART write/flush/any/readinto. The unit's side allocates nothing per transaction: one
# preallocated header buffer, data read straight into the driver's buffer.
#
#     from host_tools.sim.platform import machine as fake
#     from host_tools.sim.board import modellink
#     rig = modellink.wire("boards/esp32-epd29-ina226.json", clock)   # or a profile dict
#     runner = main.main(fake, ..., ticks_ms=clock.ticks_ms, bus_sleep_ms=clock.block_ms)
#     rig.models["sensor"].set(1.5, 30.0); rig.picture(); rig.models["display"].refreshes
#
# Without a model host (CPython, or a VM started without one) wire() is rig.wire() in this
# process and the same code runs. With one (the environment names the pipes' file
# descriptors: SUNPRINT_MODEL_LINK="<read fd>,<write fd>", tests/conftest.py sets it), wire()
# asks the host to wire the profile's models and puts a forwarding object on each pin and bus
# the host wired; rig is then a proxy: its attributes and methods, and those of the models
# behind it, are fetched and called on the host (JSON, for the test's own calls, not the
# unit's). Portable Python: MicroPython syntax, no typing.
#
# The wire format (little-endian). A request: op (1 byte), id (1: pin number or bus id),
# n (2), then n bytes. The ops with an answer get: status (1: 0, an errno for OSError, 255
# for another error, its text the data), flags (1: bit 0 = the host's clock moved, 8 bytes
# of its ns follow), n (2), then n bytes. Before any request, when the unit's clock moved
# since the last one, an OP_CLOCK carries its ns: the models see the unit's time.

import struct

OP_CLOCK = 0x63  # c: payload 8 bytes ns, no answer
OP_PIN_SET = 0x50  # P: payload 1 byte level, no answer
OP_PIN_GET = 0x70  # p: answer 1 byte
OP_SPI_WRITE = 0x53  # S: payload the bytes, no answer
OP_I2C_READ_MEM = 0x52  # R: payload addr, reg (2), n (2); answer n bytes
OP_I2C_WRITE_MEM = 0x57  # W: payload addr, reg (2), the bytes; answer empty
OP_UART_WRITE = 0x55  # U: payload the bytes, no answer
OP_UART_FLUSH = 0x46  # F: answer empty (the host's clock moves to the last stop bit)
OP_UART_ANY = 0x41  # A: answer 2 bytes
OP_UART_READ = 0x49  # I: payload n (2); answer up to n bytes
OP_JSON = 0x4A  # J: payload a JSON request; answer a JSON reply
OP_NEO_WRITE = 0x4E  # N: payload the strip's bytes (np.write()), no answer
OP_PUT = 0x62  # b: payload bytes for the next JSON request's {"$put": k}, no answer
OP_BLOB = 0x42  # B: payload a blob's id (2); answer its bytes (a picture, raw, not in JSON)
FLAG_CLOCK = 1
STATUS_ERROR = 255
ENV = "SUNPRINT_MODEL_LINK"

_link = [None]


def _env():
    try:
        import os

        return os.getenv(ENV)
    except (ImportError, AttributeError):
        return None


def link():
    """The Link to this VM's model host, or None where there is none."""
    lk = _link[0]
    if lk is None:
        spec = _env()
        if spec:
            r, w = spec.split(",")
            lk = _link[0] = Link(int(r), int(w))
    return lk


class LinkError(Exception):
    pass


class Link:
    def __init__(self, rfd, wfd):
        self._r = open(rfd, "rb")
        self._w = open(wfd, "wb")
        self._head = bytearray(4)
        self._ns = bytearray(8)
        self._args = bytearray(5)
        self._pre = memoryview(self._args)[:3]
        self.clock = None
        self._sent = None  # the clock's ns object last sent
        self.rx = 0  # bytes of the last answer
        self._owed = 0  # 1 while an answer is due (a Ctrl-C may leave it unread)

    # --- sending ---

    def _sync(self):
        c = self.clock
        if c is not None:
            ns = c.ns
            if ns is not self._sent:
                self._sent = ns
                struct.pack_into("<q", self._ns, 0, ns)
                self._frame(OP_CLOCK, 0, 8)
                self._w.write(self._ns)

    def _frame(self, op, ident, n):
        h = self._head
        h[0] = op
        h[1] = ident
        h[2] = n & 0xFF
        h[3] = n >> 8
        self._w.write(h)

    def send(self, op, ident, data=None, n=0):
        """A request without an answer: op, ident, then data (n bytes of it: all of it when
        n is 0)."""
        if data is not None:
            if n == 0:
                n = len(data)
            elif n != len(data):
                data = memoryview(data)[:n]
        # Nothing allocates from here to the end of the frame: a MemoryError between a
        # header and its payload would leave the host reading the next frame as payload.
        self._sync()
        self._frame(op, ident, n)
        if n:
            self._w.write(data)

    def ask(self, op, ident, data=None, n=0, into=None):
        """A request with an answer: its data goes into `into` (a buffer) when given; returns
        the answer's length (self.rx too). Raises OSError(errno) as the bus did."""
        if self._owed:  # a Ctrl-C stopped the last wait for an answer: skip that one
            self._owed = 0
            self.answer(bytearray(0), skip=True)
        self.send(op, ident, data, n)
        self._owed = 1
        return self.answer(into)

    def answer(self, into=None, skip=False):
        r = self._r
        h = self._head
        if r.readinto(h, 4) != 4:
            raise LinkError("model host gone")
        status = h[0]
        flags = h[1]
        n = h[2] | h[3] << 8
        if flags & FLAG_CLOCK:
            r.readinto(self._ns, 8)
            c = self.clock
            if c is not None:
                try:
                    c.ns = struct.unpack_from("<q", self._ns, 0)[0]
                    self._sent = c.ns
                except AttributeError:  # a clock in real time: the host's model waits
                    pass
        self.rx = n
        if skip or status or into is not None and n > len(into):
            text = b""
            try:
                text = r.read(n) if status and n else b""
            except MemoryError:
                self._drain(n)
                n = 0
            else:
                if not (status and n):
                    self._drain(n)
            self._owed = 0
            if skip:
                return 0
            if status == STATUS_ERROR:
                raise LinkError(text.decode())
            if status:
                raise OSError(status)
            raise LinkError("answer of %d bytes for a %d byte buffer" % (n, len(into)))
        if n:
            if into is None:
                try:
                    data = r.read(n)
                except MemoryError:
                    self._drain(n)  # the next answer must start where it starts
                    self._owed = 0
                    raise
                self._owed = 0
                return data
            r.readinto(into, n)
        self._owed = 0
        return n

    def _drain(self, n):
        b = self._ns
        while n > 0:
            k = 8 if n > 8 else n
            self._r.readinto(b, k)
            n -= k

    def small(self, op, ident, a, b=0, c=0, n=5, into=None):
        """A request whose payload is a byte, then two 16-bit fields (preallocated)."""
        p = self._args
        p[0] = a
        p[1] = b & 0xFF
        p[2] = b >> 8
        p[3] = c & 0xFF
        p[4] = c >> 8
        return self.ask(op, ident, p, n, into)

    def call(self, request):
        import json

        args = request.get("args")
        if args:  # a big buffer goes raw, before the request that names it
            puts = 0
            for i in range(len(args)):
                a = args[i]
                if isinstance(a, (bytes, bytearray, memoryview)):
                    if len(a) > 64:
                        self.send(OP_PUT, 0, a)
                        args[i] = {"$put": puts}
                        puts += 1
                    else:
                        from binascii import hexlify

                        args[i] = {"$b": hexlify(a).decode()}
        data = json.dumps(request).encode()
        reply = self.ask(OP_JSON, 0, data)
        return _decode(json.loads(reply))


def _decode(v):
    if isinstance(v, dict):
        if "$blob" in v:
            buf = bytearray(v["$blob"])
            ident = v["id"]
            lk = _link[0]
            lk.small(OP_BLOB, 0, 0, ident, n=3, into=buf)
            return buf if "ba" in v else bytes(buf)
        if "$b" in v:
            from binascii import unhexlify

            b = unhexlify(v["$b"])
            return bytearray(b) if "ba" in v else b
        if "$ref" in v:
            return Remote(_link[0], v["$ref"])
        if "$fn" in v:
            return RemoteMethod(_link[0], v["$fn"])
        if "$t" in v:
            return tuple(_decode(x) for x in v["$t"])
        return {k: _decode(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_decode(x) for x in v]
    return v


# --- the unit's buses: what the fake machine's Pin(n), SPI(id), I2C(id), UART(id) return ---


class LinkPin:
    def __init__(self, lk, n):
        self._lk = lk
        self._n = n
        self._b = bytearray(1)

    def value(self, v=None):
        lk = self._lk
        b = self._b
        if v is None:
            lk.ask(OP_PIN_GET, self._n, into=b)
            return b[0]
        b[0] = 1 if v else 0
        lk.send(OP_PIN_SET, self._n, b)
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class LinkSPI:
    def __init__(self, lk, bus_id):
        self._lk = lk
        self._id = bus_id

    def init(self, *args, **kwargs):
        pass

    def write(self, buf):
        self._lk.send(OP_SPI_WRITE, self._id, buf)


class LinkI2C:
    def __init__(self, lk, bus_id):
        self._lk = lk
        self._id = bus_id

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        self._lk.small(OP_I2C_READ_MEM, self._id, addr, memaddr, len(buf), into=buf)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf)
        return buf

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        lk = self._lk
        p = lk._args
        p[0] = addr
        p[1] = memaddr & 0xFF
        p[2] = memaddr >> 8
        lk._sync()
        lk._frame(OP_I2C_WRITE_MEM, self._id, 3 + len(buf))
        lk._w.write(lk._pre)
        lk._w.write(buf)
        lk.answer()


class LinkUART:
    def __init__(self, lk, bus_id):
        self._lk = lk
        self._id = bus_id
        self._n = bytearray(2)

    def init(self, *args, **kwargs):
        pass

    def deinit(self):
        pass

    def write(self, buf):
        self._lk.send(OP_UART_WRITE, self._id, buf)
        return len(buf)

    def flush(self):
        self._lk.ask(OP_UART_FLUSH, self._id)

    def any(self):
        b = self._n
        self._lk.ask(OP_UART_ANY, self._id, into=b)
        return b[0] | b[1] << 8

    def readinto(self, buf, nbytes=-1):
        n = len(buf) if nbytes < 0 else nbytes
        b = self._n
        b[0] = n & 0xFF
        b[1] = n >> 8
        k = self._lk.ask(OP_UART_READ, self._id, b, 2, into=buf)
        return k if k else None


class LinkNeoPixel:
    """neopixel.NeoPixel (micropython-lib's API): the bytes here, write() sends them to the
    strip model on the host."""

    ORDER = (1, 0, 2, 3)  # G R B W

    def __init__(self, lk, pin, n, bpp=3, timing=1):
        self._lk = lk
        self.pin = pin
        self.n = n
        self.bpp = bpp
        self.timing = timing
        self.buf = bytearray(n * bpp)
        self.writes = 0
        lk.call({"neopixel": [n, bpp, timing]})

    def __len__(self):
        return self.n

    def __setitem__(self, i, v):
        o = i * self.bpp
        for c in range(self.bpp):
            self.buf[o + self.ORDER[c]] = v[c]

    def __getitem__(self, i):
        o = i * self.bpp
        return tuple(self.buf[o + self.ORDER[c]] for c in range(self.bpp))

    def fill(self, v):
        for i in range(self.n):
            self[i] = v

    def write(self):
        self._lk.send(OP_NEO_WRITE, 0, self.buf)
        self.writes += 1


class _Module:
    pass


def _neopixel_module(lk):
    m = _Module()

    def make(pin, n, bpp=3, timing=1):
        return LinkNeoPixel(lk, pin, n, bpp, timing)

    m.NeoPixel = make
    return m


class _LinkIrq:
    def __init__(self, pcnt):
        self._pcnt = pcnt

    def flags(self):
        p = self._pcnt
        f = p._flags
        p._flags = 0
        return f


class LinkPCNT:
    """esp32.PCNT, the counter on the host (its FakePCNT counts the S0 pin model's edges).
    The wrap IRQ's handler runs here, from value(), as the port's scheduler would run it."""

    INCREMENT = 1
    DECREMENT = 2
    IGNORE = 0
    IRQ_ZERO = 1
    IRQ_MIN = 8
    IRQ_MAX = 16
    _lk = None

    def __init__(self, id, **kw):
        self._ref = self._lk.call({"pcnt": id, "kw": self._kw(kw)})
        self._handler = None
        self._flags = 0
        self._irq = _LinkIrq(self)

    @staticmethod
    def _kw(kw):
        pin = kw.get("pin")
        if pin is not None:
            kw["pin"] = {"$pin": pin.id}
        return kw

    def init(self, **kw):
        self._lk.call({"pcnt_do": self._ref, "do": "init", "kw": self._kw(kw)})

    def start(self):
        self._lk.call({"pcnt_do": self._ref, "do": "start", "kw": {}})

    def stop(self):
        self._lk.call({"pcnt_do": self._ref, "do": "stop", "kw": {}})

    def deinit(self):
        self._handler = None
        self._lk.call({"pcnt_do": self._ref, "do": "deinit", "kw": {}})

    def irq(self, handler=0, trigger=IRQ_ZERO):
        if handler != 0:  # irq() alone returns the IRQ object
            self._handler = handler
            self._lk.call({"pcnt_do": self._ref, "do": "irq", "kw": {"trigger": trigger}})
        return self._irq

    def value(self, v=None):
        c, events = self._lk.call({"pcnt_value": self._ref, "v": v})
        h = self._handler
        for f in events:
            self._flags = f
            if h is not None:
                h(self)
        return c


# --- the test's side: the rig and the models, on the host ---


class Remote:
    """An object on the model host: attributes fetched, methods called there."""

    def __init__(self, lk, ref):
        object.__setattr__(self, "_lk", lk)
        object.__setattr__(self, "_ref", ref)

    def __setattr__(self, name, value):
        self._lk.call({"set": self._ref, "name": name, "value": value})

    def __getattr__(self, name):
        v = self._lk.call({"get": self._ref, "name": name})
        if isinstance(v, dict) and "$noattr" in v:
            raise AttributeError(name)
        return v

    def __getitem__(self, key):
        return self._lk.call({"item": self._ref, "key": key})


class RemoteMethod:
    def __init__(self, lk, ref):
        self._lk = lk
        self._ref = ref

    def __call__(self, *args, **kwargs):
        return self._lk.call({"call": self._ref, "args": list(args), "kwargs": kwargs})


class RemoteRig:
    """rig.Rig's interface, the rig on the model host."""

    def __init__(self, lk, clock, wired):
        self._lk = lk
        self.clock = clock
        self._rig = Remote(lk, wired["rig"])
        self.models = self._rig.models
        self.kind = wired["kind"]
        self.width = wired["width"]
        self.height = wired["height"]
        self._family = wired["family"]
        self.sensor_type = wired["sensor_type"]
        self.esp32 = None
        self.neopixel = None
        if wired["neopixel"]:
            self.neopixel = _neopixel_module(lk)
        if wired["esp32"]:
            LinkPCNT._lk = lk
            self.esp32 = _Module()
            self.esp32.PCNT = LinkPCNT

    def __getattr__(self, name):
        return getattr(self._rig, name)


def flash(files=None):
    """An in-memory flash that loses power on command (host_tools.sim.platform.faultfs.FaultFS, with
    its `written` counts): on the model host where this VM has one (its files are flash on a
    unit, not heap), else here. files: path -> bytes to start with."""
    lk = link()
    if lk is None:
        from host_tools.sim.platform.faultfs import FaultFS

        return FaultFS(files)
    enc = None
    if files:
        from binascii import hexlify

        enc = {p: {"$b": hexlify(files[p]).decode()} for p in files}
    return lk.call({"new": "flash", "args": [enc]})


def wire(profile, clock, machine=None):
    """The profile's models wired onto the fake machine, on `clock`: in this process, or on the
    model host where this VM has one. `profile` is a board profile (a dict) or its JSON path;
    the model host is handed the path (the host reads it: nothing big crosses the link)."""
    if machine is None:
        from host_tools.sim.platform import machine
    lk = link()
    if lk is None:
        from host_tools.sim import rig as rigmod

        if isinstance(profile, str):
            import json

            with open(profile) as f:
                profile = json.load(f)
        return rigmod.wire(profile, clock, machine)
    machine.unwire()
    machine.set_clock(clock)
    lk.clock = clock
    lk._sent = None
    wired = lk.call({"wire": profile})
    for n in wired["pins"]:
        machine.wire_pin(n, LinkPin(lk, n))
    for i in wired["spi"]:
        machine.wire_spi(i, LinkSPI(lk, i))
    for i in wired["i2c"]:
        machine.wire_i2c(i, LinkI2C(lk, i))
    for i in wired["uart"]:
        machine.wire_uart(i, LinkUART(lk, i))
    return RemoteRig(lk, clock, wired)

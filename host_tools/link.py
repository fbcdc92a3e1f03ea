"""The link to a unit: mpremote's serial transport (raw REPL, raw-paste) with the few file and
code helpers the host tools need, and errors a person can read.

    with link.open_link("/dev/ttyUSB0") as dev:      # or /dev/pts/N, socket://host:port
        dev.exec("import sunprint")
        version = dev.eval("sunprint.VERSION")
        dev.write_file("/x.txt", b"...")               # base64 chunks, decoded on the unit
        dev.sha256_tree("/app")                        # {relative path: hex}, hashed on the unit

Errors:
- UserError (the CLI exits 2): no such port, a port another program holds, a board that does
  not answer with a raw REPL within `timeout` seconds;
- LinkLost (the job failed): the link went away in the middle of a conversation;
- DeviceError (the job failed): code sent to the unit raised; str() is the unit's last
  traceback line.

`bytes_sent` counts every byte written to the unit (code, data and REPL control bytes).
"""

import ast
import base64
import contextlib
import io
import os
import time

from host_tools.errors import UserError

# Raw bytes per upload chunk: 4 KB of base64 source for the unit to parse, comfortably within
# an ESP32's heap, and a few dozen bytes of command per chunk (<1 % overhead).
UPLOAD_CHUNK = 3072
DOWNLOAD_CHUNK = 3072
# pyserial's read timeout: mpremote waits for bytes with read(1) on a pty, which without one
# blocks for ever on a silent board; its bare read(2) of a reply ("OK", "R\x01") comes within
# milliseconds from a board.
READ_TIMEOUT_S = 1.0
ENTER_ATTEMPT_S = 1.5  # wait this long for the raw REPL before interrupting again
SETTLE_S = 0.2  # quiet on the line after which stale banners have all arrived
LONG_TIMEOUT_S = 120  # a unit hashing or copying its whole flash stays quiet this long at most

# Helpers defined once per session in the unit's REPL globals (names start with _sp_).
_HELPERS = """\
import os, binascii, hashlib
_sp_a = binascii.a2b_base64
_sp_buf = bytearray(1024)
def _sp_isdir(p):
    try:
        return os.stat(p)[0] & 0x4000 != 0
    except OSError:
        return False
def _sp_mkdirs(p):
    q = ''
    for part in p.split('/'):
        if not part:
            continue
        q += '/' + part
        if not _sp_isdir(q):
            os.mkdir(q)
def _sp_files(d, pre=''):
    for e in os.ilistdir(d):
        n = e[0]
        if e[1] & 0x4000:
            yield from _sp_files(d + '/' + n, pre + n + '/')
        else:
            yield pre + n
def _sp_hash(p):
    h = hashlib.sha256()
    mv = memoryview(_sp_buf)
    with open(p, 'rb') as f:
        while True:
            n = f.readinto(_sp_buf)
            if not n:
                break
            h.update(mv[:n])
    return binascii.hexlify(h.digest()).decode()
def _sp_tree(d):
    if not _sp_isdir(d):
        return
    for r in _sp_files(d):
        print(r, _sp_hash(d + '/' + r))
def _sp_rmtree(d):
    for e in os.ilistdir(d):
        p = d + '/' + e[0]
        if e[1] & 0x4000:
            _sp_rmtree(p)
        else:
            os.remove(p)
    os.rmdir(d)
def _sp_copy(src, dst):
    mv = memoryview(_sp_buf)
    with open(src, 'rb') as a:
        with open(dst, 'wb') as b:
            while True:
                n = a.readinto(_sp_buf)
                if not n:
                    break
                b.write(mv[:n])
def _sp_rename(a, b):
    try:
        os.rename(a, b)
    except OSError:
        os.remove(b)
        os.rename(a, b)
def _sp_read(p, n):
    with open(p, 'rb') as f:
        while True:
            b = f.read(n)
            if not b:
                break
            print(binascii.b2a_base64(b).decode(), end='')
"""


# Without a soft reset the unit keeps what its boot did. A Ctrl-C that landed in boot.py (the
# launcher) stopped it before it put the app's folder on sys.path, and a board then skips
# main.py: import the launcher, as the root main.py does (a sunprint unit only: /app/current).
_FINISH_BOOT = """\
import sys
if 'boot' not in sys.modules:
    try:
        open('/app/current').close()
    except OSError:
        pass
    else:
        import boot
"""


class LinkLost(Exception):
    """The link to the unit went away mid-conversation."""


class DeviceError(Exception):
    """Code run on the unit raised; str() is its last traceback line, .traceback all of it."""

    def __init__(self, message, traceback=""):
        super().__init__(message)
        self.traceback = traceback


class _CountingSerial:
    """The pyserial object, with the bytes written to it counted (and a switch to cut it)."""

    def __init__(self, serial):
        self._serial = serial
        self.written = 0

    def write(self, data):
        n = self._serial.write(data)
        self.written += len(data)
        return n

    def __getattr__(self, name):
        return getattr(self._serial, name)


def _last_line(text):
    lines = [ln for ln in text.replace("\r", "").splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "error on the unit"


def _is_path_port(port):
    return "://" not in port


class Link:
    """A unit on the other end of `port`, in its raw REPL. Use open_link() to make one."""

    def __init__(self, port, *, timeout=5.0, soft_reset=True):
        self.port = port
        self.timeout = timeout
        self._helpers = False
        self._transport = _connect(port, timeout)
        self._serial = _CountingSerial(self._transport.serial)
        self._transport.serial = self._serial
        try:
            self._enter(soft_reset)
        except BaseException:
            self.close()
            raise

    # -- the conversation --

    @property
    def bytes_sent(self):
        return self._serial.written

    def _enter(self, soft_reset):
        """Into the raw REPL (interrupting what runs); soft_reset: then a soft reset, which
        runs boot.py in a fresh interpreter."""
        try:
            self._raw_prompt()
            if soft_reset:
                self._soft_reset()
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001 - TransportError, SerialException, OSError
            raise UserError(
                "%s: the board does not answer (%s)" % (self.port, e or type(e).__name__)
            ) from e
        self._helpers = False
        if not soft_reset:
            self.exec(_FINISH_BOOT)

    def _raw_prompt(self):
        # A Ctrl-C that arrives between boot.py and main.py is only a character in the input
        # (a board raises KeyboardInterrupt only while code runs), and the app then starts:
        # so interrupt again, every ENTER_ATTEMPT_S, until the raw REPL answers or the timeout
        # has passed.
        deadline = time.monotonic() + self.timeout
        attempts = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise UserError(
                    "%s: the board does not answer (no raw REPL within %g s: is it a "
                    "MicroPython unit, and is nothing else using the port?)"
                    % (self.port, self.timeout)
                )
            attempts += 1
            try:
                # mpremote prints what it got when the board does not answer: keep that out
                # of the terminal.
                with contextlib.redirect_stdout(io.StringIO()):
                    self._transport.enter_raw_repl(
                        soft_reset=False, timeout_overall=min(left, ENTER_ATTEMPT_S)
                    )
                break
            except OSError:
                raise  # the port itself failed
            except Exception:  # noqa: BLE001, S112 - TransportError: ask again
                continue
        if attempts > 1:
            self._resync()
        # The prompt ">" that follows stays on the line: mpremote's exec reads up to it.

    def _resync(self):
        # Each attempt queued its own Ctrl-A: let their banners arrive and drop them, then
        # ask for one more (Ctrl-A in the raw REPL prints the banner again).
        self._quiet(SETTLE_S, self.timeout)
        self._serial.write(b"\x01")
        self._expect(b"raw REPL; CTRL-B to exit\r\n")

    def _expect(self, ending):
        data = self._transport.read_until(1, ending, timeout_overall=self.timeout)
        if not data.endswith(ending):
            raise UserError(
                "%s: the board does not answer as a MicroPython raw REPL (expected %r, got %r)"
                % (self.port, ending, data[-40:])
            )

    def _soft_reset(self):
        # At the raw prompt, Ctrl-D on an empty line is a soft reset: boot.py runs (however
        # long it takes, up to the timeout: no Ctrl-C may cut it short), then the banner.
        self._expect(b">")
        self._serial.write(b"\x04")
        self._expect(b"soft reboot\r\n")
        self._expect(b"raw REPL; CTRL-B to exit\r\n")

    def exec(self, code, *, timeout=10, consumer=None):
        """Run code on the unit; its printed output as bytes. DeviceError if it raised."""
        try:
            out, err = self._transport.exec_raw(code, timeout=timeout, data_consumer=consumer)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - TransportError, SerialException, struct.error
            raise LinkLost("%s: the link to the unit was lost (%s)" % (self.port, e)) from e
        if err:
            text = err.decode("utf-8", "replace")
            raise DeviceError(_last_line(text), text)
        return out

    def set_rtc(self, now=None):
        """Set the unit's RTC (machine.RTC) to the laptop's UTC; now: the laptop's Unix time
        (default time.time()). Returns the seconds it corrected: the laptop's time minus the
        unit's before, an int (a unit just powered on reads 2000-01-01: about -8e8)."""
        import datetime

        code = (
            "import machine as _m, time as _t\n"
            "_b = _t.time() - (946684800 if _t.gmtime(0)[0] == 1970 else 0)\n"
            "_m.RTC().datetime(%r)\n"
            "print(_b)\n"
            "del _m, _t, _b"
        )
        t = time.time() if now is None else now
        d = datetime.datetime.fromtimestamp(t, datetime.UTC)
        when = (d.year, d.month, d.day, d.weekday(), d.hour, d.minute, d.second, d.microsecond)
        out = self.exec(code % (when,))
        before = int(out.decode().split()[-1])
        return int(t) - 946684800 - before

    def stream(self, code, on_line, *, quiet_s=None):
        """Run code that prints for a long time; on_line(text) for every complete line as it
        arrives. Ctrl-C here interrupts the code on the unit (once), lets it finish its
        lines and returns True; else returns False when the code ends. quiet_s: give up (and
        LinkLost) after that long without a byte (None: wait for ever)."""
        buf = bytearray()

        def consume(b):
            buf.extend(b)
            while True:
                i = buf.find(b"\n")
                if i < 0:
                    return
                line = bytes(buf[:i]).rstrip(b"\r").decode("utf-8", "replace")
                del buf[: i + 1]
                on_line(line)

        interrupted = False
        t = self._transport
        try:
            t.exec_raw_no_follow(code)
        except Exception as e:  # noqa: BLE001
            raise LinkLost("%s: the link to the unit was lost (%s)" % (self.port, e)) from e
        while True:
            try:
                out, err = t.follow(quiet_s if not interrupted else self.timeout, consume)
                break
            except KeyboardInterrupt:
                if interrupted:
                    raise
                interrupted = True
                self.interrupt()
            except Exception as e:  # noqa: BLE001
                raise LinkLost("%s: the link to the unit was lost (%s)" % (self.port, e)) from e
        if err and not (interrupted and b"KeyboardInterrupt" in err):
            text = err.decode("utf-8", "replace")
            raise DeviceError(_last_line(text), text)
        return interrupted

    def eval(self, expression, *, timeout=10):
        """The value of a Python literal expression evaluated on the unit."""
        out = self.exec("print(repr(%s))" % expression, timeout=timeout)
        text = out.decode("utf-8", "replace").strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError) as e:
            raise DeviceError("unexpected answer from the unit: %r" % text[:80]) from e

    def helpers(self):
        """Define the _sp_* helpers in the unit's REPL (once per session)."""
        if not self._helpers:
            self.exec(_HELPERS)
            self._helpers = True

    # -- files --

    def read_file(self, path):
        """The bytes of a file on the unit (base64 lines, decoded here)."""
        self.helpers()
        out = self.exec("_sp_read(%r, %d)" % (path, DOWNLOAD_CHUNK), timeout=LONG_TIMEOUT_S)
        data = bytearray()
        for line in out.split(b"\n"):
            line = line.strip()
            if line:
                data += base64.b64decode(line)
        return bytes(data)

    def write_file(self, path, data, *, atomic=False, progress=None):
        """Write bytes to a file on the unit (its folder must exist). atomic: write path.tmp,
        then rename it over path. progress(n): called with the bytes written so far."""
        self.helpers()
        target = path + ".tmp" if atomic else path
        data = bytes(data)
        done = 0
        first = True
        while first or done < len(data):
            chunk = data[done : done + UPLOAD_CHUNK]
            code = ""
            if first:
                code = "_sp_f = open(%r, 'wb')\n" % target
                first = False
            if chunk:
                code += "_sp_f.write(_sp_a(%r))\n" % base64.b64encode(chunk).decode()
            done += len(chunk)
            if done >= len(data):
                code += "_sp_f.close()\n"
                if atomic:
                    code += "_sp_rename(%r, %r)\n" % (target, path)
            self.exec(code)
            if progress is not None:
                progress(done)

    def remove(self, path):
        self.exec("import os\nos.remove(%r)" % path)

    def rename(self, src, dst):
        """Rename src over dst (replacing it)."""
        self.helpers()
        self.exec("_sp_rename(%r, %r)" % (src, dst))

    def makedirs(self, path):
        self.helpers()
        self.exec("_sp_mkdirs(%r)" % path)

    def rmtree(self, path):
        self.helpers()
        self.exec("if _sp_isdir(%r):\n _sp_rmtree(%r)" % (path, path), timeout=LONG_TIMEOUT_S)

    def exists(self, path):
        out = self.exec(
            "import os\ntry:\n os.stat(%r)\n print(1)\nexcept OSError:\n print(0)" % path
        )
        return out.strip() == b"1"

    def listdir(self, path):
        """Names in a folder on the unit ([] when it does not exist)."""
        self.helpers()
        return self.eval("[e[0] for e in os.ilistdir(%r)] if _sp_isdir(%r) else []" % (path, path))

    def sha256_tree(self, path):
        """{path relative to `path`: sha256 hex} of every file under a folder, hashed on the
        unit ({} when the folder does not exist)."""
        self.helpers()
        out = self.exec("_sp_tree(%r)" % path, timeout=LONG_TIMEOUT_S)
        found = {}
        for line in out.decode("utf-8", "replace").splitlines():
            parts = line.strip().rsplit(" ", 1)
            if len(parts) == 2:
                found[parts[0]] = parts[1]
        return found

    def sha256_files(self, paths):
        """{path: sha256 hex, or None when it does not exist} of files, hashed on the unit."""
        self.helpers()
        out = self.exec(
            "for p in %r:\n try:\n  print(_sp_hash(p))\n except OSError:\n  print('-')"
            % (list(paths),),
            timeout=LONG_TIMEOUT_S,
        )
        lines = out.decode("utf-8", "replace").split()
        if len(lines) != len(paths):
            raise DeviceError("unexpected answer from the unit: %r" % out[:80])
        return {p: (None if h == "-" else h) for p, h in zip(paths, lines, strict=True)}

    def sha256(self, path):
        """sha256 hex of one file, hashed on the unit; None when it does not exist."""
        return self.sha256_files([path])[path]

    # -- resets --

    def soft_reset(self):
        """Soft reset into the raw REPL: fresh heap; boot.py runs, main.py does not."""
        try:
            self._soft_reset()
        except UserError as e:
            raise LinkLost(str(e)) from e
        except Exception as e:  # noqa: BLE001
            raise LinkLost("%s: the link to the unit was lost (%s)" % (self.port, e)) from e
        self._helpers = False

    def restart(self):
        """Leave the raw REPL and soft reset in the friendly REPL: the unit runs boot.py and
        then main.py (the app), as after power-up. The link stays open, not in raw mode."""
        try:
            self._transport.exit_raw_repl()
            self._serial.write(b"\x04")
            self._transport.read_until(1, b"soft reboot\r\n", timeout=self.timeout)
        except Exception as e:  # noqa: BLE001
            raise LinkLost("%s: the link to the unit was lost (%s)" % (self.port, e)) from e

    def _quiet(self, quiet_s, most_s):
        # Drop what the unit sends until the line has been quiet for quiet_s (at most most_s).
        serial = self._serial
        start = last = time.monotonic()
        while time.monotonic() - last < quiet_s and time.monotonic() - start < most_s:
            n = serial.inWaiting()
            if n:
                serial.read(n)
                last = time.monotonic()
            else:
                time.sleep(0.02)

    def interrupt(self):
        """Ctrl-C: stop code the unit is running (e.g. a streaming exec)."""
        self._serial.write(b"\x03")

    def close(self):
        t = self._transport
        if t is None:
            return
        self._transport = None
        with contextlib.suppress(Exception):
            t.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _connect(port, timeout):
    from mpremote.transport_serial import SerialTransport

    if _is_path_port(port) and not os.path.exists(port):
        raise UserError("%s: no such port (is the unit plugged in?)" % port)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            transport = SerialTransport(port, baudrate=115200, timeout=READ_TIMEOUT_S)
    except Exception as e:  # noqa: BLE001 - TransportError from mpremote
        cause = e.__cause__ or e.__context__
        if _is_path_port(port):
            raise UserError(
                "%s: port busy or not accessible (another program, e.g. a serial monitor or "
                "mpremote, may hold it)" % port
            ) from e
        raise UserError("%s: cannot connect (%s)" % (port, cause or e)) from e
    return transport


def open_link(port, *, timeout=5.0, soft_reset=True):
    """A Link to the unit on `port`, in its raw REPL. soft_reset: start from a fresh
    interpreter (boot.py runs, the app does not); False: interrupt what runs and keep its state
    (the running app's objects stay reachable, e.g. sunprint.status)."""
    return Link(port, timeout=timeout, soft_reset=soft_reset)

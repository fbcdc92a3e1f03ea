# FakeNVS: an esp32.NVS in memory that loses power on command, beside FaultFS (faultfs.py, whose
# power model it shares) for the store's NvsBackend.
#
# Portable Python: runs under CPython and inside the MicroPython unix port.
#
# FakeNVS models esp32.NVS: set_blob, get_blob(key, buf) -> length, commit, erase_key. Changes
# are pending until commit(), which applies them all atomically (ESP-IDF: uncommitted changes
# are lost at a reset). Counted operations: set_blob, erase_key, commit. Errors are raised as
# MicroPython's esp32 port raises them: OSError(-esp_err, name), e.g. -0x1102
# ESP_ERR_NVS_NOT_FOUND for a missing key (missing_errno=2 makes it ENOENT instead).

from host_tools.sim.platform.faultfs import BEFORE, _Power

_ENOENT = 2
_NVS_NOT_FOUND = -0x1102
_NVS_INVALID_LENGTH = -0x110C
_NVS_KEY_TOO_LONG = -0x1109


class FakeNVS(_Power):
    def __init__(self, committed=None, cut_at=None, cut_mode=BEFORE, missing_errno=_NVS_NOT_FOUND):
        _Power.__init__(self, cut_at, cut_mode)
        self.missing_errno = missing_errno
        self._committed = dict(committed) if committed else {}
        self._pending = {}  # key -> bytes, or None for an erase
        self.commits = 0

    def _value(self, key):
        if key in self._pending:
            return self._pending[key]
        return self._committed.get(key)

    def _missing(self):
        if self.missing_errno == _ENOENT:
            return OSError(_ENOENT, "ENOENT")
        return OSError(self.missing_errno, "ESP_ERR_NVS_NOT_FOUND")

    def set_blob(self, key, value):
        if len(key) > 15:
            raise OSError(_NVS_KEY_TOO_LONG, "ESP_ERR_NVS_KEY_TOO_LONG")
        self.begin()
        self._pending[key] = bytes(value)
        self.end()

    def get_blob(self, key, buf):
        self.alive()
        data = self._value(key)
        if data is None:
            raise self._missing()
        if not isinstance(buf, bytearray):
            raise TypeError("buffer must be a bytearray")
        if len(buf) < len(data):
            raise OSError(_NVS_INVALID_LENGTH, "ESP_ERR_NVS_INVALID_LENGTH")
        buf[: len(data)] = data
        return len(data)

    def erase_key(self, key):
        self.alive()
        if self._value(key) is None:
            raise self._missing()
        self.begin()
        self._pending[key] = None
        self.end()

    def commit(self):
        self.begin()
        for key in self._pending:
            value = self._pending[key]
            if value is None:
                self._committed.pop(key, None)
            else:
                self._committed[key] = value
        self._pending = {}
        self.commits += 1
        self.end()

    def durable(self):
        """key -> bytes that survive a reset: the committed state."""
        return dict(self._committed)

    def reboot(self, cut_at=None, cut_mode=BEFORE):
        return FakeNVS(self._committed, cut_at, cut_mode, self.missing_errno)

    def poke(self, key, data):
        """Set a committed value directly (corruption tests): no operation is counted."""
        self._committed[key] = bytes(data)

    def peek(self, key):
        return self._committed.get(key)

"""The store's NvsBackend: ledger records and journal entries in an esp32.NVS namespace.

A module of its own so that a unit on LittleFS (FileBackend, the default) never loads it. The
record formats and the Store that uses a backend are in sunprint/store.py.
"""

from sunprint.compat import const

_OVERHEAD = const(16)  # header + CRC
_MAX_PAYLOAD = const(496)
_ENOENT = const(2)
# MicroPython's esp32 port raises OSError(-esp_err) for NVS errors (check_esp_err).
_NVS_NOT_FOUND = const(-0x1102)  # ESP_ERR_NVS_NOT_FOUND


class NvsBackend:
    """Two blob keys in an esp32.NVS namespace (set_blob, get_blob, commit, erase_key) for the
    records (slots 0 and 1), and two more for journal records (slots 2 and 3)."""

    journal = True

    def __init__(self, nvs, prefix="ledger", max_payload=_MAX_PAYLOAD):
        if len(prefix) > 13:
            raise ValueError("NVS keys are at most 15 characters")
        self.nvs = nvs
        self.max_payload = max_payload
        self._keys = (prefix + "0", prefix + "1", prefix + "j0", prefix + "j1")
        self._buf = bytearray(max_payload + _OVERHEAD)  # get_blob needs a buffer big enough

    def read(self, slot):
        try:
            n = self.nvs.get_blob(self._keys[slot], self._buf)
        except OSError as e:
            if e.args and e.args[0] in (_ENOENT, _NVS_NOT_FOUND):
                return None
            raise  # too long for the buffer, wrong type: a bad slot
        return bytes(self._buf[:n])

    def write(self, slot, head, payload, tail):
        # One blob: assembled in the preallocated buffer, so a save allocates only the view.
        buf = self._buf
        h = len(head)
        n = len(payload)
        buf[0:h] = head
        buf[h : h + n] = payload
        buf[h + n : h + n + len(tail)] = tail
        self.nvs.set_blob(self._keys[slot], memoryview(buf)[: h + n + len(tail)])
        self.nvs.commit()

    def erase(self, slot):
        try:
            self.nvs.erase_key(self._keys[slot])
        except OSError as e:
            if not (e.args and e.args[0] in (_ENOENT, _NVS_NOT_FOUND)):
                raise
            return
        self.nvs.commit()

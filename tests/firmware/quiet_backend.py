# A store backend that holds the journal in a preallocated buffer and full records as bytes:
# what an allocation test measures is the store's (and the app's) own cost, not a file
# system's (bench unit_alloc_per_journal_append has that). Shared by test_store_journal.py and
# test_app_steady_alloc.py.


class QuietBackend:
    max_payload = 496
    journal = True

    def __init__(self):
        self.full = [None, None]
        self.jbuf = bytearray(128)
        self.jlen = 0
        self.writes = 0

    def read(self, slot):
        return self.full[slot] if slot < 2 else None

    def write(self, slot, head, payload, tail):
        self.writes += 1
        if slot < 2:
            self.full[slot] = bytes(head) + payload + bytes(tail)
            return
        a = len(head)
        b = a + len(payload)
        self.jbuf[:a] = head
        self.jbuf[a:b] = payload
        self.jbuf[b : b + len(tail)] = tail
        self.jlen = b + len(tail)

"""Bytes into the one preallocated payload buffer, shared by the publisher (net/publish.py) and
the connect-time discovery (net/discovery.py), which leaves the heap after it is sent: a module
of its own so that neither imports the other."""


def put(buf, i, b):
    # bytes b into buf at i; the index after them
    for c in b:
        buf[i] = c
        i += 1
    return i

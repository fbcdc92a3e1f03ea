"""One serial line on a PC, for the virtual board, the ROM loader and the DevKitC that joins them.

A core is anything with `attach(write)` (where its output goes), `feed(data)` (what arrives)
and, for `hangup`, `reset()`; `detach(write)`, where it has one, is called on close. The line
is a pseudo-terminal (raw: no echo, no newline translation) or a 127.0.0.1 TCP port with one
client at a time (pyserial's socket://). A core's output with nobody reading is dropped after a
wait, as a UART with no listener drops it.
"""

import os
import pty
import select
import socket
import threading
import time
import tty

WRITE_WAIT_S = 2.0  # how long output waits for room in a pty nobody reads before it is dropped
_POLL_S = 0.2  # how often a reader thread looks whether the line was closed


class LineServer:
    """A core on a pty (`serve_pty()`, its /dev/pts/N path) or TCP (`serve_tcp()`, its URL)."""

    def __init__(self, core):
        self.core = core
        self.master = None
        self.slave_fd = None
        self.listener = None
        self.client = None
        self.stopping = False
        self.threads = []
        self._write_lock = threading.Lock()
        self._writers = []

    def _start(self, target, name):
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self.threads.append(t)

    def _attach(self, write):
        self._writers.append(write)
        self.core.attach(write)

    # --- pty ---

    def serve_pty(self):
        """The line on a pseudo-terminal; its real /dev/pts/N path (mpremote polls a symlink and
        is ~10x slower through one)."""
        master, slave = pty.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes pass as they are
        os.set_blocking(master, False)
        self.master = master
        self.slave_fd = slave  # kept open so the line survives clients closing theirs
        path = os.ttyname(slave)
        self._attach(self._write_pty)
        self._start(self._pump_pty, "line-pty")
        return path

    def _write_pty(self, data):
        # Nobody may be reading (a unit in a boot loop prints forever): wait a while for room
        # in the pty, then drop what does not fit, as a UART with no listener would.
        with self._write_lock:
            view = memoryview(data)
            while view and not self.stopping:
                fd = self.master
                if fd is None:  # hung up
                    return
                try:
                    _, writable, _ = select.select([], [fd], [], WRITE_WAIT_S)
                    if not writable:
                        return
                    n = os.write(fd, view)
                except OSError:
                    return
                view = view[n:]

    def _pump_pty(self):
        while not self.stopping:
            fd = self.master
            if fd is None:  # hung up
                return
            try:
                ready, _, _ = select.select([fd], [], [], _POLL_S)
                if not ready:
                    continue
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                if self.stopping or self.master is None:
                    return
                time.sleep(0.05)  # EIO while no client has the pty open
                continue
            if data:
                self.core.feed(data)

    def _close_pty(self):
        master, self.master = self.master, None
        for fd in (master, self.slave_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.slave_fd = None

    # --- TCP ---

    def serve_tcp(self, port=0):
        """The line on 127.0.0.1 TCP, one client at a time; the URL "socket://127.0.0.1:PORT"."""
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(1)
        self._attach(self._write_tcp)
        self._start(self._accept_loop, "line-tcp")
        return "socket://127.0.0.1:%d" % self.listener.getsockname()[1]

    def _write_tcp(self, data):
        with self._write_lock:
            client = self.client
            if client is not None:
                try:
                    client.sendall(data)
                except OSError:
                    pass

    def _accept_loop(self):
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.client = client
            while not self.stopping:
                try:
                    # ACK at once: pyserial's socket leaves Nagle on, so each small write of
                    # mpremote's would otherwise wait for our delayed ACK (~40 ms).
                    _quickack(client)
                    data = client.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                self.core.feed(data)
            if self.client is client:
                self.client = None
            try:
                client.close()
            except OSError:
                pass

    # --- both ---

    def hangup(self):
        """Drop the line. TCP: the client is cut off and the core, reset (the link's glitch),
        waits for the next one. Pty: the pty goes for good (a USB adapter pulled out)."""
        client = self.client
        if client is not None:
            self.client = None
            _shutdown(client)
            self.core.reset()
        elif self.master is not None:
            self._close_pty()

    def close(self):
        self.stopping = True
        detach = getattr(self.core, "detach", None)
        for write in self._writers:
            if detach is not None:
                detach(write)
        if self.listener is not None:
            _shutdown(self.listener)
            self.listener.close()
        if self.client is not None:
            _shutdown(self.client)
        for t in self.threads:
            t.join(timeout=1)
        self._close_pty()


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _quickack(sock):
    opt = getattr(socket, "TCP_QUICKACK", None)  # Linux only
    if opt is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, opt, 1)
        except OSError:
            pass

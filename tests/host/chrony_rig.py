"""A real NTP server for the tests: Debian's chronyd (installed by `make setup`, target chrony)
on a free UDP port of 127.0.0.1, serving its host's clock as a local stratum-8 source, with no
control of the system clock (-x) and no command socket. `deny=True` makes a chronyd that
serves another address only (it drops our requests: a server that never answers).

    with Chrony() as server:        # server.port
        ...
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

CHRONYD = shutil.which("chronyd") or "/usr/sbin/chronyd"


def _free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _asks(port, timeout_s=0.3):
    # one mode-3 request; True when a mode-4 reply comes back
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout_s)
    try:
        s.sendto(b"\x23" + b"\0" * 47, ("127.0.0.1", port))
        return len(s.recv(100)) >= 48
    except OSError:
        return False
    finally:
        s.close()


class Chrony:
    def __init__(self, deny=False):
        if not os.path.exists(CHRONYD):
            pytest.skip("chronyd is not installed (make setup installs it)")
        self.deny = deny
        self.port = _free_udp_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sunprint-chrony-"))
        self.proc = None

    def __enter__(self):
        conf = self.dir / "chrony.conf"
        conf.write_text(
            "port %d\nbindaddress 127.0.0.1\nallow %s\nlocal stratum 8\ncmdport 0\n"
            "pidfile %s\n"
            # deny: it serves another address only, and drops what we send
            % (self.port, "192.0.2.1" if self.deny else "127.0.0.1", self.dir / "pid")
        )
        # as root chronyd would drop to its own user, who cannot write in our folder
        user = ["-u", "root"] if os.geteuid() == 0 else ["-U"]
        self.proc = subprocess.Popen(
            [CHRONYD, "-x", "-d", "-f", str(conf), *user],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                raise RuntimeError("chronyd exited: %s" % out[-500:])
            if self.deny:
                time.sleep(0.5)  # nothing to ask: it answers no one
                break
            if _asks(self.port):
                break
        else:
            self.__exit__()
            raise RuntimeError("chronyd did not answer on port %d" % self.port)
        return self

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

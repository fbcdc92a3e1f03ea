"""Deploy benchmark: bytes sent to the unit for an incremental deploy after a one-file change,
against `mpremote fs cp -r` of the same app tree, both on the virtual board; and the app's code
into a romfs partition (a "romfs" virtual board), against `mpremote romfs deploy`.

Both clients talk to the board through the same TCP relay (socket://), which counts every byte
going from the host to the unit: code, data, REPL control bytes. The peer copies the very tree
`sunprint deploy` builds for the board (compiled .mpy, fonts, board.json) with the real
mpremote; the figure is the second of two deploys, after one firmware file changed.

    .venv/bin/python tests/bench/bench_deploy.py
"""

import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from host_tools.paths import FIRMWARE  # noqa: E402

BOARD = "esp32-epd29-ina226"
CHANGED = "sunprint/core/carbon.py"
MPREMOTE = Path(sys.executable).parent / "mpremote"


class Relay:
    """A TCP relay in front of the virtual board's TCP port: counts the bytes the host sends
    (`sent`) and, with cut_after=N, drops both sides once N host bytes went through (a cable
    pulled mid-transfer). One client at a time; url is the pyserial URL for the host."""

    def __init__(self, target_url, cut_after=None):
        host, port = target_url[len("socket://") :].rsplit(":", 1)
        self.target = (host, int(port))
        self.cut_after = cut_after
        self.sent = 0
        self.cut = False
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(1)
        self.url = "socket://127.0.0.1:%d" % self._server.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            board = socket.create_connection(self.target)
            for s in (client, board):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (client, board)
            threading.Thread(
                target=self._pump, args=(client, board, True, pair), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(board, client, False, pair), daemon=True
            ).start()

    def _pump(self, src, dst, upstream, pair):
        try:
            while True:
                data = src.recv(4096)
                if not data:
                    break
                if upstream:
                    if self.cut_after is not None and self.sent + len(data) >= self.cut_after:
                        keep = self.cut_after - self.sent
                        dst.sendall(data[:keep])
                        self.sent += keep
                        self.cut = True
                        break
                    self.sent += len(data)
                dst.sendall(data)
        except OSError:
            pass
        for s in pair:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self._closed = True
        self._server.close()


def firmware_copy(dest):
    shutil.copytree(FIRMWARE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return Path(dest)


def change_one_file(firmware_dir, rel=CHANGED, marker="1"):
    path = Path(firmware_dir) / rel
    path.write_text(path.read_text() + "\n_DEPLOY_CHANGE = %s\n" % marker)


def app_tree(firmware_dir, dest):
    """The tree deploy puts into /app/<id>/, on the host: what the peer copies."""
    from host_tools import boards, deploy

    files = deploy.build(boards.load_board(BOARD), deploy.mpy_cross_version(), firmware_dir)
    for rel, data in files.items():
        path = Path(dest) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return Path(dest)


def measure():
    """(bytes of the incremental deploy, of mpremote fs cp -r of the tree, of the first
    deploy); each on a fresh virtual board."""
    from host_tools import deploy
    from host_tools.sim.board.vboard import VirtualBoard

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fw = firmware_copy(tmp / "firmware")
        with VirtualBoard(tmp / "flash-deploy", heap=400000) as vb:
            relay = Relay(vb.serve_tcp())
            first = deploy.deploy(relay.url, BOARD, firmware_dir=fw, restart=False)
            change_one_file(fw)
            before = relay.sent
            second = deploy.deploy(relay.url, BOARD, firmware_dir=fw, restart=False)
            incremental = relay.sent - before
            relay.close()
        if second["uploaded"] != [CHANGED[:-3] + ".mpy"]:
            raise RuntimeError("the incremental deploy sent %r" % (second["uploaded"],))
        tree = app_tree(fw, tmp / "tree")
        with VirtualBoard(tmp / "flash-mpremote", heap=400000) as vb:
            relay = Relay(vb.serve_tcp())
            proc = subprocess.run(
                [str(MPREMOTE), "connect", relay.url, "fs", "cp", "-r", ".", ":"],
                cwd=tree,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode != 0:
                raise RuntimeError("mpremote fs cp -r failed: %s" % proc.stderr[-500:])
            peer = relay.sent
            relay.close()
    return incremental, peer, first["bytes_sent"]


def measure_romfs():
    """The app's code into a romfs partition: `sunprint deploy` onto a fresh "romfs" virtual
    board (the whole deploy: the ROMFS image, the fonts and profile, the root files, the check
    after a soft reset) against `mpremote romfs deploy` of the same image on another fresh one,
    through the same relay. (bytes, seconds, bytes of the image's part) of ours, (bytes,
    seconds) of the peer's, and the image's size."""
    import time

    from host_tools import boards, deploy
    from host_tools.sim.board.vboard import VirtualBoard

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fw = firmware_copy(tmp / "firmware")
        with VirtualBoard(tmp / "flash-deploy", heap=400000, firmware="romfs") as vb:
            relay = Relay(vb.serve_tcp())
            t0 = time.perf_counter()
            s = deploy.deploy(relay.url, BOARD, firmware_dir=fw, restart=False)
            ours = (relay.sent, time.perf_counter() - t0, s["romfs_link_bytes"])
            relay.close()
        if s["form"] != "romfs":
            raise RuntimeError("deploy chose %s on a romfs board" % s["form"])
        files = deploy.build(boards.load_board(BOARD), deploy.mpy_cross_version(), fw)
        image = deploy.romfs_image({p: b for p, b in files.items() if p.endswith(".mpy")})
        path = tmp / "app.romfs"
        path.write_bytes(image)
        with VirtualBoard(tmp / "flash-mpremote", heap=400000, firmware="romfs") as vb:
            relay = Relay(vb.serve_tcp())
            t0 = time.perf_counter()
            proc = subprocess.run(
                [str(MPREMOTE), "connect", relay.url, "romfs", "deploy", str(path)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            peer = (relay.sent, time.perf_counter() - t0)
            relay.close()
            if proc.returncode != 0 or "ROMFS image deployed" not in proc.stdout:
                raise RuntimeError("mpremote romfs deploy failed: %s" % proc.stderr[-500:])
            if (vb.flash_dir / ".romfs-partition").read_bytes()[: len(image)] != image:
                raise RuntimeError("mpremote romfs deploy: the partition is not the image")
    return ours, peer, len(image)


def bench_deploy():
    incremental, peer, first = measure()
    ratio = incremental / peer
    print(
        "bench deploy_one_file_change_ratio: %.3f x (goal <= 0.1) peer mpremote_cp_r: %.1f kB"
        % (ratio, peer / 1000),
        flush=True,
    )
    print(
        "bench deploy_one_file_change: %.1f kB peer deploy_first: %.1f kB"
        % (incremental / 1000, first / 1000),
        flush=True,
    )
    (ours_b, ours_s, image_b), (peer_b, peer_s), size = measure_romfs()
    print("bench deploy_romfs_image: %.1f kB" % (size / 1000), flush=True)
    print(
        "bench deploy_romfs_image_bytes_sent: %.1f kB peer mpremote_romfs_deploy: %.1f kB"
        % (image_b / 1000, peer_b / 1000),
        flush=True,
    )
    print(
        # the whole deploy: also the fonts, the profile, the root files and the checks
        "bench deploy_romfs_whole_bytes_sent: %.1f kB peer mpremote_romfs_deploy: %.1f kB"
        % (ours_b / 1000, peer_b / 1000),
        flush=True,
    )
    print(
        "bench deploy_romfs_seconds: %.2f s peer mpremote_romfs_deploy: %.2f s" % (ours_s, peer_s),
        flush=True,
    )


if __name__ == "__main__":
    bench_deploy()

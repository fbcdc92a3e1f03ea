"""The identity of an app frozen into a firmware image: 12 hex digits over the sources the
manifest freezes (manifests/app.py: firmware/main.py and the sunprint package). The builders
(tools/micropython.py, tools/firmware.py, the virtual board's frozen tree) freeze it beside the
app as the module `sunprint_build` (APP_ID = "..."), and `sunprint deploy` compares it with the
checkout it deploys from: a VERSION string alone does not tell two builds of one version apart.
"""

import hashlib
from pathlib import Path

MODULE = "sunprint_build"  # the frozen module: APP_ID = "<12 hex digits>"
ENV = "SUNPRINT_APPID_DIR"  # the folder holding MODULE.py, for manifests/app.py


def frozen_sources(firmware_dir):
    """The firmware folder's files the manifest freezes, as sorted relative POSIX paths."""
    root = Path(firmware_dir)
    rels = [p.relative_to(root).as_posix() for p in (root / "sunprint").rglob("*.py")]
    rels = [r for r in rels if "__pycache__" not in r.split("/")]
    if (root / "main.py").exists():
        rels.append("main.py")
    return sorted(rels)


def frozen_app_id(firmware_dir):
    """12 hex digits naming the frozen sources' content (paths and bytes)."""
    root = Path(firmware_dir)
    h = hashlib.sha256()
    for rel in frozen_sources(root):
        h.update(rel.encode() + b"\0" + (root / rel).read_bytes() + b"\0")
    return h.hexdigest()[:12]


def module_text(app_id):
    return 'APP_ID = "%s"\n' % app_id


def write_module(firmware_dir, folder):
    """MODULE.py for firmware_dir's app in folder (made if missing); returns its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (MODULE + ".py")
    text = module_text(frozen_app_id(firmware_dir))
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path

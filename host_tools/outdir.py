"""An output folder a command replaces as a whole (`replay --out`, `logs pull --out`, and the
folders tools/render_screens.py and tools/make_fonts.py write). A single output file follows the
same rule in host_tools/outfile.py.

A command writes into a temporary folder beside OUT and, only when it succeeded, puts that
folder in OUT's place. OUT may be missing, an empty folder, or a previous output of the same
command; anything else is refused with a UserError before any work is done (and checked again
at the swap): a folder holding anything the command did not write, a file, a symbolic link,
the current folder or one holding it. The command never deletes what it did not write.

Each output carries a marker, MARKER, naming the command and every path it wrote.
"""

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from host_tools.errors import UserError

MARKER = ".sunprint-output.json"
_MAX_MARKER_BYTES = 4 << 20


def check(out, tool, *, make_parent=False, legacy=None, option="--out"):
    """OUT as an absolute Path, refused (UserError) unless `tool` may replace it.

    make_parent: create OUT's missing parent folders (else a missing parent is an error);
    discard() removes those this run made when it fails.
    legacy: for the tools/ scripts only (the user-facing commands pass none: only the marker
    proves what a command wrote): a regex (re.fullmatch) every relative path of an unmarked
    folder must match to be taken as an output `tool` wrote before outputs were marked
    (folders end with '/'), or a function (relative path, Path) -> bool that also looks at the
    content.
    option: how the user named OUT, for the messages."""
    path = Path(os.path.abspath(out))
    shown = "%s %s" % (option, out)
    if path.is_symlink():
        raise UserError("%s: is a symbolic link; name a real folder" % shown)
    cwd = Path(os.getcwd()).resolve()
    real = path.resolve()
    if real == cwd or real in cwd.parents:
        raise UserError("%s: is the current folder or holds it; name a folder of its own" % shown)
    if path.exists() and not path.is_dir():
        raise UserError("%s: is not a folder (a file is there); name a folder" % shown)
    if path.is_dir():
        _check_replaceable(path, shown, tool, legacy)
        return path
    parent = path.parent
    if not parent.is_dir():
        missing = _missing_parents(parent, shown)
        if not make_parent:
            raise UserError("%s: folder %s does not exist" % (shown, parent))
        made = []
        try:
            for folder in missing:
                folder.mkdir()
                made.append(folder)
        except OSError as e:
            _remove_made(made)
            raise UserError("%s: cannot make folder %s: %s" % (shown, folder, _why(e))) from None
        _made[path] = made
    return path


def _missing_parents(parent, shown):
    # The missing folders from the nearest existing one down to parent; an existing path on
    # the way that is not a folder is named as what it is.
    missing = []
    while not parent.exists() and not parent.is_symlink():
        missing.append(parent)
        parent = parent.parent
    if not parent.is_dir():
        raise UserError("%s: %s is a file, not a folder" % (shown, parent))
    return missing[::-1]


def _why(e):
    return e.strerror or str(e)


_made = {}  # OUT -> the parent folders check() made for it, outermost first


def _remove_made(made):
    for folder in reversed(made):  # innermost first; one the user filled meanwhile stays
        try:
            folder.rmdir()
        except OSError:
            return


def discard(tmp, dest):
    """After a failed run: remove the temporary folder and the parent folders check() made
    for dest (only those, and only while empty)."""
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    _remove_made(_made.pop(dest, ()))


def temp_beside(dest, option="--out"):
    """A new empty folder beside dest (same filesystem, so the swap is a rename). A folder
    that cannot be written (read-only, /proc, no permission) is a UserError naming option."""
    try:
        return Path(tempfile.mkdtemp(prefix="." + dest.name + ".tmp-", dir=dest.parent))
    except OSError as e:
        discard(None, dest)
        raise UserError(
            "%s %s: cannot write in folder %s: %s" % (option, dest, dest.parent, _why(e))
        ) from None


def replace(new, dest, tool, *, legacy=None, option="--out"):
    """Mark `new` as tool's output and put it in dest's place (dest from check()).

    dest is checked again first: it may have changed during a long run."""
    (new / MARKER).write_text(
        json.dumps({"tool": tool, "files": _entries(new)}, indent=1) + "\n", encoding="utf-8"
    )
    check(dest, tool, legacy=legacy, option=option)
    try:
        if not dest.exists() or not os.listdir(dest):
            os.rename(new, dest)  # onto nothing or an empty folder: one atomic step
            _made.pop(dest, None)
            return
        holder = temp_beside(dest)
        try:
            os.rename(dest, holder / "previous")
            try:
                os.rename(new, dest)
            except OSError:
                os.rename(holder / "previous", dest)
                raise
            _made.pop(dest, None)
        finally:
            shutil.rmtree(holder, ignore_errors=True)
    except OSError as e:
        raise UserError("%s %s: cannot put the output there: %s" % (option, dest, e)) from None


def _entries(folder):
    # Every path under folder, relative, '/'-separated; folders end with '/'. The marker itself
    # is left out.
    found = []
    for root, dirs, files in os.walk(folder):
        rel = os.path.relpath(root, folder)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        for name in dirs + files:
            p = os.path.join(root, name)
            entry = prefix + name
            if os.path.isdir(p) and not os.path.islink(p):
                entry += "/"
            if entry != MARKER:
                found.append(entry)
    return sorted(found)


def _legacy(legacy, entry, folder):
    if callable(legacy):
        return legacy(entry, folder / entry)
    return re.fullmatch(legacy, entry) is not None


def _check_replaceable(path, shown, tool, legacy):
    entries = _entries(path)
    marker = path / MARKER
    if not marker.exists() and not entries:
        return  # an empty folder
    if not marker.exists() or marker.is_symlink() or not marker.is_file():
        if legacy is not None and entries and all(_legacy(legacy, e, path) for e in entries):
            return  # what this command wrote before outputs were marked
        raise UserError(
            "%s: the folder is not empty and is not an output of %s (no %s in it); "
            "name a new folder or empty this one" % (shown, tool, MARKER)
        )
    try:
        if marker.stat().st_size > _MAX_MARKER_BYTES:
            raise ValueError("too large")
        info = json.loads(marker.read_text(encoding="utf-8"))
        owner = info["tool"]
        written = set(info["files"])
        if not isinstance(owner, str) or not all(isinstance(f, str) for f in written):
            raise ValueError("not a marker")
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(
            "%s: its %s is damaged; name a new folder or empty this one" % (shown, MARKER)
        ) from None
    if owner != tool:
        raise UserError(
            "%s: the folder holds the output of %s, not of %s; name another folder"
            % (shown, owner[:60], tool)
        )
    for entry in entries:
        if entry not in written:
            raise UserError(
                "%s: holds %s, which %s did not write; move it away or name another folder"
                % (shown, entry[:60], tool)
            )

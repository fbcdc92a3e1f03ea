"""An output file a command writes whole (`synth --out`, `fonts --out/--preview`, `monitor
--record`, the logs and fonts the tools/ scripts regenerate): the rule of host_tools/outdir.py
for a single file.

FILE may be missing (in a folder that exists) or an earlier output of the same command,
recognised by what it holds: a sample log whose header names the command as its source, a
sunprint font, a PNG whose Software text names the command, a generated source file's own
note (`recognise` says which).
Anything else is refused with a UserError before any work is done, and checked again just
before the new file takes FILE's place: a file the command did not write, a folder, a symbolic
link, a device or a pipe. There is no --force: move the file away or name another one.

The command writes a temporary file beside FILE (removed on any error or Ctrl-C) and renames it
over FILE only when it is complete, so FILE is never half-written.
"""

import os
import re
import stat
import struct
import tempfile
import zlib
from contextlib import contextmanager
from pathlib import Path

from host_tools.errors import UserError

_HEAD_BYTES = 4096  # what a recogniser reads of an existing file
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check(path, option, tool, recognise, *, make_parent=False):
    """path as a Path, refused (UserError) unless `tool` may write it.

    recognise(path) -> bool: the existing regular file at path is an earlier output of tool.
    make_parent: create path's missing parent folders (else a missing folder is an error)."""
    path = Path(path)
    shown = "%s %s" % (option, path)
    if path.is_symlink():
        raise UserError("%s: is a symbolic link; name the file itself or a new file" % shown)
    if path.is_dir():
        raise UserError("%s: is a folder; name a file" % shown)
    if path.exists():
        if not stat.S_ISREG(path.stat().st_mode):
            raise UserError("%s: is not a regular file; name a new file" % shown)
        try:
            ours = recognise(path)
        except OSError as e:  # unreadable: cannot be shown to be ours
            raise UserError(
                "%s: cannot read it (%s); name a new file" % (shown, e.strerror)
            ) from None
        if not ours:
            raise UserError(
                "%s: the file exists and is not an output of %s; name a new file or move it away"
                % (shown, tool)
            )
        return path
    parent = path.parent
    if not parent.is_dir():
        if parent.exists() or not make_parent:
            raise UserError("%s: folder %s does not exist" % (shown, parent))
        parent.mkdir(parents=True)
    return path


@contextmanager
def writing(path, option, tool, recognise, *, binary=False, make_parent=False, **open_args):
    """A file object on a temporary file beside path; on a normal exit it is flushed to disk,
    path is checked again and the file renamed over it. On any error it is removed and path is
    untouched. open_args go to open() (encoding, newline) for text."""
    path = check(path, option, tool, recognise, make_parent=make_parent)

    def again():  # it may have changed during a long run
        check(path, option, tool, recognise)

    with replacing(path, 0o666 & ~_umask(), binary=binary, before=again, **open_args) as f:
        yield f


@contextmanager
def replacing(path, mode, *, binary=True, before=None, **open_args):
    """A file object on a temporary file beside path whose content replaces path's, all at once,
    on a normal exit: flushed to disk, given `mode` (permission bits), then renamed over path
    once before() (if given) has not raised. On any error the temporary file is removed and
    path is untouched."""
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **open_args) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600
        if before is not None:
            before()
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write(path, data, option, tool, recognise, *, make_parent=False):
    """Write bytes to path by the rule above."""
    with writing(path, option, tool, recognise, binary=True, make_parent=make_parent) as f:
        f.write(data)


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _head(path):
    with open(path, "rb") as f:
        return f.read(_HEAD_BYTES)


# --- recognisers ------------------------------------------------------------------------------


def sample_log_from(*sources):
    """recognise(): a sample log whose header comment says `source=S` for one of sources (the
    metadata line sunprint.samplelog.write_header writes after the format line)."""
    wanted = {b"source=" + s.encode() for s in sources}

    def recognise(path):
        lines = _head(path).split(b"\n")
        if not lines[0].startswith(b"# sunprint samplelog "):
            return False
        for line in lines[1:-1]:  # the last piece may be cut by _HEAD_BYTES
            if not line.startswith(b"#"):
                return False  # the header row: no comment named a source
            if wanted & set(line[1:].split()):
                return True
        return False

    return recognise


def is_png(path):
    """True for a file that starts as a PNG does."""
    return _head(path).startswith(_PNG_SIGNATURE)


def png_named(pattern):
    """A legacy test for host_tools/outdir.py: a PNG file whose relative path matches pattern
    (re.fullmatch), what a tool wrote into its folder before its outputs were marked."""

    def legacy(entry, path):
        return re.fullmatch(pattern, entry) is not None and path.is_file() and is_png(path)

    return legacy


def png_from(software):
    """recognise(): a PNG with a tEXt chunk `Software` = software before its image data (what
    png_info(software) adds when the picture is saved)."""
    want = b"Software\0" + software.encode("latin-1")

    def recognise(path):
        head = _head(path)
        if not head.startswith(_PNG_SIGNATURE):
            return False
        at = len(_PNG_SIGNATURE)
        while at + 8 <= len(head):
            length, kind = struct.unpack_from(">I4s", head, at)
            if kind in (b"IDAT", b"IEND"):
                return False
            if kind == b"tEXt" and head[at + 8 : at + 8 + length] == want:
                return True
            at += 12 + length
        return False

    return recognise


def text_with(marker):
    """recognise(): a text file whose first lines hold marker (a generated file's own note,
    such as "Generated by tools/make_icons.py")."""
    want = marker.encode("utf-8")

    def recognise(path):
        return want in _head(path)

    return recognise


def mark_png(data, software):
    """PNG bytes with a tEXt chunk Software = software right after the header, so that
    png_from(software) recognises the file (for PNGs drawn by code that takes no PngInfo)."""
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG")
    at = len(_PNG_SIGNATURE)
    (length,) = struct.unpack_from(">I", data, at)
    end_of_header = at + 12 + length
    body = b"tEXt" + b"Software\0" + software.encode("latin-1")
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return data[:end_of_header] + chunk + data[end_of_header:]


def png_info(software):
    """Pillow's PngInfo naming the writer, for Image.save(..., pnginfo=)."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Software", software)
    return info

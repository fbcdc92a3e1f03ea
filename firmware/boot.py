# Launcher. MicroPython runs this file first at every boot (and at a soft reset in the raw
# REPL, where main.py does not run): it puts the current app folder first on sys.path.
#
# `sunprint deploy` writes each version of the app into a folder of its own, /app/<id>/
# (main.mpy, sunprint/*.mpy, fonts/, board.json), and switches to it by renaming one small
# pointer file, /app/current, that names the folder. A deploy cut midway leaves the pointer,
# and so the previous app, as it was. The root main.py that deploy writes is two lines,
# `import boot; boot.run()`: run() boots the app with the folder's board profile and fonts.
# The app's code is firmware/main.py and firmware/sunprint/, in one of three places (what
# deploy found the unit can hold, docs/firmware.md): compiled into the folder (main.mpy,
# sunprint/*.mpy); in the ROMFS image that the firmware mounts at /rom (the folder then holds
# rom.sha256, the image's hash); or frozen into the firmware. The folder always holds
# board.json and the fonts.
import sys

APPS = "/app"
POINTER = "/app/current"
ROM = "/rom"  # where the firmware mounts the romfs partition's image at start
ROM_MARK = "rom.sha256"  # in a folder whose code is that image


def _exists(path):
    try:
        open(path).close()
        return True
    except OSError:
        return False


def current():
    """The current app folder ("/app/<id>"), or None when no app is deployed."""
    try:
        with open(POINTER) as f:
            name = f.read().strip()
    except OSError:
        return None
    if not name or "/" in name or name[0] == ".":
        return None
    folder = APPS + "/" + name
    # the code (main.mpy) or, where the code is in ROMFS or frozen in, the profile
    if _exists(folder + "/main.mpy") or _exists(folder + "/board.json"):
        return folder
    return None


def install():
    """Put the current app folder first on sys.path (once), then where its code is when it
    is not in the folder: the ROMFS image, and the modules frozen into the firmware (before
    the root's launcher main.py; a ROMFS image cut by a power loss leaves no /rom/main.mpy, and
    the frozen app runs). Returns the folder, or None."""
    folder = current()
    if folder is None or folder in sys.path:
        return folder
    first = [folder]
    if not _exists(folder + "/main.mpy"):
        if _exists(folder + "/" + ROM_MARK) and _exists(ROM + "/main.mpy"):
            first.append(ROM)
        first += [p for p in sys.path if p.endswith(".frozen")]
    for p in first:
        if p in sys.path:
            sys.path.remove(p)
    for i, p in enumerate(first):
        sys.path.insert(i, p)
    return folder


def run():
    """Boot the current app: its main.main() with the folder's board profile and fonts."""
    folder = install()
    if folder is None:
        print("sunprint: no app deployed (%s): run `sunprint deploy`" % POINTER)
        return
    mod = sys.modules.get("main")
    if mod is not None and not hasattr(mod, "main"):
        del sys.modules["main"]  # the root launcher itself, imported as "main"
    import main  # the app's main, from the first place install() put on sys.path

    main.main(board_path=folder + "/board.json", fonts_dir=folder + "/fonts")


install()

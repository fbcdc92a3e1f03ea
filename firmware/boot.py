# Launcher. MicroPython runs this file first at every boot (and at a soft reset in the raw
# REPL, where main.py does not run): it puts the current app folder first on sys.path.
#
# `sunprint deploy` writes each version of the app into a folder of its own, /app/<id>/
# (main.mpy, sunprint/*.mpy, fonts/, board.json), and switches to it by renaming one small
# pointer file, /app/current, that names the folder. A deploy cut midway leaves the pointer,
# and so the previous app, as it was. The root main.py that deploy writes is two lines,
# `import boot; boot.run()`: run() boots the app with the folder's board profile and fonts.
# The app's own main.py is firmware/main.py, compiled into the folder as main.mpy.
import sys

APPS = "/app"
POINTER = "/app/current"


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
    try:
        open(folder + "/main.mpy").close()
    except OSError:
        return None
    return folder


def install():
    """Put the current app folder first on sys.path (once); returns it, or None."""
    folder = current()
    if folder is not None and folder not in sys.path:
        sys.path.insert(0, folder)
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
    import main  # the app's main.mpy: its folder is first on sys.path

    main.main(board_path=folder + "/board.json", fonts_dir=folder + "/fonts")


install()

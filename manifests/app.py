# The app, frozen into a MicroPython image: its bytecode, constants and qstrs stay in flash.
# Included by the unit firmware's manifest beside this file (esp32.py: the ESP32 image, and the
# 32-bit unix port that the tests and the heap benchmark use through unix.py), so both freeze
# exactly the same modules. Paths are relative to this file.
package("sunprint", base_path="../firmware")
module("main.py", base_path="../firmware")
# The app's identity (host_tools/appid.py): the builders write sunprint_build.py into a folder
# of theirs and name it in SUNPRINT_APPID_DIR, so `sunprint deploy` can tell this build's app
# from another build of the same VERSION.
import os  # noqa: E402

if os.environ.get("SUNPRINT_APPID_DIR"):
    module("sunprint_build.py", base_path=os.environ["SUNPRINT_APPID_DIR"])

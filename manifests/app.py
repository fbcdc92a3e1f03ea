# The app, frozen into a MicroPython image: its bytecode, constants and qstrs stay in flash.
# Included by the unit firmware's manifest beside this file (esp32.py: the ESP32 image, and the
# 32-bit unix port that the tests and the heap benchmark use through unix.py), so both freeze
# exactly the same modules. Paths are relative to this file.
package("sunprint", base_path="../firmware")
module("main.py", base_path="../firmware")

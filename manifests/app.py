# The app, frozen into a MicroPython image: its bytecode, constants and qstrs stay in flash.
# Included by the port manifests beside this file (unix.py for the 32-bit unix port that the
# tests and the heap benchmark use, esp32.py for the unit's firmware image), so both freeze
# exactly the same modules. Paths are relative to this file.
package("sunprint", base_path="../firmware")
module("main.py", base_path="../firmware")

# sunprint firmware package: runs on ESP32 MicroPython, the unix port and CPython.
VERSION = "0.1.0"

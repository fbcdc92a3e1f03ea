# The unit firmware: what the image the project ships freezes (`make firmware BOARD=<profile>`,
# port/esp32/SUNPRINT, docs/firmware.md), and, included by unix.py with port="unix", what the
# 32-bit unix port that the tests and the heap benchmark run freezes: one manifest, so every
# test run builds and exercises it. The app's part is the same on both ports.
options.defaults(port="esp32")

if options.port == "esp32":
    # The ESP32 port's own start-up modules (_boot.py mounts the file system, inisetup.py
    # makes one on a new unit), as ESP32_GENERIC freezes them.
    freeze("$(PORT_DIR)/modules")
    # The WS2812 boards' driver, from micropython-lib (lib/micropython-lib), as ESP32_GENERIC
    # freezes it; the unix port's tests hand the app a model instead.
    require("neopixel")

# asyncio, frozen as on every ESP32 image.
include("$(MPY_DIR)/extmod/asyncio")

# The app: bytecode, constants and qstrs stay in flash.
include("app.py")

# The 32-bit unix port as the tests and the heap benchmark run it: asyncio frozen as the ESP32
# port freezes it, and the app (app.py). tools/micropython.py builds it (make setup).
include("$(MPY_DIR)/extmod/asyncio")
include("app.py")

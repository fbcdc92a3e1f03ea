# The 32-bit unix port as the tests and the heap benchmark run it: the unit firmware's manifest
# (esp32.py: asyncio and the app frozen) on the unix port. tools/micropython.py builds it (make
# setup).
include("esp32.py", port="unix")

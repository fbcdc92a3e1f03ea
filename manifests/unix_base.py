# The same 32-bit unix port without the app: the unit as a stock image runs it, loading the app
# from .mpy files or a ROMFS image.
include("$(MPY_DIR)/extmod/asyncio")

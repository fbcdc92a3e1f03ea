// The sunprint unit: MicroPython for a classic ESP32 (WROOM, or WROVER with the SPIRAM
// variant) with the app frozen in (manifests/esp32.py) and ROMFS on: vfs.VfsRom, and
// vfs.rom_ioctl over the "romfs" partition (partitions-4MiB-romfs.csv), mounted at /rom at start.

#ifndef MICROPY_HW_BOARD_NAME  // the SPIRAM variant names itself
#define MICROPY_HW_BOARD_NAME "sunprint unit"
#endif
#define MICROPY_HW_MCU_NAME "ESP32"

// Off in every stock ESP32 build through 1.28; MICROPY_VFS_ROM_IOCTL follows it (py/mpconfig.h)
// and ports/esp32/esp32_partition.c then serves the romfs partition.
#define MICROPY_VFS_ROM (1)

// The unit has no use for Bluetooth (sdkconfig.board leaves BLE out: its flash and heap).
#define MICROPY_PY_BLUETOOTH (0)

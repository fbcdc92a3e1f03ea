# The sunprint unit firmware: `make firmware BOARD=<profile>` (tools/firmware.py) builds it in
# ports/esp32 of Debian's MicroPython 1.26.1 source with
#   idf.py -D MICROPY_BOARD=SUNPRINT -D MICROPY_BOARD_DIR=<this folder> [-D
#   MICROPY_BOARD_VARIANT=SPIRAM] -D MICROPY_LIB_DIR=<micropython-lib> build
# docs/firmware.md has the steps.
set(IDF_TARGET esp32)

# ESP32_GENERIC's settings without BLE, and this board's partition table. ESP-IDF resolves a
# relative table name against ports/esp32, so the path is written out here, absolute.
set(SUNPRINT_SDKCONFIG_PARTITIONS ${CMAKE_BINARY_DIR}/sdkconfig.sunprint-partitions)
file(WRITE ${SUNPRINT_SDKCONFIG_PARTITIONS}
    "CONFIG_PARTITION_TABLE_CUSTOM=y\n"
    "CONFIG_PARTITION_TABLE_CUSTOM_FILENAME=\"${MICROPY_BOARD_DIR}/partitions-4MiB-romfs.csv\"\n"
)
set(SDKCONFIG_DEFAULTS
    boards/sdkconfig.base
    ${MICROPY_BOARD_DIR}/sdkconfig.board
    ${SUNPRINT_SDKCONFIG_PARTITIONS}
)

# The app, frozen: the same manifest the 32-bit unix port of the tests freezes.
set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/../../../manifests/esp32.py)

# Debian's "+ds" source leaves out lib/berkeley-db-1.xx: no btree module (the app uses none).
set(MICROPY_PY_BTREE OFF)

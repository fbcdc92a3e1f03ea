# The sunprint unit firmware: `make firmware BOARD=<profile>` (tools/firmware.py) builds it with
#   make -C ports/esp32 BOARD_DIR=<this folder> [BOARD_VARIANT=SPIRAM]
# from Debian's MicroPython 1.26.1 source. docs/firmware.md has the steps.
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
if(NOT MICROPY_FROZEN_MANIFEST)
    set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/../../../manifests/esp32.py)
endif()

# Debian's "+ds" source leaves out lib/berkeley-db-1.xx: no btree module (the app uses none).
set(MICROPY_PY_BTREE OFF)

if(MICROPY_BOARD_VARIANT STREQUAL "SPIRAM")
    # A WROVER module (psram: true in the board profile): the GC heap in PSRAM.
    set(SDKCONFIG_DEFAULTS ${SDKCONFIG_DEFAULTS} boards/sdkconfig.spiram)
    list(APPEND MICROPY_DEF_BOARD MICROPY_HW_BOARD_NAME="sunprint unit with SPIRAM")
endif()

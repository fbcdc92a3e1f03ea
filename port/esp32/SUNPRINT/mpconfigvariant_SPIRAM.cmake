# A WROVER module (a board profile with "psram": true): the GC heap in PSRAM. ports/esp32's
# CMakeLists.txt includes this file after mpconfigboard.cmake for BOARD_VARIANT=SPIRAM.
set(SDKCONFIG_DEFAULTS
    ${SDKCONFIG_DEFAULTS}
    boards/sdkconfig.spiram
)

list(APPEND MICROPY_DEF_BOARD
    MICROPY_HW_BOARD_NAME="sunprint unit with SPIRAM"
)

# The virtual board's Ctrl-C (host_tools/sim/board/vboard_launch.py): built into the 32-bit unix
# port by tools/micropython.py (USER_C_MODULES), never into an ESP32 image.
VBOARDSIG_MOD_DIR := $(USERMOD_DIR)
SRC_USERMOD_C += $(VBOARDSIG_MOD_DIR)/vboardsig.c

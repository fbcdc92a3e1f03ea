# Whole-system emulators: the virtual board (a MicroPython child with the models on the host),
# the ESP32 ROM loader and the DevKitC that joins them. May import chips, platform and the rig.

# Everything that stands in for hardware on a PC. Modules here that model chips are plain
# portable Python: they also run inside the MicroPython unix port.

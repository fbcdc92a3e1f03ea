# Everything that stands in for hardware on a PC, in three layers (docs/adding-parts.md): chips/
# (chip and meter models), platform/ (machine, framebuf, flash, clock), board/ (virtual board,
# ROM loader); parts.py, the registry of part models, and rig.py, which wires a profile's parts.
# The models are plain portable Python: they also run inside the MicroPython unix port.

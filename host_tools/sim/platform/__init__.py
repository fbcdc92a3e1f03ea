# The MicroPython platform on a PC: the fake machine, framebuf, flash filesystems with power
# cuts, NVS and the clock. May import host_tools.sim.chips, nothing above it.

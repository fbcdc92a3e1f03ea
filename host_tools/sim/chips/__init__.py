# Chip, meter and bus models, from their datasheets: plain portable Python (they also run in the
# MicroPython unix port). Imports nothing else of host_tools.sim (tests/host/test_sim_layers.py).

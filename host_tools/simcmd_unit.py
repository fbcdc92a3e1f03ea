"""`sunprint sim unit`: an emulated ESP32 DevKitC (see host_tools/sim/board/device.py)."""


def add_sim_cli(sim_sub):
    from host_tools.sim.board.device import add_sim_unit

    add_sim_unit(sim_sub)

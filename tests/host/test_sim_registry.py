"""The sim's chip and meter models take their facts from datasheets, not from the firmware.

- no model module (nor the rig that wires them) imports the firmware (sunprint.*): a model
  that copied a driver's table would check the driver against itself;
- the rig picks a model from its own registry (type name -> model family) and a Modbus meter's
  register map from host_tools.sim.chips.modbus_maps; every sensor type a board profile may name has
  a model there, and the Modbus ones have a table;
- wiring a profile through the rig loads none of the firmware's driver modules.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from host_tools import boards
from host_tools.sim import rig
from host_tools.sim.chips import modbus_maps

ROOT = Path(__file__).resolve().parents[2]
SIM = ROOT / "host_tools" / "sim"
# The chip, meter and line models and the rig. Not here: the e-paper models (being reworked),
# the virtual board and the ROM emulator, which run the firmware on purpose.
MODELS = (
    "chips/dlt645_meter.py",
    "chips/i2c.py",
    "chips/max7219.py",
    "chips/modbus_maps.py",
    "chips/modbus_meter.py",
    "chips/neopixel.py",
    "chips/pulses.py",
    "rig.py",
    "chips/uart.py",
)


def _imports(path):
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("name", MODELS)
def test_models_import_nothing_from_the_firmware(name):
    firmware = [m for m in _imports(SIM / name) if m.split(".")[0] == "sunprint"]
    assert not firmware, "%s imports %s" % (name, firmware)


def test_every_sensor_type_has_a_model():
    assert set(rig.SENSOR_MODELS) == set(boards.SENSORS)
    modbus = {k for k, family in rig.SENSOR_MODELS.items() if family == "modbus"}
    assert modbus == set(modbus_maps.METERS)
    for name in modbus_maps.METERS:
        t = modbus_maps.table(name)
        assert t["name"] == name and t["registers"]
        quantities = {r[2] for r in t["registers"]}
        assert {"voltage", "current", "power", "energy_import"} <= quantities, name


def test_energy_option_names_the_models_own_register():
    assert modbus_maps.energy_register("sdm120") == (0x0048, "energy_import")
    assert modbus_maps.energy_register("sdm120", "energy_export") == (0x004A, "energy_export")
    assert modbus_maps.energy_register("sdm630", "energy_total") == (0x0156, "energy_total")
    assert modbus_maps.energy_register("ddsu666", "energy_export") == (0x400A, "energy_export")
    assert modbus_maps.energy_register("dtsu666@401E", "energy_export") == (0x4028, "energy_export")
    with pytest.raises(ValueError, match="dtsu666 has no energy_export"):
        modbus_maps.energy_register("dtsu666", "energy_export")
    with pytest.raises(ValueError, match="no power"):
        modbus_maps.energy_register("sdm120", "power")


def test_rig_wires_a_modbus_meter_without_the_firmware_driver(tmp_path):
    # A fresh interpreter wires the DDSU666 board's models: the firmware's Modbus driver module
    # must not be loaded by that (the rig used to build the model from its register maps).
    code = (
        "import json, sys\n"
        "from host_tools.sim import rig\n"
        "profile = json.load(open(%r))\n"
        "r = rig.wire(profile)\n"
        "r.set_power(1500.0)\n"
        "print(type(r.models['sensor']).__name__, r.models['sensor'].name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('sunprint')))\n"
    ) % str(ROOT / "boards" / "esp32-epd75-ddsu666.json")
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        check=True,
        env={"PYTHONPATH": str(ROOT) + ":" + str(ROOT / "firmware"), "PATH": "/usr/bin:/bin"},
    ).stdout.splitlines()
    assert out[0] == "ModbusMeterModel ddsu666"
    assert "sunprint.drivers.modbus" not in out[1], out[1]


def test_rig_drives_the_export_register_when_the_profile_reads_it():
    # The profile's "energy" option names the export register (the model's own name for it):
    # the meter sees the PV output leaving, so its export counts and its power reads negative.
    profile = json.loads((ROOT / "boards" / "esp32-epd75-ddsu666.json").read_text())
    profile["sensors"][0]["options"]["energy"] = "energy_export"
    clock = rig.Clock(0)
    r = rig.wire(profile, clock)
    r.set_power(3600.0)
    clock.advance_ms(1000 * 1000)
    r.update()
    meter = r.models["sensor"]
    assert meter.power_w == -3600.0
    assert meter.export_kwh == pytest.approx(1.0) and meter.energy_kwh == 0.0
    profile["sensors"][0]["options"]["energy"] = "energy_total"  # a DDSU666 has none
    with pytest.raises(ValueError, match="ddsu666 has no energy_total"):
        rig.wire(profile, rig.Clock(0))

"""The sim's parts registry, and the facts its models take from datasheets, not the firmware.

- no model module (chips/, platform/), nor the parts registry and the rig that wire them,
  imports the firmware (sunprint.*): a model that copied a driver's table would check the
  driver against itself;
- host_tools/sim/parts.py has one model class per part a board profile may name (every sensor
  and display type of the firmware's registry), with one interface; a Modbus meter's register
  map comes from host_tools.sim.chips.modbus_maps;
- the rig loops over parts: it names no part type and imports no chip model itself;
- wiring a profile through the rig loads none of the firmware's driver modules.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from host_tools import boards
from host_tools.sim import parts, rig
from host_tools.sim.chips import modbus_maps

ROOT = Path(__file__).resolve().parents[2]
SIM = ROOT / "host_tools" / "sim"
# The chip, meter, line and platform models, the registry and the rig. Not here: the virtual
# board and the ROM emulator (board/), which run the firmware on purpose.
MODELS = sorted(
    str(p.relative_to(SIM))
    for p in [*SIM.glob("chips/*.py"), *SIM.glob("platform/*.py"), SIM / "parts.py", SIM / "rig.py"]
)
PROFILES = sorted((ROOT / "boards").glob("*.json"))


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


def test_every_part_type_has_a_model():
    assert set(parts.SENSORS) == set(boards.SENSORS)
    assert set(parts.DISPLAYS) == set(boards.DISPLAYS)
    modbus = {k for k, part in parts.SENSORS.items() if part.FAMILY == parts.MODBUS}
    assert modbus == set(modbus_maps.METERS)
    for name in modbus_maps.METERS:
        t = modbus_maps.table(name)
        assert t["name"] == name and t["registers"]
        quantities = {r[2] for r in t["registers"]}
        assert {"voltage", "current", "power", "energy_import"} <= quantities, name
    for table, role in ((parts.SENSORS, "sensor"), (parts.DISPLAYS, "display")):
        for name, part in table.items():
            assert issubclass(part, parts.Part) and part.ROLE == role, name
    for name in boards.EPAPER:
        assert parts.DISPLAYS[name].FAMILY == parts.EPAPER, name
    for name in boards.LED:
        assert parts.DISPLAYS[name].FAMILY == parts.LED, name


def test_the_rig_names_no_part_and_imports_no_model():
    # The rig loops over the registry's parts: a part type spelled in rig.py (a family switch,
    # "if kind == 'ssd1680'") or a chip model imported there means a new part touches the rig.
    tree = ast.parse((SIM / "rig.py").read_text(encoding="utf-8"))
    names = set(parts.SENSORS) | set(parts.DISPLAYS) | set(parts.CLOCK_CHIPS)
    spelled = sorted(
        {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in names}
    )
    assert spelled == [], spelled
    chips = [m for m in _imports(SIM / "rig.py") if m.startswith("host_tools.sim.chips")]
    assert chips == [], chips


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_every_profile_wires_through_the_one_part_interface(path):
    # Every board: the rig wires its display and sensor parts; the sensor measures the power it
    # is set to, time advances its model, its bus breaks and mends; the display gives a picture
    # of the panel's size.
    profile = json.loads(path.read_text())
    clock = rig.Clock(0)
    r = rig.wire(profile, clock)
    assert r.parts[0] is r.display and r.models.get("display") is r.display.model
    w, h = profile["display"]["width"], profile["display"]["height"]
    pw, ph, data = r.picture()
    assert (pw, ph, len(data)) == (w, h, ((w + 7) >> 3) * h)
    assert r.kind == r.display.FAMILY
    sensor = r.sensor
    if "community" in profile:  # the community's line is a part too, after any local string
        bus = r.parts[-1]
        assert bus.FAMILY == parts.COMMUNITY and r.models["bus"] is bus.model
        assert len(r.models["meters"]) == len(profile["community"]["meters"])
        if sensor is None:
            assert r.sensor_type is None and r._family == parts.COMMUNITY
            return
    assert sensor is r.parts[1] and sensor.spec["type"] == r.sensor_type
    assert r.models["sensor"] is sensor.model
    r.set_power(3600.0)
    clock.advance_ms(1000 * 1000)
    r.update()
    family = sensor.FAMILY
    if family == parts.S0:
        imp = profile["sensors"][0]["options"]["imp_per_kwh"]
        assert r.pulses == imp  # 1 kWh in 1000 s at 3600 W
        assert r.break_bus() is False
        return
    if family == parts.I2C:
        bus_v = sensor.bus_v
        assert sensor.model.current_na == round(3600.0 / bus_v * 1e9)
    else:
        assert sensor.model.energy_kwh == pytest.approx(1.0)
    assert r.break_bus(True) is True
    assert r.break_bus(False) is True


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

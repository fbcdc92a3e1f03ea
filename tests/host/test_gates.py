"""The firmware gates pass on the tree, and each one rejects a copy broken on purpose."""

import shutil

import pytest

from host_tools import gates
from host_tools.paths import FIRMWARE, ROOT


@pytest.fixture
def firmware_copy(tmp_path):
    dest = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_every_firmware_file_compiles_with_mpy_cross():
    assert gates.mpy_cross(FIRMWARE) == []


def test_every_firmware_module_imports_in_micropython():
    assert gates.micropython_imports(FIRMWARE) == []


def test_firmware_typechecks_against_micropython_esp32_stubs():
    assert gates.typecheck(FIRMWARE) == []


def test_ruff_is_clean():
    assert gates.ruff([ROOT]) == []


def test_mpy_cross_rejects_a_match_statement(firmware_copy):
    target = firmware_copy / "sunprint" / "core" / "carbon.py"
    target.write_text(
        target.read_text()
        + "\n\ndef kind(x):\n    match x:\n        case 1:\n            return 1\n"
    )
    problems = gates.mpy_cross(firmware_copy)
    assert len(problems) == 1 and "carbon.py" in problems[0], problems


def test_import_gate_rejects_dataclasses(firmware_copy):
    target = firmware_copy / "sunprint" / "core" / "ledger.py"
    target.write_text("import dataclasses\n" + target.read_text())
    assert gates.mpy_cross(firmware_copy) == []  # it is valid syntax: only the VM catches it
    problems = gates.micropython_imports(firmware_copy)
    assert any("sunprint.core.ledger" in p and "dataclasses" in p for p in problems), problems


def test_typecheck_rejects_a_call_the_esp32_port_lacks(firmware_copy):
    target = firmware_copy / "sunprint" / "core" / "carbon.py"
    target.write_text(
        target.read_text() + "\n\ndef _wake():\n    import machine\n\n    machine.deep_nap(10)\n"
    )
    problems = gates.typecheck(firmware_copy)
    assert any("carbon.py" in p and "deep_nap" in p for p in problems), problems


def test_ruff_rejects_an_unused_import(firmware_copy):
    target = firmware_copy / "sunprint" / "core" / "carbon.py"
    target.write_text("import os\n" + target.read_text())
    problems = gates.ruff([target])
    assert any("F401" in p for p in problems), problems

"""What the boot's profile check leaves on the unit's heap: sunprint/parts.py is boot-only
(board.build imports it, checks, unloads it), and what stays is the qstrs it interned. Measured
as tests/bench/bench_parts.py does, on the unit's VM (32-bit MicroPython 1.26.1, .mpy files as
`sunprint deploy` compiles them), after the modules the unit imports anyway."""

import re
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import bench_parts  # noqa: E402
import mp32  # noqa: E402

pytestmark = pytest.mark.skipif(
    not mp32.MICROPYTHON32.exists(), reason="no micropython32: `make setup` builds it"
)


@pytest.fixture(scope="module")
def tree():
    with tempfile.TemporaryDirectory() as tmp:
        mp32.compile_files(mp32.firmware_and(), Path(tmp) / "firmware")
        yield Path(tmp)


@pytest.mark.parametrize("board", bench_parts.BOARDS)
def test_the_check_leaves_at_most_2_kb(tree, board):
    _loaded, _checked, kept, _pool = bench_parts.measure(board, tree / "firmware", tree)
    assert kept <= 2048, "%s: parts.check left %d B on the heap" % (board, kept)


def _new_qstrs(tree, board):
    script = bench_parts._SCRIPT.replace(
        "micropython.qstr_info()", "print('=QSTRS=');micropython.qstr_info(1)"
    )
    args = (str(ROOT / "boards" / (board + ".json")),) + bench_parts._DRIVERS[board]
    out = mp32.run(script, tree / "firmware", tree, heapsize=400000, args=args)
    dumps = re.split(r"^=QSTRS=$", out, flags=re.M)
    before = set(ln for ln in dumps[1].splitlines() if ln.startswith("Q("))
    return [ln[2:-1] for ln in dumps[2].splitlines() if ln.startswith("Q(") and ln not in before]


@pytest.mark.parametrize("board", ("esp32-epd29-ina226", "esp32-epd42-dlt645"))
def test_nested_field_names_are_built_not_interned(tree, board):
    # "sensors[0].i2c.scl": the check names a nested key from its parent's name when it says
    # something about it; a literal ".i2c.scl" or "uart%d.tx" would be a qstr the unit keeps.
    new = _new_qstrs(tree, board)
    assert "ProfileError" in new  # the dump is what parts.py interned
    nested = [q for q in new if q.count(".") >= 2 and not q.endswith(".") and q[:9] != "sunprint."]
    shares = [q for q in new if "%d." in q]
    assert nested == [] and shares == [], (nested, shares)


@pytest.mark.parametrize("board", ("esp32-epd29-ina226", "esp32-epd42-dlt645"))
def test_no_character_of_a_value_is_interned(tree, board):
    # MicroPython interns every 1-character string it makes: a check that walks a meter's
    # nameplate address or a font name character by character leaves them all as qstrs.
    singles = [q for q in _new_qstrs(tree, board) if len(q) == 1]
    assert singles == [], singles

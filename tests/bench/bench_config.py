"""Config benchmark: config.parse on a hostile file of 4,000 keys (strict syntax, duplicate
keys compared decoded, unknown key reported), CPython, against the json module's own
json.loads of the same text.

    .venv/bin/python tests/bench/bench_config.py
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from timing import best_of  # noqa: E402 - tests/bench/timing.py

from host_tools.paths import use_firmware  # noqa: E402

KEYS = 4000


def bench_config():
    use_firmware()
    from sunprint.core import config

    d = {"version": 2}
    for i in range(KEYS):
        d["key_%05d" % i] = i
    text = json.dumps(d, indent=1)

    def parse():
        try:
            config.parse(text)
        except config.ConfigError:
            pass  # the first unknown key: the whole file was read and checked

    secs, _ = best_of(3, parse)
    peer, _ = best_of(3, lambda: json.loads(text))
    print(
        "bench config_parse_4000_keys: %.1f ms (goal <= 200) peer json_loads: %.1f ms"
        % (secs * 1000, peer * 1000),
        flush=True,
    )
    return secs


if __name__ == "__main__":
    bench_config()

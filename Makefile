# sunprint: the verbs. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# MicroPython stubs laid out as a typeshed, for the firmware type check (pyright's -t).
TYPINGS := $(VENV)/typings
STUBS  := micropython-esp32-stubs==1.29.0.post1
WASM_PORT := @micropython/micropython-webassembly-pyscript@1.29.0-6

.PHONY: setup test demo bench lint fonts log screens golden clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	rm -rf $(TYPINGS)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-user --target $(TYPINGS) $(STUBS)
	# MicroPython's WebAssembly port: a 32-bit VM (as the ESP32) for the heap benchmark.
	mkdir -p $(VENV)/node
	cd $(VENV)/node && npm install --silent --no-audit --no-fund --no-save $(WASM_PORT)
	@touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q tests

demo: setup
	$(BIN)/python tools/demo.py

bench: setup
	$(BIN)/python tests/bench/run.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/basedpyright -p pyrightconfig.json

# Regenerate the committed artefacts on purpose.
fonts: setup
	$(BIN)/python tools/make_fonts.py

screens: setup
	$(BIN)/python tools/render_screens.py

golden: setup
	$(BIN)/python tools/make_golden.py

log: setup
	$(BIN)/python tools/make_logs.py

clean:
	rm -rf build

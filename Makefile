# sunprint: the verbs. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# MicroPython stubs laid out as a typeshed, for the firmware type check (pyright's -t).
TYPINGS := $(VENV)/typings
STUBS  := micropython-esp32-stubs==1.29.0.post1

CC     ?= gcc
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: micropython32 mosquitto chrony chromium setup test demo bench lint fonts log screens golden clean firmware

setup: $(STAMP) micropython32 mosquitto chrony chromium

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	rm -rf $(TYPINGS)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-user --target $(TYPINGS) $(STUBS)
	@touch $(STAMP)

# MicroPython's unix port as a 32-bit binary like the ESP32's, from Debian's source package,
# with and without the app frozen (tools/micropython.py). Needs gcc's 32-bit support.
micropython32: $(STAMP)
	@echo 'int main(void){return 0;}' | $(CC) -m32 -x c - -o /dev/null 2>/dev/null || \
	  { $(SUDO) apt-get install -y -q gcc-multilib >/dev/null || \
	    { $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q gcc-multilib >/dev/null; }; }
	$(BIN)/python tools/micropython.py

# A real MQTT broker for the tests: the unit's client (tests/host/test_mqtt_broker.py) and
# sunprint fleet (tests/host/test_fleet_*.py) start one on a free loopback port with a
# temporary config. Debian's package, installed only where missing.
mosquitto:
	@test -x /usr/sbin/mosquitto || command -v mosquitto >/dev/null || \
	  { $(SUDO) apt-get install -y -q mosquitto >/dev/null || \
	    { $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q mosquitto >/dev/null; }; }

# Debian's chronyd: the real NTP server the unit's SNTP client is checked against
# (tests/host/chrony_rig.py runs it on a loopback port, no control of the system clock).
chrony:
	@test -x /usr/sbin/chronyd || command -v chronyd >/dev/null || \
	  { $(SUDO) apt-get install -y -q chrony >/dev/null || \
	    { $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q chrony >/dev/null; }; }

# Headless Chromium and its WebDriver: the fleet page's browser test
# (tests/host/test_fleet_browser.py). Installed only where missing.
chromium:
	@{ command -v chromium && command -v chromedriver; } >/dev/null || \
	  { $(SUDO) apt-get install -y -q chromium chromium-driver >/dev/null || \
	    { $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q chromium chromium-driver >/dev/null; }; }

# The unit's firmware image for a board profile: MicroPython with the app frozen in, ROMFS on
# and a romfs partition (manifests/esp32.py, port/esp32/SUNPRINT; docs/firmware.md). Needs
# ESP-IDF (IDF_PATH, export.sh) and a micropython-lib checkout (MPY_LIB=DIR); without them it
# says what is missing and exits 2. The same manifest builds micropython32-app (make setup).
firmware: $(STAMP)
	@$(BIN)/python tools/firmware.py --board "$(BOARD)" $(if $(MPY_LIB),--mpy-lib "$(MPY_LIB)")

test: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests

demo: setup
	$(BIN)/python tools/demo.py

# The firmware's MicroPython figures come from the 32-bit unix port (micropython32, -app); the
# host tools' (replay --micropython) from the pip port; the virtual board runs the 32-bit unit VM.
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
	$(BIN)/python tools/make_link_golden.py

log: setup
	$(BIN)/python tools/make_logs.py

clean:
	rm -rf build

# Quickstart targets: `make demo` and `make test` (both idempotent).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
VSRDATA := $(VENV)/bin/vsrdata
STAMP := $(VENV)/.installed
BROWSER := $(VENV)/.browser
DEMO := demo-out
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# the Python install and the browser install run side by side
MAKEFLAGS += --jobs=2

.PHONY: demo test lint style typecheck suite bench clean

# uv installs the wheels in parallel (about 25 s here against 100 s for pip); pip is the
# fallback where uv cannot be had.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq uv && $(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e '.[test]' \
	  || $(PY) -m pip install -qq -e '.[test]'
	touch $(STAMP)

# The browser test drives Debian's chromium through its chromedriver; as root, apt-get installs
# them the first time (about 25 s, alongside the Python install). Elsewhere that test is
# skipped with a message saying what to install.
$(BROWSER):
	@mkdir -p $(VENV)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium chromium-driver >/dev/null; } \
	  || echo "could not install chromium: the browser test is skipped"; \
	else echo "no chromium: the browser test is skipped (apt-get install chromium chromium-driver)"; fi
	@touch $(BROWSER)

# Sixteen 2-second clips of four categories, split per category (every category is in the
# test split); DUF-16L trains for a planned 2 minutes (more steps on a faster machine), then
# is scored per category against bicubic on the held-out test clips.
demo: $(STAMP)
	$(VSRDATA) synth $(DEMO)/clips --clips 16 --seconds 2 --size 320x180 --seed 0
	$(VSRDATA) build $(DEMO)/clips --out $(DEMO)/dataset --split 0.5,0.25,0.25 --stratify \
	  --test-stride 6 --group-size 2
	$(VSRDATA) info $(DEMO)/dataset
	$(VSRDATA) train $(DEMO)/dataset --out $(DEMO)/run --preset cpu-quick --time-budget 2m
	$(VSRDATA) eval $(DEMO)/dataset --model $(DEMO)/run/best.keras --by-category --report $(DEMO)/report

lint: style typecheck

style: $(STAMP)
	$(VENV)/bin/ruff check vsrdata tests bench
	$(VENV)/bin/ruff format --check vsrdata tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Three workers on two cores: the tests that wait on subprocesses, servers and sleeps leave
# a core idle with two (206 s against 224 s for the suite, measured 2026-11-22).
suite: $(STAMP) $(BROWSER) style
	$(PY) -m pytest -q -n 3 --dist loadgroup --durations=12

# mypy (24 s from a clean clone) runs beside the suite, not before it; either failing fails
# the target
test: suite typecheck

bench: $(STAMP)
	$(PY) bench/build_throughput.py
	$(PY) bench/build_memory.py
	$(PY) bench/motion_cost.py
	$(PY) bench/png_settings.py
	$(PY) bench/train_throughput.py
	$(PY) bench/eval_throughput.py
	$(PY) bench/tiles.py

clean:
	rm -rf $(DEMO) .pytest_cache .mypy_cache .ruff_cache

# The two commands of the README. Everything else is a step they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test unit engine bench emulator clean

demo: $(STAMP) engine  ## the main job: emulator + `pulumi up` of the root stack, then its outputs
	$(PY) scripts/demo.py

test: $(STAMP) engine  ## the whole suite: unit, emulator contract over HTTP, end-to-end through the real CLI
	$(PY) -m pytest -q -m alone tests
	$(PY) -m pytest -n 2 -q -m "not alone" tests

unit: $(STAMP)  ## the pure tests (no Pulumi engine, no servers), then the quality gates: mypy, ruff, go vet
	$(PY) -m pytest -q tests/unit tests/fuzz/test_check_diff_properties.py
	$(PY) scripts/quality.py

bench: $(STAMP) engine
	$(PY) benchmarks/run_all.py

engine: $(STAMP)  ## find or build the Pulumi engine (cached per version)
	$(PY) -m rr_pulumi.engine ensure

emulator: $(STAMP)  ## run the Core API emulator in the foreground
	$(VENV)/bin/rr-emulator --port 8765 --user demo:team

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .rr

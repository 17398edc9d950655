"""What the campaign's tests share with tests/e2e: its conftest (the engine, the emulator, `write_project`) and
helpers, loaded from there so that both folders run the same code."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

E2E = Path(__file__).resolve().parents[1] / "e2e"
sys.path.insert(0, str(E2E))  # e2e_helpers, as tests/e2e imports it

_spec = importlib.util.spec_from_file_location("e2e_conftest", E2E / "conftest.py")
e2e_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e_conftest)

write_project = e2e_conftest.write_project

"""The flat layout's module paths (rr-pulumi 0.1) still import, as the very modules of the layered paths."""

import importlib
import subprocess
import sys

import pytest

from rr_pulumi._moved import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_is_the_new_module(old):
    module = importlib.import_module(old)
    assert module is importlib.import_module(MOVED[old])
    assert module.__name__ == module.__spec__.name == MOVED[old]  # the alias leaves the module as it was


def test_every_old_path_points_at_a_module_that_exists_and_is_not_itself_moved():
    for new in MOVED.values():
        assert importlib.util.find_spec(new) is not None, new
        assert new not in MOVED, new


def test_a_patch_through_the_old_name_is_seen_through_the_new_one(monkeypatch):
    import rr_pulumi.api.config as new
    import rr_pulumi.config as old

    monkeypatch.setattr(old, "DEFAULT_API_URL", "https://patched.test")
    assert new.DEFAULT_API_URL == "https://patched.test"



def test_the_errors_module_is_known_by_its_old_name_as_soon_as_it_loads():
    # An engine built for rr-pulumi 0.1 looks rr_pulumi.errors up in sys.modules to report its errors in one line.
    code = "import sys, rr_pulumi.api.client; print(sys.modules['rr_pulumi.errors'].__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "rr_pulumi.api.errors"


@pytest.mark.parametrize("old", ["rr_pulumi.recovery", "rr_pulumi.cli"])
def test_an_old_path_runs_with_python_dash_m(old):
    # rr-pulumi 0.1 documented `python -m rr_pulumi.recovery`; scripts and scheduled jobs still call it so.
    done = subprocess.run([sys.executable, "-m", old, "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout

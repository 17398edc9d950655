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
    for old, new in MOVED.items():
        assert importlib.util.find_spec(new) is not None, new
        assert new not in MOVED, new


def test_a_patch_through_the_old_name_is_seen_through_the_new_one(monkeypatch):
    import rr_pulumi.api.config as new
    import rr_pulumi.config as old

    monkeypatch.setattr(old, "DEFAULT_API_URL", "https://patched.test")
    assert new.DEFAULT_API_URL == "https://patched.test"


def test_the_errors_module_is_registered_under_its_old_name_as_soon_as_the_package_loads():
    # The language host's runner reports rr_pulumi.errors.RequestRocketError in one line, looking it up by that name.
    code = "import sys, rr_pulumi.api.client; print(sys.modules['rr_pulumi.errors'].__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "rr_pulumi.api.errors"

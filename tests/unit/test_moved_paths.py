"""The flat layout's module paths (rr-pulumi 0.1) still import, as the very modules of the layered paths."""

import importlib

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


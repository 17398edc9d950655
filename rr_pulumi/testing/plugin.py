"""pytest plugin (registered as a `pytest11` entry point; or `pytest_plugins = ["rr_pulumi.testing.plugin"]`).

Fixture `requestrocket` (session): a RulesTestEnvironment (emulator, data plane, echo upstream) closed at the end.
Nothing starts unless a test asks for it.
"""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def requestrocket(tmp_path_factory):
    from rr_pulumi.testing.environment import RulesTestEnvironment

    with RulesTestEnvironment(tmp_path_factory.mktemp("requestrocket")) as env:
        yield env

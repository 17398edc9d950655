"""The end-to-end fixtures of tests/e2e (the engine, the emulator, `write_project`), for the campaign's tests.

Each test here makes its own emulator user, so everything its token sees is the test's own: an inventory or a
campaign reads a whole account, which other tests on the same emulator must not share.
"""
from __future__ import annotations

import uuid

import pytest

from campaign_helpers import e2e_conftest

engine_bin = e2e_conftest.engine_bin
emulator = e2e_conftest.emulator


@pytest.fixture
def account_token(emulator) -> str:
    """The token of a new emulator user: an account of the test's own."""
    return emulator.create_user(f"campaign-{uuid.uuid4().hex[:10]}", "team")

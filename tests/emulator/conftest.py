"""Contract tests over real HTTP against a started emulator process (one per test module)."""
from __future__ import annotations

import uuid

import pytest

from emulator_helpers import Api
from rr_pulumi.emulator.process import EmulatorProcess


@pytest.fixture(scope="module")
def emu():
    with EmulatorProcess(users=("demo:team",)) as emulator:
        yield emulator


@pytest.fixture
def user(emu) -> Api:
    """A fresh user (team plan) per test, for isolation."""
    name = f"user-{uuid.uuid4().hex[:12]}"
    return Api(emu, emu.create_user(name), "/api")


@pytest.fixture
def other(emu) -> Api:
    name = f"other-{uuid.uuid4().hex[:12]}"
    return Api(emu, emu.create_user(name), "/api")


@pytest.fixture
def cid(user) -> str:
    return user.new_client()

"""One rate budget per token on a machine: processes sharing a send-log file share the token's limit."""

import json

import pytest

from rr_pulumi.api.client import RequestRocketClient
from rr_pulumi.api.ratelimit import MARGIN_SECONDS, WINDOW_SECONDS, FileWindow, RateBudget, budget_file, shared_budget

from .conftest import API_URL
from .fake_api import TOKEN
from .test_ratelimit import FakeClock


def two_processes(tmp_path, per_minute=10):
    """Two budgets on one file, as two provider processes on one machine would have (one clock: the wall clock)."""
    path = budget_file(API_URL, TOKEN, tmp_path)
    clock = FakeClock()
    budgets = [RateBudget(per_minute, clock=clock, sleep=clock.sleep, notify=lambda m: None, window=FileWindow(path))
               for _ in range(2)]
    return budgets, clock, path


def test_processes_sharing_a_token_share_its_limit(tmp_path):
    (a, b), clock, _ = two_processes(tmp_path, per_minute=10)
    waits = [(a if i % 2 else b).acquire() for i in range(10)]
    assert waits == [0.0] * 10  # the limit goes out at once, whichever process sends
    assert b.acquire() == pytest.approx(WINDOW_SECONDS + MARGIN_SECONDS)  # the eleventh waits for the window


def test_a_429_in_one_process_pauses_the_other(tmp_path):
    (a, b), clock, _ = two_processes(tmp_path, per_minute=100)
    a.pause(20)
    start = clock.now
    b.acquire()
    assert clock.now - start >= 20


def test_the_file_is_named_by_a_hash_and_never_holds_the_token(tmp_path):
    (a, _), _, path = two_processes(tmp_path)
    a.acquire()
    assert TOKEN not in path.name and TOKEN not in path.read_text()
    assert set(json.loads(path.read_text())) == {"clock", "sent", "not_before"}
    assert budget_file(API_URL, TOKEN, tmp_path) == path and budget_file(API_URL, "u-other", tmp_path) != path


def test_a_damaged_file_starts_a_fresh_log(tmp_path):
    path = budget_file(API_URL, TOKEN, tmp_path)
    path.write_text('{"sent": [1, 2')
    budget = RateBudget(1, clock=FakeClock(), sleep=lambda s: None, window=FileWindow(path))
    assert budget.acquire() == 0.0


def test_the_tokens_budget_keeps_its_log_in_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("RR_PULUMI_RATELIMIT_DIR", str(tmp_path))
    budget = shared_budget(API_URL, TOKEN, 100)
    assert budget.shared and budget.per_minute == 100
    assert [p.name for p in tmp_path.iterdir()] == [budget_file(API_URL, TOKEN, tmp_path).name]


def test_an_unusable_cache_folder_leaves_the_budget_to_this_process(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("RR_PULUMI_RATELIMIT_DIR", str(blocker / "below"))  # cannot be a folder
    budget = shared_budget(API_URL, TOKEN, 100)
    assert not budget.shared and budget.acquire() == 0.0


def test_retry_after_waits_are_pacing_not_failing(fake_api):
    """Other runners on the token: the API says when to come back, and the request keeps going."""
    clock = FakeClock()  # the client's own elapsed time follows the waits
    budget = RateBudget(1000, clock=clock, sleep=clock.sleep, notify=lambda m: None)
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=clock.sleep, clock=clock, budget=budget,
                                 max_total_seconds=120)
    fake_api.script = [(429, {"code": "RATE_LIMITED"}, {"Retry-After": "60"})] * 5
    assert client.list("/api/clients") == []
    assert clock.now - 1000.0 >= 300  # five full waits, more than max_total_seconds, and no failure

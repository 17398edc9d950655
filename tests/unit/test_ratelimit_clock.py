"""The shared rate budget runs on a clock that never steps back: a wall clock stepped back an hour must not stall
every stack on the token for that hour, and a send log written in another boot (another clock) is dropped."""

import json
import time

import pytest

from rr_pulumi.api.ratelimit import FileWindow, RateBudget, budget_file

from .conftest import API_URL
from .fake_api import TOKEN


class Slept(Exception):
    pass


def stop_at_first_sleep(waits):
    def sleep(seconds):
        waits.append(seconds)
        raise Slept  # the real clock does not move in a test: stop at the first wait instead of waiting it out

    return sleep


def test_a_wall_clock_stepped_back_an_hour_stalls_nobody(tmp_path):
    """The file holds the sends of the last minute as the wall clock saw them; then the clock was stepped back an
    hour (NTP, a person), so every one of them is an hour ahead of it."""
    path = budget_file(API_URL, TOKEN, tmp_path)
    path.write_text(json.dumps({"sent": [time.time() + 3600], "not_before": 0.0}))
    waits: list[float] = []
    budget = RateBudget(1, sleep=stop_at_first_sleep(waits), notify=lambda m: None, window=FileWindow(path))
    try:
        budget.acquire()
    except Slept:
        pass
    assert all(w <= 61.0 for w in waits)  # never the hour


def test_the_budget_reads_a_clock_that_wall_clock_steps_do_not_move(monkeypatch, tmp_path):
    waits: list[float] = []
    budget = RateBudget(1, sleep=stop_at_first_sleep(waits), notify=lambda m: None,
                        window=FileWindow(budget_file(API_URL, TOKEN, tmp_path)))
    budget.acquire()
    monkeypatch.setattr(time, "time", lambda: 0.0)  # whatever the wall clock says now
    with pytest.raises(Slept):
        budget.acquire()
    assert 59.0 < waits[0] <= 61.0


def test_a_send_log_from_another_boot_is_dropped(tmp_path):
    path = budget_file(API_URL, TOKEN, tmp_path)
    far_future = time.clock_gettime(time.CLOCK_MONOTONIC) + 10**9
    path.write_text(json.dumps({"clock": "another-boot", "sent": [far_future] * 5, "not_before": far_future}))
    budget = RateBudget(1, sleep=stop_at_first_sleep([]), notify=lambda m: None, window=FileWindow(path))
    assert budget.acquire() == 0.0
    assert json.loads(path.read_text())["clock"] != "another-boot"


def test_a_log_from_the_same_boot_is_kept(tmp_path):
    path = budget_file(API_URL, TOKEN, tmp_path)
    first = RateBudget(1, notify=lambda m: None, window=FileWindow(path))
    first.acquire()
    waits: list[float] = []
    second = RateBudget(1, sleep=stop_at_first_sleep(waits), notify=lambda m: None, window=FileWindow(path))
    with pytest.raises(Slept):
        second.acquire()  # another process on the same token waits for the window
    assert 59.0 < waits[0] <= 61.0

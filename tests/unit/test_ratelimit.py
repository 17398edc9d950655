"""The shared request budget: never more than the plan's limit in any minute, 429s pause every thread."""

import threading

import pytest

from rr_pulumi.api import config as rr_config
from rr_pulumi.api.client import RequestRocketClient
from rr_pulumi.api.errors import ConfigurationError, RateLimited
from rr_pulumi.api.ratelimit import MARGIN_SECONDS, WINDOW_SECONDS, RateBudget, parse_per_minute

from .conftest import API_URL
from .fake_api import TOKEN


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def budget(per_minute=100, notices=None):
    clock = FakeClock()
    return RateBudget(per_minute, clock=clock, sleep=clock.sleep, notify=(notices if notices is not None else []).append), clock


@pytest.mark.parametrize("per_minute", [100, 1000])
def test_no_sixty_second_window_exceeds_the_limit(per_minute):
    b, clock = budget(per_minute)
    sent = []
    for _ in range(per_minute * 3):
        b.acquire()
        sent.append(clock.now)
    for i, start in enumerate(sent):
        in_window = sum(1 for t in sent[i:] if t < start + 60)
        assert in_window <= per_minute
    # and no slower than that: each further `per_minute` requests wait one window (plus the margin), no more
    assert sent[-1] - sent[0] == pytest.approx(2 * (WINDOW_SECONDS + MARGIN_SECONDS))


def test_the_limit_goes_out_at_once_then_requests_wait_for_the_window():
    b, clock = budget(100)
    waits = [b.acquire() for _ in range(102)]
    assert waits[:100] == [0.0] * 100
    assert waits[100] == pytest.approx(WINDOW_SECONDS + MARGIN_SECONDS) and waits[101] == 0.0


def test_pause_holds_every_caller_and_long_waits_are_announced():
    notices = []
    b, clock = budget(1000, notices)
    b.pause(30, " on GET /api/clients")
    start = clock.now
    b.acquire()
    assert clock.now - start >= 30
    assert notices == ["requestrocket: rate limited by the API on GET /api/clients; waiting 30 s (Retry-After)"]


def test_long_pacing_is_announced_once_per_half_minute():
    notices = []
    b, clock = budget(10, notices)
    for _ in range(30):
        b.acquire()
    assert len(notices) == 2 and "pacing API requests to 10/min" in notices[0]  # two waits of 61 s, one line each
    assert "requestrocket:rateLimitPerMinute" in notices[0]


def test_threads_share_one_budget():
    b = RateBudget(700)  # exactly the limit: all 700 go at once, none is lost or counted twice
    count = []

    def work():
        for _ in range(175):
            b.acquire()
            count.append(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(count) == 700


def test_client_paces_through_the_budget_and_a_429_pauses_it(fake_api):
    b, clock = budget(100)
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=clock.sleep, budget=b)
    fake_api.script = [(429, {"code": "RATE_LIMITED"}, {"Retry-After": "7"})]
    start = clock.now
    client.list("/api/clients")
    assert clock.now - start >= 7 and len(fake_api.requests) == 2


def test_429_without_retry_after_backs_off_with_jitter(fake_api):
    waits = []
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=waits.append)
    fake_api.script = [(429, {"code": "RATE_LIMITED"}, {})] * 3
    client.list("/api/clients")
    assert len(waits) == 3 and all(0 < w <= 8 for w in waits)


@pytest.mark.parametrize("header", ["nan", "inf", "-inf"])
def test_a_retry_after_that_is_no_finite_number_is_a_backoff_without_a_budget(fake_api, header):
    waits = []  # time.sleep(nan) raises ValueError; time.sleep(inf) never returns
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=waits.append)
    fake_api.script = [(429, {"code": "RATE_LIMITED"}, {"Retry-After": header})] * 2
    assert client.request("GET", "/api/clients") == {"clients": [], "message": "Success",
                                                     "pagination": {"page": 1, "limit": 20, "total": 0, "pages": 1}}
    assert len(waits) == 2 and 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0


@pytest.mark.parametrize("header", ["nan", "inf", "-inf"])
def test_a_retry_after_that_is_no_finite_number_is_a_backoff_through_the_budget(fake_api, header):
    b, clock = budget(100)
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=clock.sleep, budget=b)
    fake_api.script = [(429, {"code": "RATE_LIMITED"}, {"Retry-After": header})] * 3
    start = clock.now
    client.request("GET", "/api/clients")
    assert len(fake_api.requests) == 4 and 0.25 + 0.5 + 1.0 <= clock.now - start <= 0.5 + 1.0 + 2.0  # waited, each time


def test_429s_on_a_post_are_waited_out_without_a_second_object(fake_api):
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=lambda s: None)
    fake_api.script = [(429, {"code": "RATE_LIMITED"}, {"Retry-After": "1"})] * 6
    client.create("/api/clients", {"clientName": "a"}, lambda i: i.get("clientName") == "a")
    assert len(fake_api.collections["/api/clients"]) == 1


def test_endless_429s_give_up_with_the_error(fake_api):
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=lambda s: None)
    fake_api.script = [(429, {"code": "RATE_LIMITED"}, {"Retry-After": "0"})] * 100
    with pytest.raises(RateLimited, match="GET /api/clients returned 429 RATE_LIMITED"):
        client.list("/api/clients")


@pytest.mark.parametrize(
    "value, expected", [(None, 100), ("", 100), ("1000", 1000), (250, 250), ("0", None), ("60.0", 60)]
)
def test_configured_limit(value, expected):
    assert parse_per_minute(value) == expected


@pytest.mark.parametrize("value", ["fast", "-1", "2.5"])
def test_bad_limits_name_the_setting(value):
    with pytest.raises(ConfigurationError, match=r"requestrocket:rateLimitPerMinute \(REQUESTROCKET_RATE_LIMIT\)"):
        rr_config.settings_from(lambda key: value if key == rr_config.RATE_LIMIT_KEY else None, env={})


def test_limit_from_config_then_environment():
    get = {rr_config.RATE_LIMIT_KEY: "1000"}.get
    assert rr_config.settings_from(get, env={}).rate_limit_per_minute == 1000
    assert rr_config.settings_from(env={"REQUESTROCKET_RATE_LIMIT": "0"}).rate_limit_per_minute is None
    assert rr_config.settings_from(env={}).rate_limit_per_minute == 100

"""The provider server: Pulumi's own server module, with a wider worker pool, sized from one setting."""

from concurrent import futures

import pytest

from rr_pulumi.concurrency import DEFAULT_WORKERS, WORKERS_ENV, provider_workers
from rr_pulumi.provider.server import widened


def test_workers_default_and_setting():
    assert provider_workers({}) == DEFAULT_WORKERS
    assert provider_workers({WORKERS_ENV: " 64 "}) == 64


@pytest.mark.parametrize("value", ["0", "-3", "many", "2.5", "5000"])
def test_bad_worker_counts_name_the_setting_and_the_range(value):
    with pytest.raises(ValueError, match=rf"{WORKERS_ENV} must be a whole number from 1 to 1024, got '{value}'"):
        provider_workers({WORKERS_ENV: value})


def test_pulumis_four_worker_pool_is_replaced_by_the_configured_one():
    made = []
    make = widened(lambda pool, *args, **kwargs: made.append((pool, args, kwargs)) or "server", 32)
    assert make(futures.ThreadPoolExecutor(max_workers=4), options=[("a", 1)]) == "server"
    pool, _, kwargs = made[0]
    assert pool._max_workers == 32 and kwargs["options"] == [("a", 1)]
    assert [type(i).__name__ for i in kwargs["interceptors"]] == ["ImportHint"]  # `pulumi import` in one line
    pool.shutdown()


def test_a_pool_at_least_as_wide_or_of_another_kind_is_kept():
    made = []
    make = widened(lambda pool, *args, **kwargs: made.append(pool), 8)
    wide = futures.ThreadPoolExecutor(max_workers=16)
    make(wide)
    make(None)
    assert made == [wide, None]
    wide.shutdown()

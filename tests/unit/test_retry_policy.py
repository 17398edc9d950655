"""The retry policy alone (`rr_pulumi.api.retry`): for each failed attempt, retry after how long, fail, or give up.

A fake clock stands in for time (the policy only reads it) and the jitter is fixed at its maximum, so every wait
is exact."""

import pytest

from rr_pulumi.api.retry import MAX_RATE_LIMITED, Outcome, RetryPolicy, Verdict, retry_after_seconds
from rr_pulumi.api.transport import MaybeSent, NotSent

NOT_SENT = Outcome.unanswered(NotSent("connection refused"))
MAYBE_SENT = Outcome.unanswered(MaybeSent("connection reset by peer"))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def policy(clock=None, **kw):
    return RetryPolicy(clock=clock or Clock(), jitter=lambda low, high: high, **kw)


def test_429_waits_for_retry_after_for_every_method():
    for method in ("GET", "POST", "PUT", "DELETE"):
        decision = policy().start(method).after(Outcome.answered(429, retry_after=7.0))
        assert (decision.verdict, decision.wait, decision.rate_limited) == (Verdict.RETRY, 7.0, True)


def test_429_without_retry_after_backs_off_exponentially_up_to_8_seconds():
    tries = policy().start("GET")
    waits = [tries.after(Outcome.answered(429)).wait for _ in range(6)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_the_backoff_is_jittered_down_to_half():
    lowest = RetryPolicy(jitter=lambda low, high: low)
    assert [lowest.backoff(n) for n in (1, 2, 5, 9)] == [0.25, 0.5, 4.0, 4.0]


def test_429s_are_waited_out_a_bounded_number_of_times():
    tries = policy().start("POST")
    verdicts = [tries.after(Outcome.answered(429, retry_after=0.0)).verdict for _ in range(MAX_RATE_LIMITED + 1)]
    assert verdicts == [Verdict.RETRY] * MAX_RATE_LIMITED + [Verdict.GIVE_UP]


def test_a_429_whose_wait_would_pass_the_time_bound_gives_up_at_once():
    decision = policy(max_total_seconds=1).start("GET").after(Outcome.answered(429, retry_after=30.0))
    assert decision.verdict is Verdict.GIVE_UP and decision.attempts == 1


def test_5xx_is_retried_on_get_put_delete_and_never_on_post():
    for method in ("GET", "PUT", "DELETE"):
        decision = policy().start(method).after(Outcome.answered(503))
        assert (decision.verdict, decision.wait, decision.rate_limited) == (Verdict.RETRY, 0.5, False)
    assert policy().start("POST").after(Outcome.answered(500)).verdict is Verdict.FAIL  # it may have created


def test_other_4xx_fail_at_once():
    for status in (400, 401, 403, 404, 409, 413):
        decision = policy().start("GET").after(Outcome.answered(status))
        assert decision.verdict is Verdict.FAIL and decision.attempts == 1


def test_a_request_that_never_left_is_resent_whatever_its_method():
    for method in ("GET", "POST"):
        assert policy().start(method).after(NOT_SENT).verdict is Verdict.RETRY


def test_a_request_that_may_have_arrived_is_resent_only_when_idempotent():
    assert policy().start("PUT").after(MAYBE_SENT).verdict is Verdict.RETRY
    assert policy().start("POST").after(MAYBE_SENT).verdict is Verdict.FAIL


def test_retries_stop_after_max_attempts_saying_how_many():
    tries = policy(max_attempts=3).start("GET")
    decisions = [tries.after(outcome) for outcome in (Outcome.answered(500), MAYBE_SENT, Outcome.answered(502))]
    assert [d.verdict for d in decisions] == [Verdict.RETRY, Verdict.RETRY, Verdict.GIVE_UP]
    assert decisions[-1].attempts == 3


def test_connect_attempts_bound_only_requests_that_never_left():
    tries = policy(max_attempts=5).start("GET", connect_attempts=2)
    assert [tries.after(NOT_SENT).verdict for _ in range(2)] == [Verdict.RETRY, Verdict.GIVE_UP]
    tries = policy(max_attempts=5).start("GET", connect_attempts=2)
    assert [tries.after(Outcome.answered(503)).verdict for _ in range(3)] == [Verdict.RETRY] * 3


def test_time_spent_failing_bounds_the_retries():
    clock = Clock()
    tries = policy(clock, max_total_seconds=10).start("GET")
    clock.now += 9.0
    decision = tries.after(Outcome.answered(500))  # 9 s failing + a 0.5 s wait: still within 10 s
    assert decision.verdict is Verdict.RETRY and decision.seconds == 9.0
    clock.now += 0.5
    decision = tries.after(Outcome.answered(500))  # 9.5 s + 1 s would pass it
    assert decision.verdict is Verdict.GIVE_UP and (decision.attempts, decision.seconds) == (2, 9.5)


def test_waiting_in_the_rate_budget_is_not_failing():
    clock = Clock()
    tries = policy(clock, max_total_seconds=10).start("GET", budgeted=True)
    clock.now += 300.0
    tries.paced(300.0)  # five minutes waiting for the budget before a send
    decision = tries.after(Outcome.answered(500))
    assert decision.verdict is Verdict.RETRY and decision.seconds == 0.0


def test_with_a_budget_retry_after_waits_are_pacing_and_429_backoffs_are_failing():
    clock = Clock()
    tries = policy(clock, max_total_seconds=120).start("GET", budgeted=True)
    for _ in range(5):  # the API asks for 60 s five times: the budget's pause holds the next send back
        assert tries.after(Outcome.answered(429, retry_after=60.0)).verdict is Verdict.RETRY
        clock.now += 60.0
        tries.paced(60.0)
    assert tries.failing_seconds() == 0.0
    backoff = tries.after(Outcome.answered(429))  # no Retry-After: our own choice to wait
    clock.now += backoff.wait
    tries.paced(backoff.wait)
    assert tries.failing_seconds() == backoff.wait


def test_without_a_budget_every_429_wait_is_failing():
    clock = Clock()
    tries = policy(clock, max_total_seconds=120).start("GET")
    verdicts = []
    for _ in range(3):
        verdicts.append(tries.after(Outcome.answered(429, retry_after=60.0)).verdict)
        clock.now += 60.0  # slept here
    assert verdicts == [Verdict.RETRY, Verdict.RETRY, Verdict.GIVE_UP]  # 120 s + 60 s would pass the bound


def test_429s_and_other_failures_add_up_in_the_attempts_reported():
    tries = policy(max_attempts=2).start("GET")
    tries.after(Outcome.answered(429, retry_after=0.0))
    tries.after(Outcome.answered(500))
    decision = tries.after(Outcome.answered(500))
    assert decision.verdict is Verdict.GIVE_UP and decision.attempts == 3


def test_a_rejected_token_may_be_renewed_once_per_request():
    policy_ = policy()
    tries = policy_.start("GET")
    assert [tries.may_renew_token(), tries.may_renew_token()] == [True, False]
    assert policy_.start("GET").may_renew_token()  # a new request may renew again


@pytest.mark.parametrize("header, seconds", [(None, None), ("2", 2.0), ("0.5", 0.5), ("-3", 0.0), ("3600", 60.0),
                                             ("Wed, 21 Oct 2026 07:28:00 GMT", None), ("soon", None),
                                             ("nan", None), ("NaN", None), ("inf", None), ("-inf", None),
                                             ("Infinity", None)])
def test_retry_after_is_read_in_seconds_and_clamped(header, seconds):
    assert retry_after_seconds(header) == seconds

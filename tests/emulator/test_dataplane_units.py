"""The data plane's pure pieces (issue 24): one path from the raw request target, bounded records, the pattern
limits at rule creation, and evaluation in a worker process. The same behaviour over HTTP is in
test_dataplane_hostile.py."""
from __future__ import annotations

import asyncio
import time

import h11
import pytest

from rr_pulumi.emulator import dataplane, upstream
from rr_pulumi.emulator.dataplane import Records, Refused, evaluable_body, forwarded_query, split_path
from rr_pulumi.emulator.evaluator import Evaluator
from rr_pulumi.emulator.patterns import compile_error
from rr_pulumi.schema.rule_evaluation import NO_BODY, Request, Scope


def scope(raw: str) -> dict:
    return {"path": raw, "raw_path": raw.encode("latin-1")}


@pytest.mark.parametrize("raw, judged, forwarded", [
    ("/dataplane/api/p", "/", "/"),
    ("/dataplane/api/p/", "/", "/"),
    ("/dataplane/api/p/a%20b/c", "/a b/c", "/a%20b/c"),
    ("/dataplane/api/p/x/../admin", "/admin", "/admin"),
    ("/dataplane/api/p/a/./b/", "/a/b/", "/a/b/"),
    ("/dataplane/api/p//admin", "/admin", "/admin"),
    ("/dataplane/api/p/a/b/..", "/a/", "/a/"),
    ("/dataplane/api/p/d%5D", "/d]", "/d%5D"),
    ("/dataplane/api/p/file%2Etxt", "/file.txt", "/file%2Etxt"),
    ("/dataplane/api/p/a;b=1", "/a;b=1", "/a;b=1"),
])
def test_one_path_is_judged_and_forwarded(raw, judged, forwarded):
    assert split_path(scope(raw)) == ("p", judged, forwarded)


@pytest.mark.parametrize("raw", [
    "/dataplane/api/p/../x", "/dataplane/api/p/a/../../x", "/dataplane/api/p/a%2Fb", "/dataplane/api/p/a%2fb",
    "/dataplane/api/p/a%3Fb", "/dataplane/api/p/a%5Cb", "/dataplane/api/p/a\\b", "/dataplane/api/p/%2E%2E/x",
    "/dataplane/api/p/.%2e/x", "/dataplane/api/p/a%00", "/dataplane/api/p/a%23b", "/dataplane/api/p/a b",
    "/dataplane/api/p/%ff",
])
def test_paths_that_could_mean_two_things_are_refused(raw):
    with pytest.raises(Refused) as refused:
        split_path(scope(raw))
    assert (refused.value.error.status, refused.value.error.code) == (400, "INVALID_PATH")


@pytest.mark.parametrize("raw", ["/dataplaneX/api/p/x", "/dataplane/api//x", "/dataplane/api/%2F/x",
                                 "/dataplane/api/../x", "/dataplane/x"])
def test_no_proxy_id_without_the_exact_prefix_and_a_plain_segment(raw):
    assert split_path(scope(raw))[0] == ""


def test_the_query_loses_only_the_authorization_parameter():
    assert forwarded_query("a;b=1&flag&Authorization=k&x=%2F&Authorization=j") == "a;b=1&flag&x=%2F"


@pytest.mark.parametrize("body", [b"[" * 65 + b"]" * 65, b'{"a":1}{"a":2}', b"{", b'"\xff"', b"NaN"])
def test_bodies_a_check_cannot_read_are_refused(body):
    with pytest.raises(Refused) as refused:
        evaluable_body(body)
    assert refused.value.error.code == "BODY_NOT_EVALUABLE"


def test_bodies_within_the_depth_are_read():
    assert evaluable_body(b"[" * 64 + b"]" * 64) is not None
    assert evaluable_body(b'{"s": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')


def test_records_are_bounded_per_proxy_in_all_and_for_unknown_proxies(monkeypatch):
    monkeypatch.setattr(dataplane, "RECORDS_PER_PROXY", 10)
    monkeypatch.setattr(dataplane, "RECORDS_MAX", 50)
    records = Records()
    for i in range(1000):
        records.keep({"proxyId": "busy" if i % 10 else f"p{i}", "receivedAt": i}, True)
        records.keep({"proxyId": f"unknown-{i}", "receivedAt": i}, False)
    assert len(records.find("busy")) == 10 and records.find("busy")[-1]["receivedAt"] == 999
    assert records.find("unknown-999") == []
    kept = records.find(None)
    assert len(kept) == 50 + dataplane.UNKNOWN_PROXY_RECORDS
    assert len(records._order) <= 2 * 50


@pytest.mark.parametrize("pattern, refused", [
    ("(a{2000}){2000}", "multiply"), ("(?:(?:b{100}){100}){100}", "multiply"), ("(" * 21 + "a" + ")" * 21, "nests"),
    ("[", "valid regular expression"), ("^/[[:digit:]]+$", None), ("^(a+)+$", None), (r"\d{1,50000}", None),
])
def test_pattern_limits_at_rule_creation(pattern, refused):
    reason = compile_error(pattern, 0)
    assert (reason is None) if refused is None else (refused in reason), reason


def test_a_worker_judges_with_re_and_a_runaway_search_fails_closed():
    rules = [{"sKey": "digits", "effect": "deny", "pathPattern": "^/[[:digit:]]+$"},
             {"sKey": "slow", "effect": "deny", "headerChecks": [{"namePattern": "^x$", "valuePattern": "^(x+x+)+y$",
                                                                  "presence": "present"}]}]
    scopes = [Scope("proxy", "p", "allow", rules)]

    async def judge():
        evaluator = Evaluator(workers=1)
        try:
            return [await evaluator.evaluate("tenant", scopes, Request("GET", path, headers, (), NO_BODY))
                    for path, headers in (("/123", ()), ("/d]", ()), ("/ok", (("x", "x" * 64),)))]
        finally:
            await evaluator.aclose()

    numbers, bracket, slow = asyncio.run(judge())
    assert numbers.allowed and not bracket.allowed and bracket.rule_id == "digits"
    assert not slow.allowed and slow.scopes[0].timeouts == ["slow"]


def test_body_checks_are_never_judged_in_the_server(monkeypatch):
    """A JSONPath walks the body at a cost of its own, with a value pattern or without: a worker judges it."""
    from rr_pulumi.emulator import evaluator as evaluator_module

    def in_the_server(*_args):
        raise AssertionError("judged in the server's event loop")

    monkeypatch.setattr(evaluator_module, "evaluate", in_the_server)
    rules = [{"sKey": "r1", "effect": "allow", "bodyChecks": [{"jsonPath": "$" + "..*" * 5, "presence": "present"}]}]
    body = evaluable_body(b"[" * 60 + b"]" * 60)

    async def judge():
        evaluator = Evaluator(workers=1)
        try:
            return await evaluator.evaluate("tenant", [Scope("proxy", "p", "deny", rules)],
                                            Request("POST", "/", (), (), body))
        finally:
            await evaluator.aclose()

    decision = asyncio.run(judge())   # past the JSONPath node cap: the allow rule fails closed
    assert not decision.allowed and decision.scopes[0].timeouts == ["r1"]


@pytest.mark.parametrize("auth, secret", [
    ("apiKey", {"apiKey": "k€y"}), ("apiKey", {"apiKey": "k", "headerName": "X Bad"}),
    ("custom", {"headers": {"X-Ünï": "v"}}), ("bearer", {"token": "t\r\nX: 1"}),
])
def test_a_stored_secret_http_cannot_carry_is_a_502_not_a_crash(auth, secret):
    """Secrets saved before the control plane checked header names and values still get a documented answer."""
    with pytest.raises(upstream.UpstreamFailed) as failed:
        asyncio.run(upstream.injected_headers(auth, secret, ("c", "v"), upstream.TokenCache()))
    assert (failed.value.status, failed.value.code) == (502, "TARGET_CREDENTIAL_UNUSABLE")
    assert "k€y" not in str(failed.value) and "t\r\n" not in str(failed.value)


def test_a_records_decision_keeps_a_bounded_number_of_matched_rule_ids():
    from rr_pulumi.schema.rule_evaluation import Decision, ScopeResult

    rules = [{"sKey": f"rule-{i}", "effect": "allow"} for i in range(1000)]
    decision = Decision(True, [ScopeResult("proxy", "p1", "deny", rules, "allow", rules[0])])
    [kept] = dataplane.decision_summary(decision)
    assert kept["matchedRuleIds"] == [f"rule-{i}" for i in range(dataplane.RECORD_ITEMS_MAX)]
    assert kept["omittedMatchedRules"] == 1000 - dataplane.RECORD_ITEMS_MAX and kept["ruleId"] == "rule-0"


def test_a_worker_cancelled_while_it_starts_is_stopped(monkeypatch):
    from rr_pulumi.emulator import evaluator as evaluator_module

    started, made = [], []
    create = asyncio.create_subprocess_exec

    async def recording_create(*args, **kwargs):
        proc = await create(*args, **kwargs)
        started.append(proc)
        made[0].set()
        return proc

    monkeypatch.setattr(evaluator_module.asyncio, "create_subprocess_exec", recording_create)

    async def cancel_the_start():
        made.append(asyncio.Event())
        task = asyncio.ensure_future(evaluator_module._Worker.start())
        await made[0].wait()   # the process exists, and its start waits for the "ready" line
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        try:
            return await asyncio.wait_for(started[0].wait(), 20)
        finally:
            if started[0].returncode is None:
                started[0].kill()
                await started[0].wait()

    assert asyncio.run(cancel_the_start()) is not None


def test_a_target_that_switches_protocols_ends_the_exchange(monkeypatch):
    """A 2xx to CONNECT puts h11 in PAUSED for good. The exchange must fail there: a loop that asks again goes round
    without awaiting and freezes the whole server (the spy makes that a failure here rather than a hang)."""
    paused = []

    class Spy(h11.Connection):
        def next_event(self):
            assert not paused, "next_event() asked again after PAUSED: the exchange spins"
            event = super().next_event()
            if event is h11.PAUSED:
                paused.append(event)
            return event

    monkeypatch.setattr(upstream.h11, "Connection", Spy)

    async def target(reader, writer):
        await reader.read(65536)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await reader.read()   # until the client has gone
        writer.close()

    async def connect():
        server = await asyncio.start_server(target, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            await upstream.fetch("CONNECT", f"http://127.0.0.1:{port}/x", [], b"", time.monotonic() + 60)
        finally:
            server.close()
            await server.wait_closed()

    with pytest.raises(upstream.UpstreamFailed) as failed:
        asyncio.run(connect())
    assert (failed.value.status, failed.value.code) == (502, "UPSTREAM_UNREACHABLE") and len(paused) == 1

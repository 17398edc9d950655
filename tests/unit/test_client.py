"""The API client: pagination, envelope and id tolerance, retries, POST adoption, 404 on delete, read cache."""

import pytest

from rr_pulumi.api.client import (
    RequestRocketClient,
    collection,
    item_id,
    items_of,
    rules_collection,
    siblings_to_prefetch,
)
from rr_pulumi.api.errors import ConnectionFailed, InvalidRequest, NotFound, RateLimited, ServerError, Unauthorized
from rr_pulumi.api.transport import MaybeSent

from .conftest import API_URL
from .fake_api import TOKEN, FakeApi

CREDS = collection("c1", "credentials")


def seed(api, n, coll=CREDS):
    for i in range(n):
        api.put(coll, {"credentialName": f"cred-{i}"})


def test_reads_every_page_with_limit_100(fake_api, api_client):
    seed(fake_api, 250)
    items = api_client.list(CREDS)
    assert len(items) == 250 and len({item_id(i, "credentials") for i in items}) == 250
    gets = [r for r in fake_api.requests if r[0] == "GET"]
    assert len(gets) == 3


def test_raw_token_and_api_prefix(fake_api, api_client):
    api_client.list("/api/clients")
    method, path, _, headers = fake_api.requests[0]
    assert path == "/api/clients" and headers["Authorization"] == TOKEN


def test_data_envelope_and_explicit_ids_and_prefixed_ids():
    api = FakeApi(envelope="data", id_field="credentialId", id_prefix="cred_")
    client = RequestRocketClient(API_URL, TOKEN, transport=api, sleep=lambda s: None)
    seed(api, 120)
    items = client.list(CREDS)
    assert len(items) == 120 and item_id(items[0], "credentials") == "cred_1"
    assert client.find(CREDS, "cred_7")["credentialName"] == "cred-6"


def test_items_of_tolerates_shapes():
    assert items_of({"proxies": [{"sKey": "p"}], "message": "Success"}, "proxies") == [{"sKey": "p"}]
    assert items_of({"data": [{"sKey": "p"}], "pagination": {}}, "proxies") == [{"sKey": "p"}]
    assert items_of([{"sKey": "p"}], "proxies") == [{"sKey": "p"}]
    assert items_of({"proxyId": "p", "proxyName": "x"}, "proxies") == [{"proxyId": "p", "proxyName": "x"}]
    assert item_id({"sKey": "s", "proxyId": "p"}, "proxies") == "p"
    assert item_id({"clientId": "c", "sKey": "x"}, "clients") == "c"


def test_errors_are_typed_and_do_not_leak_the_token(fake_api):
    client = RequestRocketClient(API_URL, "u-wrong-token", transport=fake_api, sleep=lambda s: None)
    with pytest.raises(Unauthorized) as exc:
        client.list("/api/clients")
    assert "GET /api/clients returned 401 UNAUTHORIZED" in str(exc.value) and "u-wrong" not in str(exc.value)


def test_429_waits_for_retry_after_then_succeeds(fake_api):
    waits = []
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=waits.append)
    fake_api.script = [(429, {"error": "slow down", "code": "RATE_LIMITED", "status": 429}, {"Retry-After": "2"})]
    client.create("/api/clients", {"clientName": "a"}, lambda i: False)
    assert waits == [2.0] and len(fake_api.collections["/api/clients"]) == 1


def test_429_without_retry_after_uses_jittered_backoff(fake_api):
    waits = []
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=waits.append)
    fake_api.script = [(429, {"code": "RATE_LIMITED"}, {})] * 2
    client.list("/api/clients")
    assert len(waits) == 2 and 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0


def test_get_retries_5xx_and_connection_errors_within_bounds(fake_api):
    waits = []
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=waits.append, max_attempts=3)
    fake_api.script = [(503, {"code": "UNAVAILABLE"}, {}), (0, MaybeSent("slow"), {})]
    assert client.list("/api/clients") == []
    fake_api.script = [(500, {"code": "INTERNAL"}, {})] * 3
    with pytest.raises(ServerError):
        client.list("/api/clients")
    assert len(waits) == 4


def test_total_time_bounds_retries(fake_api):
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=lambda s: None, max_total_seconds=1)
    fake_api.script = [(429, {"code": "RATE_LIMITED"}, {"Retry-After": "30"})]
    with pytest.raises(RateLimited):
        client.list("/api/clients")


def test_4xx_is_not_retried(fake_api, api_client):
    listed = (200, {"clients": []}, {})  # the list a create takes before it posts
    fake_api.script = [listed, (400, {"error": "bad", "code": "VALIDATION_ERROR", "message": "clientName: 1-100"}, {})]
    with pytest.raises(InvalidRequest, match="POST /api/clients returned 400 VALIDATION_ERROR: bad; clientName: 1-100"):
        api_client.create("/api/clients", {"clientName": ""}, lambda i: False)
    assert [m for m, *_ in fake_api.requests] == ["GET", "POST"]


def test_post_is_not_resent_when_the_ambiguous_create_happened(fake_api, api_client):
    fake_api.apply_then_fail = 500  # the object is created, but the answer is an error
    item = api_client.create(CREDS, {"credentialName": "x"}, lambda i: i.get("credentialName") == "x")
    assert item["credentialName"] == "x" and len(fake_api.collections[CREDS]) == 1
    assert [m for m, _ in fake_api.writes()] == ["POST"]


def test_post_is_resent_when_nothing_was_created(fake_api, api_client):
    fake_api.script = [(200, {"credentials": []}, {}), (0, MaybeSent("connection reset"), {})]
    item = api_client.create(CREDS, {"credentialName": "x"}, lambda i: i.get("credentialName") == "x")
    assert item["credentialName"] == "x" and len(fake_api.collections[CREDS]) == 1
    methods = [m for m, *_ in fake_api.requests]
    assert methods == ["GET", "POST", "GET", "POST"]  # listed before sending, looked before sending again


def test_connection_refused_is_one_clear_error(api_client):
    client = RequestRocketClient("http://127.0.0.1:9", TOKEN, sleep=lambda s: None, max_attempts=2, timeout=(0.5, 0.5))
    with pytest.raises(ConnectionFailed, match="GET /api/clients failed: could not reach the RequestRocket API"):
        client.list("/api/clients")


def test_delete_of_gone_object_is_success(fake_api, api_client):
    assert api_client.delete(CREDS, "nope") is False
    fake_api.script = [(503, {"code": "UNAVAILABLE"}, {}), (404, {"code": "NOT_FOUND"}, {})]
    assert api_client.delete(CREDS, "x") is False  # the first attempt did it


def test_read_cache_lists_once_and_writes_invalidate(fake_api, api_client):
    seed(fake_api, 5)
    ids = list(fake_api.collections[CREDS])
    for id_ in ids:
        assert api_client.find(CREDS, id_) is not None
    assert len([r for r in fake_api.requests if r[0] == "GET"]) == 1
    api_client.delete(CREDS, ids[0])
    assert api_client.find(CREDS, ids[0]) is None
    assert len([r for r in fake_api.requests if r[0] == "GET"]) == 2


def test_deleting_a_parent_invalidates_its_rules(fake_api, api_client):
    fake_api.put(CREDS, {"credentialName": "a"})
    cred = next(iter(fake_api.collections[CREDS]))
    rules = f"{CREDS}/{cred}/rules"
    fake_api.put(rules, {"effect": "deny", "priority": 1})
    rule = next(iter(fake_api.collections[rules]))
    assert api_client.find(rules, rule) is not None
    api_client.delete(CREDS, cred)
    assert api_client.find(rules, rule) is None


def test_find_when_parent_is_gone_is_none(fake_api, api_client):
    fake_api.script = [(404, {"code": "NOT_FOUND", "error": "client not found"}, {})]
    assert api_client.find(collection("gone", "targets"), "t1") is None


def test_get_one(fake_api, api_client):
    seed(fake_api, 1)
    id_ = next(iter(fake_api.collections[CREDS]))
    assert api_client.get(CREDS, id_)["credentialName"] == "cred-0"
    with pytest.raises(NotFound):
        api_client.get(CREDS, "missing")


def test_pages_after_the_first_are_each_read_once_and_kept_in_order(fake_api, api_client):
    seed(fake_api, 450)
    items = api_client.list(CREDS)
    assert [i["credentialName"] for i in items] == [f"cred-{n}" for n in range(450)]
    assert len(fake_api.requests) == 5  # one GET per page, however the reads overlapped


def test_siblings_are_the_same_collection_under_parents_already_read():
    found = {"/api/clients/c1", "/api/clients/c2", "/api/clients/c1/proxies/p1", "/api/clients/c2/proxies/p2",
             "/api/clients/c1/targets/t1"}
    assert siblings_to_prefetch("/api/clients/c1/targets", found) == ["/api/clients/c2/targets"]
    assert siblings_to_prefetch("/api/clients/c1/proxies/p1/rules", found) == ["/api/clients/c2/proxies/p2/rules"]
    assert siblings_to_prefetch("/api/clients", found) == []


def test_a_refresh_lists_each_collection_once_and_siblings_ahead_of_need(fake_api, api_client):
    clients = [fake_api.put("/api/clients", {"clientName": f"org{i}"})["clientId"] for i in range(3)]
    fake_api.put("/api/clients", {"clientName": "not in the stack"})
    targets = [fake_api.put(collection(c, "targets"), {"targetName": "t"})["sKey"] for c in clients]
    for c in clients:  # the engine reads parents first
        assert api_client.find("/api/clients", c) is not None
    assert api_client.find(collection(clients[0], "targets"), targets[0]) is not None
    api_client._prefetcher.shutdown(wait=True)  # the siblings were listed in the background
    listed = [path for method, path, _, _ in fake_api.requests if method == "GET"]
    assert sorted(listed) == sorted(["/api/clients"] + [collection(c, "targets") for c in clients])
    for c, t in zip(clients[1:], targets[1:], strict=True):
        assert api_client.find(collection(c, "targets"), t) is not None
    assert len([r for r in fake_api.requests if r[0] == "GET"]) == len(listed)  # served from what was listed


def test_paths_spell_no_plural_by_hand():
    """The client derives each collection's segment from the kind registry (`kinds.<KIND>.plural`): a plural written
    into a path literal (`"/api/clients"`, `f".../{id}/rules"`) would be a second declaration of it."""
    import ast
    from pathlib import Path

    from rr_pulumi.api import client as client_module
    from rr_pulumi.schema import kinds

    plurals = {k.plural for k in kinds.KINDS}
    tree = ast.parse(Path(client_module.__file__).read_text())
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    spelled = [
        (node.lineno, node.value) for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        and plurals & set(node.value.split("/"))
    ]  # fmt: skip
    assert spelled == []


def test_ids_are_quoted_whole_into_paths(fake_api, api_client):
    from rr_pulumi.schema import kinds

    assert collection("c 1/..", kinds.TARGET.plural) == f"/api/{kinds.CLIENT.plural}/c%201%2F../{kinds.TARGET.plural}"
    assert rules_collection("c1", kinds.PROXY.plural, "p/1") == (
        f"/api/{kinds.CLIENT.plural}/c1/{kinds.PROXY.plural}/p%2F1/{kinds.RULE.plural}")
    with pytest.raises(NotFound):
        api_client.get(CREDS, "x/../../clients")
    assert api_client.delete(CREDS, "a?b") is False
    assert [path for _, path, _, _ in fake_api.requests] == [
        "/api/clients/c1/credentials/x%2F..%2F..%2Fclients", "/api/clients/c1/credentials/a%3Fb"]

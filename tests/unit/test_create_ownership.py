"""A create proves what it made (`rr_pulumi.api.ownership`): after an ambiguous POST it adopts an object only when that
object was not in the collection before the request, is not older than the request, and is the only one left.
Another stack's object of the same name is never taken over."""

import threading

import pytest

from rr_pulumi.api.client import RequestRocketClient, collection
from rr_pulumi.api.errors import ServerError, UnprovenCreate
from rr_pulumi.api.transport import MaybeSent

from .conftest import API_URL
from .fake_api import TOKEN

TARGETS = collection("c1", "targets")
RULES = f"{collection('c1', 'proxies')}/p1/rules"


def named(name):
    return lambda item: item.get("targetName") == name


def client_for(fake_api, **kw):
    return RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=lambda s: None, **kw)


def fail_posts(fake_api, answers):
    """Answer the POSTs, in turn, as `answers` say: "500" (nothing applied), "applied-500" (applied, then 500),
    "applied-reset" (applied, then the connection breaks); later POSTs are answered normally. `during(n)` callbacks
    run just after the n-th POST was handled, as another stack writing at that moment would."""
    real_send = fake_api.send
    posts = []
    fake_api.during = {}

    def send(request, **kw):
        if request.method != "POST":
            return real_send(request, **kw)
        posts.append(request)
        mode = answers[len(posts) - 1] if len(posts) <= len(answers) else "ok"
        if mode == "500":
            fake_api.requests.append((request.method, request.url, request.body, request.headers))
            response = fake_api._answer(500, {"error": "boom", "code": "INTERNAL_ERROR", "status": 500})
        else:
            response = real_send(request, **kw)
        fake_api.during.get(len(posts), lambda: None)()
        if mode == "applied-500":
            return fake_api._answer(500, {"error": "boom", "code": "INTERNAL_ERROR", "status": 500})
        if mode == "applied-reset":
            raise MaybeSent("Connection reset by peer")
        return response

    fake_api.send = send
    return posts


def test_a_500_that_created_nothing_never_adopts_a_same_named_object_of_another_stack(fake_api):
    foreign = fake_api.put(TARGETS, {"targetName": "api", "targetBaseURL": "https://theirs.example.com"})
    posts = fail_posts(fake_api, ["500"])
    item = client_for(fake_api).create(TARGETS, {"targetName": "api"}, named("api"))
    assert item["sKey"] != foreign["sKey"]  # a new object of its own, sent again once proven not created
    assert len(posts) == 2 and len(fake_api.collections[TARGETS]) == 2
    assert fake_api.collections[TARGETS][foreign["sKey"]]["targetBaseURL"] == "https://theirs.example.com"


def test_a_500_on_every_post_fails_without_taking_the_foreign_object(fake_api):
    fake_api.put(TARGETS, {"targetName": "api"})
    fail_posts(fake_api, ["500"] * 10)
    with pytest.raises(ServerError, match="POST /api/clients/c1/targets returned 500"):
        client_for(fake_api, max_attempts=3).create(TARGETS, {"targetName": "api"}, named("api"))
    assert len(fake_api.collections[TARGETS]) == 1  # only the foreign one, untouched


@pytest.mark.parametrize("mode", ["applied-500", "applied-reset"])
def test_a_post_that_applied_adopts_exactly_its_own_object(fake_api, mode):
    older = fake_api.put(TARGETS, {"targetName": "api"})
    posts = fail_posts(fake_api, [mode])
    item = client_for(fake_api).create(TARGETS, {"targetName": "api"}, named("api"))
    ids = list(fake_api.collections[TARGETS])
    assert len(posts) == 1 and len(ids) == 2  # never sent twice
    assert item["sKey"] == ids[1] != older["sKey"]


def test_two_same_named_objects_appearing_during_the_request_fail_in_one_line_naming_both(fake_api):
    fake_api.put(TARGETS, {"targetName": "api"})  # there before: never a candidate
    fail_posts(fake_api, ["applied-500"])
    fake_api.during[1] = lambda: fake_api.put(TARGETS, {"targetName": "api"})  # another stack, at the same moment
    with pytest.raises(UnprovenCreate) as failure:
        client_for(fake_api).create(TARGETS, {"targetName": "api"}, named("api"))
    ids = list(fake_api.collections[TARGETS])
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("POST /api/clients/c1/targets returned 500 INTERNAL_ERROR: boom, and 2 new targets")
    assert f"({ids[1]}, {ids[2]})" in message and ids[0] not in message.split("appeared")[1]
    assert 'declare adopt_id="<that id>"' in message and "run `pulumi up` again" in message
    assert failure.value.candidates == (ids[1], ids[2])
    assert len(ids) == 3  # nothing deleted, nothing sent again


def test_another_stacks_object_of_the_same_name_created_during_a_failed_post_is_not_adopted(fake_api):
    """Our POST applied nothing; another stack created a target of the same name (its own values) meanwhile. It is
    not ours (other values), but it could be ours with a value the server normalised: neither adopted nor resent."""
    posts = fail_posts(fake_api, ["500"])
    theirs = {}
    fake_api.during[1] = lambda: theirs.update(
        fake_api.put(TARGETS, {"targetName": "api", "targetBaseURL": "https://theirs.example.com"}))
    with pytest.raises(UnprovenCreate) as failure:
        client_for(fake_api).create(
            TARGETS, {"targetName": "api", "targetBaseURL": "https://ours.example.com"}, named("api"))
    assert failure.value.candidates == (theirs["sKey"],) and len(posts) == 1
    assert fake_api.collections[TARGETS][theirs["sKey"]]["targetBaseURL"] == "https://theirs.example.com"


def test_our_object_beside_a_same_named_one_with_other_values_is_adopted(fake_api):
    posts = fail_posts(fake_api, ["applied-500"])
    fake_api.during[1] = lambda: fake_api.put(TARGETS, {"targetName": "api", "targetBaseURL": "https://theirs.io"})
    item = client_for(fake_api).create(TARGETS, {"targetName": "api", "targetBaseURL": "https://ours.io"}, named("api"))
    assert item["targetBaseURL"] == "https://ours.io" and len(posts) == 1


def test_an_object_older_than_the_request_is_never_adopted_even_when_the_before_list_missed_it(fake_api):
    # e.g. a page boundary moved while the before-list was read: the object is old, so it is not this request's
    fake_api.put(TARGETS, {"targetName": "api", "targetCreatedAt": "2020-01-01T00:00:00.000Z"})
    real_send, seen = fake_api.send, []

    def send(request, **kw):
        response = real_send(request, **kw)
        if request.method == "GET" and not seen:
            seen.append(1)
            return fake_api._answer(200, {"targets": [], "message": "Success"})  # the old object missed
        return response

    fake_api.send = send
    fail_posts(fake_api, ["500"])
    item = client_for(fake_api).create(TARGETS, {"targetName": "api"}, named("api"))
    assert item.get("targetCreatedAt") != "2020-01-01T00:00:00.000Z" and len(fake_api.collections[TARGETS]) == 2


def test_the_list_before_the_post_is_fresh_not_the_read_cache(fake_api):
    client = client_for(fake_api)
    assert client.find(TARGETS, "nope") is None  # caches an empty targets list
    foreign = fake_api.put(TARGETS, {"targetName": "api"})  # another stack creates it afterwards
    fail_posts(fake_api, ["500"])
    item = client.create(TARGETS, {"targetName": "api"}, named("api"))
    assert item["sKey"] != foreign["sKey"]


def test_a_failed_post_whose_collection_cannot_be_listed_says_what_to_look_for(fake_api):
    fail_posts(fake_api, ["applied-500"])
    real_send, gets = fake_api.send, []

    def send(request, **kw):
        if request.method == "GET":
            gets.append(1)
            if len(gets) > 1:
                return fake_api._answer(503, {"error": "down", "code": "SERVICE_UNAVAILABLE", "status": 503})
        return real_send(request, **kw)

    fake_api.send = send
    with pytest.raises(UnprovenCreate) as failure:
        client_for(fake_api, max_attempts=2).create(TARGETS, {"targetName": "api"}, named("api"))
    message = str(failure.value)
    assert "\n" not in message and message.startswith("POST /api/clients/c1/targets returned 500")
    assert "listing /api/clients/c1/targets to see whether it created anything failed too" in message
    assert 'declare adopt_id="<its id>"' in message


def test_rules_have_no_name_their_content_is_the_key(fake_api):
    rule = {"effect": "deny", "priority": 1, "methods": ["DELETE"]}
    foreign = fake_api.put(RULES, dict(rule))  # the same rule, someone else's
    fail_posts(fake_api, ["500"])
    same = lambda item: all(item.get(k) == v for k, v in rule.items())  # noqa: E731
    item = client_for(fake_api).create(RULES, dict(rule), same)
    assert item["sKey"] != foreign["sKey"] and len(fake_api.collections[RULES]) == 2


# -- creates of one process: an object another thread's create made is never adopted ----------------------------------

GUARD = 10  # seconds a step may take before the test reports a hang (never reached when the steps meet)


def meet(event):
    assert event.wait(GUARD), "a step of the test never happened"


def run_in_thread(name, target):
    results = {}

    def run():
        try:
            results["item"] = target()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results["error"] = exc

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread, results


def join(*threads):
    for thread in threads:
        thread.join(GUARD)
        assert not thread.is_alive(), f"{thread.name} never finished"


@pytest.mark.parametrize("clients", ["one client", "two clients of one API"])
def test_a_failed_post_never_adopts_the_identical_object_another_thread_of_the_process_created(fake_api, clients):
    """Threads A and B create identical targets (legal: names need not be unique). B's POST creates b; A's POST gets
    a 500 that created nothing. b is new, matches and holds A's values, yet it is B's: A sends again."""
    a_posting, b_done = threading.Event(), threading.Event()
    real_send, posts = fake_api.send, []

    def send(request, **kw):
        if request.method == "POST" and threading.current_thread().name == "A" and not posts:
            posts.append("A")
            a_posting.set()
            meet(b_done)  # B creates its target while A's POST is on the wire
            return fake_api._answer(500, {"error": "boom", "code": "INTERNAL_ERROR", "status": 500})
        return real_send(request, **kw)

    fake_api.send = send
    client_a = client_for(fake_api)
    client_b = client_a if clients == "one client" else client_for(fake_api)
    body = {"targetName": "api", "targetBaseURL": "https://api.example.com"}
    a, a_result = run_in_thread("A", lambda: client_a.create(TARGETS, dict(body), named("api")))
    meet(a_posting)
    b, b_result = run_in_thread("B", lambda: client_b.create(TARGETS, dict(body), named("api")))
    join(b)
    b_done.set()
    join(a)
    assert "error" not in a_result and "error" not in b_result
    assert a_result["item"]["sKey"] != b_result["item"]["sKey"]
    assert sorted(fake_api.collections[TARGETS]) == sorted([a_result["item"]["sKey"], b_result["item"]["sKey"]])


def test_a_failed_post_waits_for_the_answer_of_another_threads_post_before_it_decides(fake_api):
    """B's POST has created b, but its answer is still on the wire when A (whose POST made nothing) lists the
    targets: A must not decide before B's answer claims b."""
    a_posting, b_applied, a_listed_again = threading.Event(), threading.Event(), threading.Event()
    real_send, a_gets, a_posts = fake_api.send, [], []

    def send(request, **kw):
        thread = threading.current_thread().name
        if request.method == "POST" and thread == "A" and not a_posts:
            a_posts.append(1)
            a_posting.set()
            meet(b_applied)
            return fake_api._answer(500, {"error": "boom", "code": "INTERNAL_ERROR", "status": 500})
        if request.method == "POST" and thread == "B":
            response = real_send(request, **kw)
            b_applied.set()
            meet(a_listed_again)  # the answer arrives only after A has seen b in its list
            return response
        response = real_send(request, **kw)
        if request.method == "GET" and thread == "A":
            a_gets.append(1)
            if len(a_gets) == 2:
                a_listed_again.set()
        return response

    fake_api.send = send
    client = client_for(fake_api)
    body = {"targetName": "api"}
    a, a_result = run_in_thread("A", lambda: client.create(TARGETS, dict(body), named("api")))
    meet(a_posting)
    b, b_result = run_in_thread("B", lambda: client.create(TARGETS, dict(body), named("api")))
    join(a, b)
    assert "error" not in a_result and "error" not in b_result
    assert a_result["item"]["sKey"] != b_result["item"]["sKey"] and len(fake_api.collections[TARGETS]) == 2


# -- a POST that succeeds without returning its object --------------------------------------------------------------

def answer_posts_without_the_object(fake_api, answer, apply=True):
    real_send, posts = fake_api.send, []

    def send(request, **kw):
        if request.method != "POST":
            return real_send(request, **kw)
        posts.append(request)
        if apply:
            real_send(request, **kw)
        else:
            fake_api.requests.append((request.method, request.url, request.body, request.headers))
        return fake_api._answer(201, answer)

    fake_api.send = send
    return posts


@pytest.mark.parametrize("answer", [{"message": "Success"}, {"targets": [], "message": "Success"},
                                    {"targets": [{"targetName": "api"}], "message": "Success"}, ""])
def test_a_success_without_the_object_adopts_the_object_it_made(fake_api, answer):
    client = client_for(fake_api)
    foreign = fake_api.put(TARGETS, {"targetName": "api"})  # there before: never a candidate
    assert client.find(TARGETS, foreign["sKey"]) == foreign  # the read cache holds the list before the POST
    posts = answer_posts_without_the_object(fake_api, answer)
    item = client.create(TARGETS, {"targetName": "api"}, named("api"))
    ids = list(fake_api.collections[TARGETS])
    assert len(posts) == 1 and len(ids) == 2 and item["sKey"] == ids[1] != foreign["sKey"]
    assert client.find(TARGETS, item["sKey"]) == item  # the cache was invalidated: the new object is read back


def test_a_success_without_the_object_and_none_listed_fails_in_one_line_without_sending_again(fake_api):
    fake_api.put(TARGETS, {"targetName": "api"})
    posts = answer_posts_without_the_object(fake_api, {"message": "Success"}, apply=False)
    with pytest.raises(UnprovenCreate) as failure:
        client_for(fake_api).create(TARGETS, {"targetName": "api", "targetBaseURL": "https://x.io"}, named("api"),
                                    secrets=["s3cr3t-value"])
    message = str(failure.value)
    assert message == (
        "POST /api/clients/c1/targets succeeded without returning the target it created, and no new target matching "
        "it is listed: nothing was adopted and nothing was sent again; before the next `pulumi up`, look in "
        '/api/clients/c1/targets for a new target matching this resource; if there is one, declare adopt_id="<its id>" '
        "on it"
    )
    assert TOKEN not in message and len(posts) == 1 and len(fake_api.collections[TARGETS]) == 1


def test_a_success_without_the_object_beside_two_new_matches_adopts_neither(fake_api):
    answer_posts_without_the_object(fake_api, {"message": "Success"})
    real_post = fake_api.send

    def send(request, **kw):
        response = real_post(request, **kw)
        if request.method == "POST":
            fake_api.put(TARGETS, {"targetName": "api"})  # another stack's, at the same moment
        return response

    fake_api.send = send
    with pytest.raises(UnprovenCreate) as failure:
        client_for(fake_api).create(TARGETS, {"targetName": "api"}, named("api"))
    ids = list(fake_api.collections[TARGETS])
    assert failure.value.candidates == tuple(sorted(ids)) and len(ids) == 2
    assert str(failure.value).startswith(
        "POST /api/clients/c1/targets succeeded without returning the target it created, and 2 new targets matching")


# -- adoption by name (adopt=True): never an object a stack of the backend manages ------------------------------------

def stacks_managing(*ids):
    exports = {"organization/other/dev": {"deployment": {"resources": [{"urn": "u", "id": i} for i in ids]}}}
    return lambda args: [{"name": n} for n in exports] if args[:2] == ["stack", "ls"] else exports.get(args[-1])


def adopt_target(name, **extra):
    from rr_pulumi.provider.target import TargetProvider

    return TargetProvider().create({"client_id": "c1", "target_name": name, "target_base_url": "https://x.io",
                                    "target_region": "us-east-1", **extra})


def test_adopting_by_name_an_object_another_stack_manages_is_refused(provider_env, backend_without_stacks):
    theirs = provider_env.put(TARGETS, {"targetName": "api", "targetBaseURL": "https://x.io",
                                        "targetRegion": "us-east-1"})
    backend_without_stacks.reset(stacks_managing(theirs["sKey"]))
    with pytest.raises(Exception, match=f"{theirs['sKey']} is managed by a stack of this backend; remove adopt=True"):
        adopt_target("api", adopt=True)
    assert [m for m, _ in provider_env.writes()] == []


def test_adopting_by_name_takes_the_one_match_no_stack_manages(provider_env, backend_without_stacks):
    theirs = provider_env.put(TARGETS, {"targetName": "api", "targetBaseURL": "https://x.io",
                                        "targetRegion": "us-east-1"})
    free = provider_env.put(TARGETS, {"targetName": "api", "targetBaseURL": "https://x.io",
                                      "targetRegion": "us-east-1"})
    backend_without_stacks.reset(stacks_managing(theirs["sKey"]))
    assert adopt_target("api", adopt=True).id == free["sKey"]


def test_adopting_by_name_is_refused_when_the_stacks_cannot_be_read_but_adopt_id_still_works(
        provider_env, backend_without_stacks):
    theirs = provider_env.put(TARGETS, {"targetName": "api", "targetBaseURL": "https://x.io",
                                        "targetRegion": "us-east-1"})
    backend_without_stacks.reset(lambda args: None)
    with pytest.raises(Exception, match="the list of stacks of this backend could not be read.*adopt_id"):
        adopt_target("api", adopt=True)
    assert adopt_target("api", adopt_id=theirs["sKey"]).id == theirs["sKey"]  # the explicit escape

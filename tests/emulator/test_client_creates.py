"""`RequestRocketClient.create` over real HTTP against the emulator: what a create adopts after a failed POST or an
answer without its object. The emulator holds the objects; a wrapper around the client's real transport decides
only what one POST's answer looks like (the emulator's own faults are random, these steps must meet in order)."""
from __future__ import annotations

import threading

from rr_pulumi.api.client import RequestRocketClient, collection, item_id
from rr_pulumi.api.transport import Response, Transport
from rr_pulumi.schema import kinds

GUARD = 30  # seconds a step may take before the test reports a hang (never reached when the steps meet)
BODY = {"targetName": "api", "targetBaseURL": "https://api.example.com", "targetRegion": "us-east-1"}


class Steered(Transport):
    """The real transport, except for the POSTs `steer` answers itself (given the real send, or None to pass)."""

    def __init__(self, steer):
        super().__init__(pool_size=4)
        self.steer = steer

    def request(self, method, url, **kw):
        send = lambda: super(Steered, self).request(method, url, **kw)  # noqa: E731
        answer = self.steer(method, send) if method == "POST" else None
        return answer if answer is not None else send()


def id_of(item):
    return item_id(item, kinds.TARGET.plural)


def named_api(item):
    return item.get("targetName") == "api"


def targets_of(user, cid):
    return user.get(f"/clients/{cid}/targets", params={"limit": 100}).json()["targets"]


def test_a_post_that_failed_never_takes_the_identical_target_another_thread_created(emu, user, cid):
    theirs = user.new_target(cid, targetName="api")  # another stack's, of the same name, there before
    a_posting, b_done, a_posts = threading.Event(), threading.Event(), []

    def steer(method, send):
        if threading.current_thread().name == "A" and not a_posts:
            a_posts.append(1)
            a_posting.set()
            assert b_done.wait(GUARD)
            return Response(500, {"Content-Type": "application/json"},
                            b'{"error": "boom", "code": "INTERNAL_ERROR", "status": 500}')  # created nothing
        return None

    client = RequestRocketClient(emu.url, user.token, transport=Steered(steer), sleep=lambda s: None)
    targets = collection(cid, kinds.TARGET.plural)
    made = {}

    def create(name):
        made[name] = client.create(targets, dict(BODY), named_api)

    a = threading.Thread(target=create, args=("A",), name="A")
    a.start()
    assert a_posting.wait(GUARD)
    b = threading.Thread(target=create, args=("B",), name="B")
    b.start()
    b.join(GUARD)
    b_done.set()
    a.join(GUARD)
    assert not a.is_alive() and not b.is_alive()
    ours = {id_of(made["A"]), id_of(made["B"])}
    assert len(ours) == 2 and id_of(theirs) not in ours
    assert {id_of(t) for t in targets_of(user, cid)} == ours | {id_of(theirs)}


def test_a_post_answered_without_its_target_adopts_the_one_it_made(emu, user, cid):
    theirs = user.new_target(cid, targetName="api")

    def steer(method, send):
        send()  # the emulator creates the target...
        return Response(201, {"Content-Type": "application/json"}, b'{"message": "Success"}')  # ...the answer loses it

    client = RequestRocketClient(emu.url, user.token, transport=Steered(steer), sleep=lambda s: None)
    item = client.create(collection(cid, kinds.TARGET.plural), dict(BODY), named_api)
    listed = targets_of(user, cid)
    assert len(listed) == 2 and id_of(item) != id_of(theirs)
    assert id_of(item) in {id_of(t) for t in listed}

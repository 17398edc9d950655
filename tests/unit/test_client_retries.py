"""Retries beyond test_client.py: the newest natural-key match is adopted, a dropped DELETE answer still succeeds,
PUTs are retried, a POST that never left is resent, and a POST's 5xx after the write is never a second object."""

import pytest

from rr_pulumi.api.client import RequestRocketClient, collection
from rr_pulumi.api.errors import ServerError
from rr_pulumi.api.transport import MaybeSent, NotSent

from .conftest import API_URL
from .fake_api import TOKEN

TARGETS = collection("c1", "targets")


def named(name):
    return lambda item: item.get("targetName") == name


def client_for(fake_api, **kw):
    return RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=lambda s: None, **kw)


def test_ambiguous_post_adopts_the_newest_match(fake_api):
    fake_api.put(TARGETS, {"targetName": "same"})  # someone else's, older
    fake_api.apply_then_fail = 500
    item = client_for(fake_api).create(TARGETS, {"targetName": "same"}, named("same"))
    ids = list(fake_api.collections[TARGETS])
    assert len(ids) == 2 and item["sKey"] == ids[-1]


def test_reset_after_a_post_is_adopted_not_resent(fake_api):
    real_send = fake_api.send

    def send(request, **kw):
        response = real_send(request, **kw)
        if request.method == "POST" and not getattr(fake_api, "dropped", False):
            fake_api.dropped = True
            raise MaybeSent("Connection reset by peer")
        return response

    fake_api.send = send
    item = client_for(fake_api).create(TARGETS, {"targetName": "t"}, named("t"))
    assert len(fake_api.collections[TARGETS]) == 1 and item["targetName"] == "t"
    assert [m for m, _ in fake_api.writes()] == ["POST"]


def test_post_that_never_left_is_resent(fake_api):
    fake_api.script = [(200, {"targets": []}, {}), (0, NotSent("connect timed out"), {})]
    client_for(fake_api).create(TARGETS, {"targetName": "t"}, named("t"))
    assert len(fake_api.collections[TARGETS]) == 1 and [m for m, _ in fake_api.writes()] == ["POST", "POST"]


def test_put_is_retried_on_5xx(fake_api):
    item = fake_api.put(TARGETS, {"targetName": "t"})
    fake_api.script = [(500, {"code": "INTERNAL_ERROR"}, {}), (503, {"code": "SERVICE_UNAVAILABLE"}, {})]
    out = client_for(fake_api).update(TARGETS, item["sKey"], {"targetName": "u"})
    assert out["targetName"] == "u"


def test_delete_whose_answer_was_lost_succeeds_on_the_retry(fake_api):
    item = fake_api.put(TARGETS, {"targetName": "t"})
    real_send = fake_api.send

    def send(request, **kw):
        response = real_send(request, **kw)
        if request.method == "DELETE" and not getattr(fake_api, "dropped", False):
            fake_api.dropped = True
            raise MaybeSent("Connection reset by peer")  # deleted, answer lost
        return response

    fake_api.send = send
    assert client_for(fake_api).delete(TARGETS, item["sKey"]) is False  # the retry found it gone: success
    assert fake_api.collections[TARGETS] == {}


def test_5xx_on_every_post_gives_up_without_a_duplicate(fake_api):
    fake_api.script = [(200, {"targets": []}, {}), *[(500, {"code": "INTERNAL_ERROR"}, {}), (200, {"targets": []}, {})] * 3]
    with pytest.raises(ServerError, match="POST /api/clients/c1/targets returned 500 INTERNAL_ERROR"):
        client_for(fake_api, max_attempts=3).create(TARGETS, {"targetName": "t"}, named("t"))
    assert TARGETS not in fake_api.collections or len(fake_api.collections[TARGETS]) <= 1


def test_exhausted_retries_say_how_hard_we_tried(fake_api):
    fake_api.script = [(500, {"code": "INTERNAL_ERROR", "error": "Internal Server Error"}, {})] * 10
    with pytest.raises(ServerError) as exc:
        client_for(fake_api, max_attempts=3).list("/api/clients")
    assert str(exc.value).startswith("GET /api/clients returned 500 INTERNAL_ERROR: Internal Server Error")
    assert str(exc.value).endswith("(gave up after 3 attempts in 0 s)")

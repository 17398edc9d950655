"""The read cache never keeps a list that a write made stale: a list in flight when a write lands is served to the
call that asked for it, and not kept for the next 60 seconds."""

from rr_pulumi.api.client import RequestRocketClient, collection

from .conftest import API_URL
from .fake_api import TOKEN

TARGETS = collection("c1", "targets")


def test_a_list_in_flight_when_a_write_lands_is_not_cached(fake_api):
    target = fake_api.put(TARGETS, {"targetName": "before"})
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=lambda s: None)
    real_send, wrote = fake_api.send, []

    def send(request, **kw):
        response = real_send(request, **kw)  # the list is read...
        if request.method == "GET" and not wrote:
            wrote.append(1)  # ...and before its answer arrives, another worker's update lands
            client.update(TARGETS, target["sKey"], {"targetName": "after"})
        return response

    fake_api.send = send
    assert client.find(TARGETS, target["sKey"])["targetName"] == "before"  # the answer it asked for
    assert client.find(TARGETS, target["sKey"])["targetName"] == "after"  # the next read lists again


def test_a_list_after_the_write_is_cached_as_before(fake_api):
    target = fake_api.put(TARGETS, {"targetName": "t"})
    client = RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=lambda s: None)
    client.update(TARGETS, target["sKey"], {"targetName": "u"})
    client.find(TARGETS, target["sKey"])
    client.find(TARGETS, target["sKey"])
    assert [m for m, *_ in fake_api.requests].count("GET") == 1

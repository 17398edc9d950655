"""Nothing outside this stack's state is ever deleted: the API deletes a parent's rules (and a client's everything)
with it, so a delete that would take objects this stack does not manage along is refused, naming them. The engine
deletes a stack's own children before their parent, so whatever is still below at that moment is someone else's."""

import pytest

from rr_pulumi.api.client import collection, rules_collection
from rr_pulumi.api.errors import ObjectsBelow
from rr_pulumi.provider.client import ClientProvider
from rr_pulumi.provider.target import TargetProvider

from .test_providers import checked, make_client

TARGET = {"target_name": "api", "target_base_url": "https://x.io", "target_region": "us-east-1"}


def test_deleting_a_target_that_holds_another_stacks_rule_is_refused(provider_env):
    api = provider_env
    cid = make_client(api)
    target = TargetProvider().create(checked(TargetProvider(), {"client_id": cid, **TARGET}))
    foreign = api.put(rules_collection(cid, "targets", target.id), {"effect": "deny", "priority": 1})
    with pytest.raises(ObjectsBelow) as refused:
        TargetProvider().delete(target.id, target.outs)
    assert str(refused.value) == (
        f"cannot delete target '{target.id}': the API would delete with it 1 object(s) under it that this stack does "
        f"not manage (rule {foreign['sKey']}); delete or move them first, or let this stack forget the target without "
        "deleting it (`pulumi state delete <its urn>`)")
    assert ("DELETE", f"/api/clients/{cid}/targets/{target.id}") not in api.writes()
    assert target.id in api.collections[collection(cid, "targets")]


def test_deleting_a_client_that_holds_another_stacks_target_is_refused(provider_env):
    api = provider_env
    cid = make_client(api)
    foreign = api.put(collection(cid, "targets"), {"targetName": "theirs"})
    with pytest.raises(ObjectsBelow, match=f"1 object\\(s\\) under it that this stack does not manage \\(target "
                                           f"{foreign['sKey']}\\)"):
        ClientProvider().delete(cid, {"client_name": "Acme", "client_id": cid})
    assert [m for m, _ in api.writes()] == ["POST"]  # the client's own create, nothing deleted


def test_an_empty_parent_is_deleted(provider_env):
    api = provider_env
    cid = make_client(api)
    target = TargetProvider().create(checked(TargetProvider(), {"client_id": cid, **TARGET}))
    TargetProvider().delete(target.id, target.outs)
    ClientProvider().delete(cid, {"client_name": "Acme", "client_id": cid})
    assert [m for m, _ in api.writes()] == ["POST", "POST", "DELETE", "DELETE"]

"""The staged rollout's provider side over the fake API: the proxy is created inactive with its declared state
recorded, its activation PUTs the declared state, a new proxy replaces the activation, and deleting the activation
switches the proxy off."""
from rr_pulumi.provider.activation import ActivationProvider
from rr_pulumi.provider.client import ClientProvider
from rr_pulumi.provider.proxy import STAGED, ProxyProvider


def checked(provider, inputs):
    result = provider.check({}, {**inputs, "__provider": "p"})
    assert result.failures == []
    return result.inputs


def proxy_inputs(client_id, **extra):
    return {"client_id": client_id, "proxy_name": "gw", "proxy_region": "us-east-1", "proxy_credential_id": "pc",
            "target_id": "t", "target_credential_id": "tc", **extra}


def test_a_staged_proxy_is_created_inactive_and_activated_by_its_activation(provider_env):
    api = provider_env
    cid = ClientProvider().create(checked(ClientProvider(), {"client_name": "Acme"})).id
    inputs = checked(ProxyProvider(), {**proxy_inputs(cid), STAGED: True})
    assert inputs[STAGED] is True                                     # the marker survives check
    created = ProxyProvider().create(inputs)
    assert api.requests[-1][2]["proxyActive"] is False                # created inactive
    assert created.outs["proxy_active"] is True                       # the declared state is recorded
    activation = ActivationProvider()
    props = checked(activation, {"client_id": cid, "proxy_id": created.id, "active": True})
    activation.create(props)
    method, path, body, _ = api.requests[-1]
    assert (method, path.endswith(f"/proxies/{created.id}"), body) == ("PUT", True, {"proxyActive": True})
    assert activation.diff("x", props, {**props, "proxy_id": "other"}).replaces == ["proxy_id"]
    assert activation.diff("x", props, {**props, "active": False}).replaces == []
    activation.delete("x", props)
    assert api.requests[-1][2] == {"proxyActive": False}
    activation.delete("x", {**props, "proxy_id": "gone"})            # already gone is fine


def test_an_unstaged_proxy_is_created_as_declared(provider_env):
    api = provider_env
    cid = ClientProvider().create(checked(ClientProvider(), {"client_name": "Acme"})).id
    ProxyProvider().create(checked(ProxyProvider(), proxy_inputs(cid)))
    assert api.requests[-1][2]["proxyActive"] is True
    assert STAGED not in checked(ProxyProvider(), proxy_inputs(cid))


def test_an_update_never_switches_a_staged_proxy_on(provider_env):
    api = provider_env
    cid = ClientProvider().create(checked(ClientProvider(), {"client_name": "Acme"})).id
    off = checked(ProxyProvider(), {**proxy_inputs(cid, proxy_active=False), STAGED: True})
    created = ProxyProvider().create(off)
    on = checked(ProxyProvider(), {**proxy_inputs(cid), STAGED: True})
    updated = ProxyProvider().update(created.id, created.outs, on)
    assert api.requests[-1][2]["proxyActive"] is False and updated.outs["proxy_active"] is True
    switched_off = checked(ProxyProvider(), {**proxy_inputs(cid, proxy_active=False), STAGED: True})
    ProxyProvider().update(created.id, updated.outs, switched_off)
    assert api.requests[-1][2]["proxyActive"] is False                # switching off is immediate

"""No open window: a new (or replacing) proxy serves no request before its rules exist.

By default `Proxy` is created inactive and gets a child `ProxyActivation` that depends on every `Rule` declared in
the program body, so the engine creates the proxy, then the rules, and only then turns the proxy on (or leaves it
off when the declared `proxy_active` is false). `Proxy(..., activate_after_rules=False)` opts out: the proxy is
created with its declared state at once. Adopted proxies are never staged (they already serve traffic).

The rules are collected once the synchronous program body has run (an Output resolved by the event loop's next
turn, which comes only after the body returns). Rules declared later, inside an `apply` callback, are not waited for.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import pulumi
from pulumi import dynamic

from rr_pulumi.provider.activation import ActivationProvider
from rr_pulumi.provider.proxy import STAGED

_rules: list[pulumi.Resource] = []


def track_rule(rule: pulumi.Resource) -> None:
    """Called by every Rule: the activations of this program run wait for it."""
    _rules.append(rule)


def forget_rules() -> None:
    """Start a new program run (tests that declare resources several times in one process)."""
    _rules.clear()


def marker(activate_after_rules: bool, adopting: bool) -> dict[str, Any]:
    """The Proxy's marker input: present (true) when the proxy is staged."""
    return {STAGED: True} if activate_after_rules and not adopting else {}


def _rules_of_program() -> pulumi.Output[list]:
    """Every rule of the program, known once the synchronous program body has run."""
    loop = asyncio.get_event_loop()
    rules: asyncio.Future = loop.create_future()
    known: asyncio.Future = loop.create_future()
    known.set_result(True)
    def settle() -> None:
        if not rules.done():
            rules.set_result(list(_rules))

    loop.call_soon(settle)
    return pulumi.Output(set(), rules, known)


class ProxyActivation(dynamic.Resource, module="rr-rollout", name="ProxyActivation"):
    """Turns its proxy on (or leaves it off) after every rule of the program exists."""

    proxy_id: pulumi.Output[str]
    active: pulumi.Output[bool]

    def __init__(self, resource_name: str, client_id: pulumi.Input[str], proxy_id: pulumi.Input[str],
                 active: pulumi.Input[Optional[bool]], profile: Optional[str] = None,
                 opts: Optional[pulumi.ResourceOptions] = None) -> None:
        props: dict[str, Any] = {"client_id": client_id, "proxy_id": proxy_id,
                                 "active": pulumi.Output.from_input(active).apply(lambda a: a is not False)}
        if profile:
            props["profile"] = profile
        super().__init__(ActivationProvider(), resource_name, props, opts)


def activate_after_rules(proxy: pulumi.CustomResource, resource_name: str, props: dict[str, Any],
                         active_field: str) -> Optional[ProxyActivation]:
    """The proxy's activation, when it is staged (its inputs `props` carry the marker); `props` also give the
    client id, the declared switch (`active_field`, the schema's `kind_facts.active_field`) and the connection
    `profile`."""
    if not props.get(STAGED):
        return None
    return ProxyActivation(
        f"{resource_name}-activation", props["client_id"], proxy.id, props.get(active_field), props.get("profile"),
        pulumi.ResourceOptions(parent=proxy, depends_on=_rules_of_program()),
    )

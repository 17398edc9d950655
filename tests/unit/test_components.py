"""SecureProxy's pure parts: route paths to anchored patterns, and argument errors that name the argument."""
from __future__ import annotations

import re

import pytest

from rr_pulumi import ApiKeySecret, BearerSecret, JwtVerifySecret
from rr_pulumi.components import Claim, Route, SecureProxy, SecureProxyArgs, SecureProxyError, path_pattern


@pytest.mark.parametrize("path, hits, misses", [
    ("/invoices", ["/invoices"], ["/invoices/1", "/invoicesX"]),
    ("/invoices/{id}", ["/invoices/1"], ["/invoices", "/invoices/1/lines"]),
    ("/invoices/*/lines", ["/invoices/7/lines"], ["/invoices/lines"]),
    ("/invoices/**", ["/invoices", "/invoices/1/lines"], ["/invoicesX", "/refunds"]),
    ("/v1.0/a+b", ["/v1.0/a+b"], ["/v100/aab"]),
    ("/", ["/", ""], ["/x"]),
])
def test_route_paths(path, hits, misses):
    pattern = re.compile(path_pattern(path))
    assert all(pattern.search(p) for p in hits) and not any(pattern.search(p) for p in misses)


@pytest.mark.parametrize("path, mentions", [("invoices", "must start with '/'"), ("/a/**/b", "last segment"),
                                            ("/a b", "segment 'a b'")])
def test_bad_paths_name_the_argument(path, mentions):
    with pytest.raises(SecureProxyError, match=mentions):
        path_pattern(path, "routes[0].path")


def _args(**changes) -> SecureProxyArgs:
    base = dict(client_id="c", region="eu-west-1", target_base_url="https://x.example",
                caller_secret=ApiKeySecret(api_key="k"), upstream_secret=BearerSecret(token="t"),
                routes=[Route("GET", "/a")], max_requests_per_minute=60, max_requests_per_day=600)
    return SecureProxyArgs(**{**base, **changes})


@pytest.mark.parametrize("changes, mentions", [
    ({"routes": []}, "routes: list at least one Route"),
    ({"routes": [Route("FETCH", "/a")]}, r"routes\[0\].methods: must be one or more of GET"),
    ({"routes": [Route("GET", "/a", claim=Claim("scope", "w"))]}, r"routes\[0\].claim: needs a JWT caller_secret"),
    ({"routes": [Route("GET", "/a"), Route("GET", "/a")]}, r"routes\[1\]: another route is also named 'gw-get-a'"),
    ({"caller_secret": BearerSecret(token="t"), "upstream_secret": {"token": "t"}}, "upstream_secret: must be a typed"),
    ({"deny_routes": ["DELETE /"]}, r"deny_routes\[0\]: must be a Route"),
])
def test_bad_arguments_fail_before_anything_is_declared(changes, mentions):
    with pytest.raises(SecureProxyError, match=mentions):
        SecureProxy._planned_rules("gw", _args(**changes))


def test_planned_rules():
    rules = SecureProxy._planned_rules("gw", _args(
        caller_secret=JwtVerifySecret(shared_secret="s"),
        routes=[Route(["PUT", "POST"], "/invoices/**", claim=Claim("scope", pattern="write"), name="writers")],
        deny_routes=[Route("DELETE", "/**", name="no-deletes")]))
    assert rules["gw-writers"] == {"effect": "allow", "priority": 100, "notes": "allow PUT POST /invoices/**",
                                   "methods": ["POST", "PUT"], "path_pattern": "^/invoices(/.*)?$",
                                   "token_checks": [{"claim": "scope", "presence": "present", "value_pattern": "write"}]}
    assert rules["gw-no-deletes"]["effect"] == "deny" and rules["gw-no-deletes"]["path_pattern"] == "^(/.*)?$"

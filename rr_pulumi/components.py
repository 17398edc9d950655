"""`SecureProxy`: one declaration for a proxy that denies by default and allows only the routes you list.

    partners = SecureProxy("partners", client_id=org.id, region="eu-west-1",
                           target_base_url="https://payments.internal.example",
                           caller_secret=ApiKeySecret(api_key=config.require_secret("partnerKey")),
                           upstream_secret=BearerSecret(token=config.require_secret("upstreamToken")),
                           routes=[Route("GET", "/invoices"), Route("GET", "/invoices/{id}")],
                           deny_routes=[Route("DELETE", "/**", name="no-deletes")],
                           max_requests_per_minute=60, max_requests_per_day=5000)

Its children are ordinary rr-pulumi resources (two Credentials, a Target, a Proxy with default effect deny, one Rule
per route), named after the component: `partners-callers`, `partners-upstream`, `partners-api`, `partners`,
`partners-<route name>`. Route paths: literal segments, `{name}` or `*` for one segment, a final `**` for anything
below (including nothing). A `claim` makes the route need a JWT claim, so the caller secret must be a JWT kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence, Union, get_args

import pulumi

from rr_pulumi.api.errors import RequestRocketError
from rr_pulumi.resources import Credential, Proxy, Rule, Target, SecretValue
from rr_pulumi.schema.common import HttpMethod
from rr_pulumi.schema.credential import ALLOWED_AUTH_TYPES, CLAIM_AUTH_TYPES

HTTP_METHODS: tuple[str, ...] = get_args(HttpMethod)  # what a rule's `methods` accepts
CALLER_AUTH_TYPES = ALLOWED_AUTH_TYPES["proxy"]  # what a proxy credential (the callers' side) accepts
_SEGMENT = re.compile(r"^[A-Za-z0-9._~!$&'()+,;=:@%-]+$")
ALLOW_PRIORITY, DENY_PRIORITY = 100, 900


class SecureProxyError(RequestRocketError, pulumi.RunError):
    """A SecureProxy argument is wrong; the message names it and what is allowed."""


@dataclass(frozen=True)
class Claim:
    """A JWT claim the caller's token must carry: exactly `value`, or any value matching `pattern`, or (neither)
    just present."""

    name: str
    value: Optional[str] = None
    pattern: Optional[str] = None


@dataclass(frozen=True)
class Route:
    """Methods and a path; optionally a claim and a name (the rule is named `<component>-<name>`)."""

    methods: Union[str, Sequence[str]]
    path: str
    claim: Optional[Claim] = None
    name: Optional[str] = None

    @property
    def method_list(self) -> list[str]:
        return [self.methods] if isinstance(self.methods, str) else list(self.methods)


def path_pattern(path: str, where: str = "path") -> str:
    """The anchored regex of a route path: `/invoices/{id}` → `^/invoices/[^/]+$`, `/v1/**` → `^/v1(/.*)?$`."""
    if not path.startswith("/"):
        raise SecureProxyError(f"{where}: must start with '/' (got {path!r})")
    segments = [s for s in path.split("/")[1:]]
    if segments == [""]:
        return "^/?$"
    out = ""
    for i, segment in enumerate(segments):
        if segment == "**":
            if i != len(segments) - 1:
                raise SecureProxyError(f"{where}: '**' may only be the last segment (got {path!r})")
            return f"^{out}(/.*)?$"
        if segment == "*" or re.fullmatch(r"\{[A-Za-z_][A-Za-z0-9_]*\}", segment):
            out += "/[^/]+"
        elif _SEGMENT.match(segment):
            out += "/" + re.escape(segment)
        else:
            raise SecureProxyError(f"{where}: segment {segment!r} is not a literal, '{{name}}', '*' or a final '**'")
    return f"^{out}$"


def route_name(route: Route) -> str:
    if route.name:
        return route.name
    words = [m.lower() for m in route.method_list] + re.findall(r"[A-Za-z0-9]+", route.path)
    return "-".join(words) or "root"


def rule_fields(route: Route, where: str, caller_auth_type: str) -> dict:
    """A route as Rule arguments (without effect and priority)."""
    methods = route.method_list
    bad = [m for m in methods if m not in HTTP_METHODS]
    if not methods or bad:
        allowed = ", ".join(HTTP_METHODS)
        raise SecureProxyError(f"{where}.methods: must be one or more of {allowed} (got {bad or methods})")
    fields: dict = {"methods": sorted(set(methods)), "path_pattern": path_pattern(route.path, f"{where}.path")}
    if route.claim is not None:
        if caller_auth_type not in CLAIM_AUTH_TYPES:
            raise SecureProxyError(f"{where}.claim: needs a JWT caller_secret ({', '.join(CLAIM_AUTH_TYPES)}); "
                                   f"caller_secret is {caller_auth_type}")
        claim = route.claim
        if claim.value is not None and claim.pattern is not None:
            raise SecureProxyError(f"{where}.claim: set value or pattern, not both")
        value = f"^{re.escape(claim.value)}$" if claim.value is not None else claim.pattern
        check = {"claim": claim.name, "presence": "present", **({"value_pattern": value} if value else {})}
        fields["token_checks"] = [check]
    return fields


@dataclass
class SecureProxyArgs:
    """Everything a SecureProxy needs. Secrets are typed (`ApiKeySecret`, `JwtVerifySecret`, `BearerSecret`, ...)."""

    client_id: pulumi.Input[str]
    region: pulumi.Input[str]
    target_base_url: pulumi.Input[str]
    caller_secret: SecretValue
    upstream_secret: SecretValue
    routes: Sequence[Route]
    max_requests_per_minute: pulumi.Input[int]
    max_requests_per_day: pulumi.Input[int]
    deny_routes: Sequence[Route] = ()
    proxy_name: Optional[pulumi.Input[str]] = None
    target_test_path: Optional[pulumi.Input[str]] = None
    activate_after_rules: bool = True


class SecureProxy(pulumi.ComponentResource):
    """A default-deny proxy with its credentials, target and allow rules (see the module docstring)."""

    proxy: Proxy
    url: pulumi.Output[str]

    def __init__(self, resource_name: str, args: Optional[SecureProxyArgs] = None,
                 opts: Optional[pulumi.ResourceOptions] = None, **kwargs) -> None:
        if args is None:
            try:
                args = SecureProxyArgs(**kwargs)
            except TypeError as exc:
                raise SecureProxyError(f"SecureProxy {resource_name!r}: {exc}") from None
        rules = self._planned_rules(resource_name, args)  # every argument checked before anything is declared
        super().__init__("requestrocket:index:SecureProxy", resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        region = args.region
        self.proxy_credential = Credential(
            f"{resource_name}-callers", client_id=args.client_id, credential_name=f"{resource_name}-callers",
            credential_type="proxy", credential_region=region, credential_secret=args.caller_secret, opts=child)
        self.target_credential = Credential(
            f"{resource_name}-upstream", client_id=args.client_id, credential_name=f"{resource_name}-upstream",
            credential_type="target", credential_region=region, credential_secret=args.upstream_secret, opts=child)
        self.target = Target(
            f"{resource_name}-api", client_id=args.client_id, target_name=f"{resource_name}-api",
            target_base_url=args.target_base_url, target_region=region, target_test_path=args.target_test_path,
            opts=child)
        self.proxy = Proxy(
            resource_name, client_id=args.client_id, proxy_name=args.proxy_name or resource_name, proxy_region=region,
            proxy_credential_id=self.proxy_credential.id, target_id=self.target.id,
            target_credential_id=self.target_credential.id, proxy_default_rule_effect="deny",
            proxy_max_requests_per_minute=args.max_requests_per_minute,
            proxy_max_requests_per_day=args.max_requests_per_day, activate_after_rules=args.activate_after_rules,
            opts=child)
        self.rules = {
            name: Rule(name, client_id=args.client_id, proxy_id=self.proxy.id, opts=child, **fields)
            for name, fields in rules.items()
        }
        self.url = self.proxy.url
        self.register_outputs({"url": self.url})

    @staticmethod
    def _planned_rules(resource_name: str, args: SecureProxyArgs) -> dict[str, dict]:
        for argument in ("caller_secret", "upstream_secret"):
            if not isinstance(getattr(args, argument), SecretValue):
                raise SecureProxyError(f"SecureProxy {resource_name!r} {argument}: must be a typed secret such as "
                                       "ApiKeySecret, BearerSecret or JwtVerifySecret")
        caller = args.caller_secret.auth_type
        if caller not in CALLER_AUTH_TYPES:
            raise SecureProxyError(f"SecureProxy {resource_name!r} caller_secret: must be one of "
                                   f"{', '.join(CALLER_AUTH_TYPES)} (got {caller})")
        if not args.routes:
            raise SecureProxyError(f"SecureProxy {resource_name!r} routes: list at least one Route; a proxy that "
                                   "allows nothing serves nothing")
        rules: dict[str, dict] = {}
        for argument, effect, priority in (("routes", "allow", ALLOW_PRIORITY), ("deny_routes", "deny", DENY_PRIORITY)):
            for i, route in enumerate(getattr(args, argument)):
                where = f"SecureProxy {resource_name!r} {argument}[{i}]"
                if not isinstance(route, Route):
                    raise SecureProxyError(f"{where}: must be a Route(methods, path, claim=None, name=None)")
                name = f"{resource_name}-{route_name(route)}"
                if name in rules:
                    raise SecureProxyError(f"{where}: another route is also named {name!r}; give one a name=")
                rules[name] = {"effect": effect, "priority": priority,
                               "notes": f"{effect} {' '.join(route.method_list)} {route.path}",
                               **rule_fields(route, where, caller)}
        return rules

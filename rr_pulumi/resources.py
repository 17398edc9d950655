"""The public resources: Client, Credential, Target, Proxy and Rule, with their typed *Args.

    from rr_pulumi import Client, Credential, Target, Proxy, Rule, ApiKeySecret

Every resource takes either an *Args object or the same names as keyword arguments. Property names are the
schema's Python names (see `rr_pulumi.schema`); type tokens are `pulumi-python:dynamic/requestrocket:<Name>`.
The API URL and token come from the stack configuration (`requestrocket:apiUrl`, `requestrocket:token`) or from
REQUESTROCKET_API_URL / REQUESTROCKET_TOKEN; they are never resource inputs.

Every resource also takes `adopt=True` (take over the existing object with the same natural key: its name within
its client, or for a rule every field within its parent) or `adopt_id="<id>"` instead of creating a new object;
the declared values are then applied to it. See docs/drift-adopt-export.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Optional, Sequence, TypeVar, Union

import pulumi
from pulumi import dynamic

from . import rollout
from .provider.adopt import ADOPT, ADOPT_ID
from .provider.client import ClientProvider
from .provider.credential import CredentialProvider
from .provider.proxy import ProxyProvider
from .provider.rule import RuleProvider
from .provider.target import TargetProvider
from .schema import ClientSchema, CredentialSchema, ProxySchema, RuleSchema, TargetSchema, describe, fields
from .schema.rule import PARENTS

MODULE = "requestrocket"

A = TypeVar("A")


def _args(cls: type[A], args: Optional[A], kwargs: dict[str, Any]) -> A:
    if args is not None and kwargs:
        raise TypeError(f"pass either a {cls.__name__} or keyword arguments, not both")
    if args is None:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise TypeError(f"{cls.__name__} has no argument {', '.join(unknown)}; arguments: {', '.join(sorted(names))}")
        args = cls(**kwargs)
    return args


def _props(schema: type, args: Any, **overrides: Any) -> dict[str, Any]:
    """Inputs from the args (shallow: Outputs stay Outputs) and every output name, so Pulumi exposes it."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(args)}
    values.update(overrides)
    props: dict[str, Any] = {name: None for name in fields(schema)}
    props.update({k: v for k, v in values.items() if k in props})
    if "credential_secret" in props:
        props["credential_secret_hash"] = None
    return props


class AdoptionConflict(ValueError):
    """Two resources of one program would manage the same existing object."""


# Natural key or id -> the resource that declared it, for this program run (one process per `pulumi up`).
_declared: dict[tuple, tuple[str, bool]] = {}


def _key_part(value: Any) -> Any:
    """A literal stays itself; an Output (e.g. `org.id`) is told apart by identity, the best a program can do."""
    return value if isinstance(value, (str, int, float, bool, type(None))) else ("output", id(value))


def _adoption(kind: str, resource_name: str, adopt: bool, adopt_id: Optional[str], key: Optional[tuple]) -> dict:
    """The adoption markers for a resource's inputs, after checking no other resource manages the same object."""
    if adopt and adopt_id:
        raise ValueError(f"{kind} {resource_name!r}: set adopt=True or adopt_id, not both")
    adopting = bool(adopt or adopt_id)
    entries = [(kind, "id", adopt_id)] if adopt_id else []
    if key is not None:
        entries.append((kind, "key", *key))
    for entry in entries:
        other = _declared.get(entry)
        if other is not None and (adopting or other[1]):
            what = f"id {adopt_id!r}" if entry[1] == "id" else "natural key " + ", ".join(
                repr(p) for p in key if not isinstance(p, tuple)  # type: ignore[union-attr]
            )
            raise AdoptionConflict(
                f"{kind} {resource_name!r} and {kind} {other[0]!r} would both manage the {kind} with {what}: "
                "an existing object can be adopted by one resource only"
            )
        _declared[entry] = (resource_name, adopting)
    markers: dict[str, Any] = {}
    if adopt:
        markers[ADOPT] = True
    if adopt_id:
        markers[ADOPT_ID] = adopt_id
    return markers


def forget_declarations() -> None:
    """Start a new program run (tests that declare resources several times in one process)."""
    _declared.clear()


def _doc(cls: type, schema: type) -> type:
    cls.__doc__ = (cls.__doc__ or "") + "\n\n    Arguments (Python name, wire name, markers):\n" + describe(schema)
    return cls


# ------------------------------------------------------------------------------------------------------------------
# Client


@dataclass
class ClientArgs:
    """A RequestRocket client (organisation); its creator becomes owner and admin."""

    client_name: pulumi.Input[str]


_doc(ClientArgs, ClientSchema)


class Client(dynamic.Resource, module=MODULE, name="Client"):
    """A RequestRocket client (organisation). Deleting it deletes everything it owns."""

    client_id: pulumi.Output[str]
    client_name: pulumi.Output[str]
    client_members: pulumi.Output[list]

    def __init__(
        self,
        resource_name: str,
        args: Optional[ClientArgs] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        adopt: bool = False,
        adopt_id: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        args = _args(ClientArgs, args, kwargs)
        markers = _adoption("client", resource_name, adopt, adopt_id, (_key_part(args.client_name),))
        super().__init__(ClientProvider(), resource_name, {**_props(ClientSchema, args), **markers}, opts)


# ------------------------------------------------------------------------------------------------------------------
# Credential secrets, one typed value per auth type (section 0 of the contract)


@dataclass
class _SecretValue:
    auth_type: ClassVar[str]
    extra: Optional[Mapping[str, pulumi.Input[Any]]] = field(default=None, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        out = {k: v for k, v in out.items() if v is not None}
        out.update(dict(self.extra or {}))
        return out


@dataclass
class ApiKeySecret(_SecretValue):
    """apiKey: the key, and the header it travels in (e.g. X-API-Key)."""

    auth_type: ClassVar[str] = "apiKey"
    api_key: pulumi.Input[str]
    header_name: Optional[pulumi.Input[str]] = None


@dataclass
class BearerSecret(_SecretValue):
    """bearer: a token and an optional prefix (`Bearer `, `Token `, ...)."""

    auth_type: ClassVar[str] = "bearer"
    token: pulumi.Input[str]
    prefix: Optional[pulumi.Input[str]] = None


@dataclass
class JwtSecret(_SecretValue):
    """jwt: a JWT that you supply."""

    auth_type: ClassVar[str] = "jwt"
    token: pulumi.Input[str]


@dataclass
class BasicAuthSecret(_SecretValue):
    """basicAuth: username and password."""

    auth_type: ClassVar[str] = "basicAuth"
    username: pulumi.Input[str]
    password: pulumi.Input[str]


@dataclass
class OAuth2Secret(_SecretValue):
    """oauth2 (target only): client credentials and endpoints."""

    auth_type: ClassVar[str] = "oauth2"
    grant_type: pulumi.Input[str]
    client_id: pulumi.Input[str]
    client_secret: pulumi.Input[str]
    token_url: pulumi.Input[str]
    authorization_url: Optional[pulumi.Input[str]] = None
    scope: Optional[pulumi.Input[str]] = None


@dataclass
class CustomTokenSecret(_SecretValue):
    """customToken (target only): RequestRocket fetches the token with this HTTP request."""

    auth_type: ClassVar[str] = "customToken"
    url: pulumi.Input[str]
    method: pulumi.Input[str]
    token_path: pulumi.Input[str]
    headers: Optional[Mapping[str, pulumi.Input[str]]] = None
    body: Optional[pulumi.Input[Any]] = None


@dataclass
class CustomSecret(_SecretValue):
    """custom (target only): headers sent as they are."""

    auth_type: ClassVar[str] = "custom"
    headers: Mapping[str, pulumi.Input[str]]


@dataclass
class NoneSecret(_SecretValue):
    """none (target only): no upstream authentication."""

    auth_type: ClassVar[str] = "none"


@dataclass
class JwtVerifySecret(_SecretValue):
    """jwtVerify (proxy only): verify callers' JWTs with a JWKS endpoint or a shared secret (exactly one)."""

    auth_type: ClassVar[str] = "jwtVerify"
    jwks_uri: Optional[pulumi.Input[str]] = None
    shared_secret: Optional[pulumi.Input[str]] = None
    audience: Optional[pulumi.Input[str]] = None
    issuer: Optional[pulumi.Input[str]] = None


CredentialSecret = Union[_SecretValue, Mapping[str, Any], pulumi.Output]


# ------------------------------------------------------------------------------------------------------------------
# Credential


@dataclass
class CredentialArgs:
    """A credential: `proxy` (callers authenticate to RequestRocket) or `target` (RequestRocket authenticates
    upstream). `credential_auth_type` may be left out when `credential_secret` is a typed secret such as
    `ApiKeySecret`: it is taken from the secret's type. Changing the secret rotates it in place."""

    client_id: pulumi.Input[str]
    credential_name: pulumi.Input[str]
    credential_type: pulumi.Input[str]
    credential_region: pulumi.Input[str]
    credential_secret: Optional[CredentialSecret] = None
    credential_auth_type: Optional[pulumi.Input[str]] = None


_doc(CredentialArgs, CredentialSchema)


class Credential(dynamic.Resource, module=MODULE, name="Credential"):
    """A credential; its secret is always a Pulumi secret in the state and outputs, and write-only on the API."""

    client_id: pulumi.Output[str]
    credential_name: pulumi.Output[str]
    credential_type: pulumi.Output[str]
    credential_auth_type: pulumi.Output[str]
    credential_region: pulumi.Output[str]
    credential_secret: pulumi.Output[dict]
    credential_secret_hash: pulumi.Output[str]
    credential_created_at: pulumi.Output[str]
    credential_updated_at: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: Optional[CredentialArgs] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        adopt: bool = False,
        adopt_id: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        args = _args(CredentialArgs, args, kwargs)
        key = (_key_part(args.client_id), _key_part(args.credential_name))
        markers = _adoption("credential", resource_name, adopt, adopt_id, key)
        secret, auth_type = args.credential_secret, args.credential_auth_type
        if isinstance(secret, _SecretValue):
            if auth_type is not None and isinstance(auth_type, str) and auth_type != secret.auth_type:
                raise ValueError(
                    f"credential_auth_type {auth_type!r} does not match credential_secret "
                    f"{type(secret).__name__} (auth type {secret.auth_type!r})"
                )
            auth_type, secret = secret.auth_type, secret.to_dict()
        overrides: dict[str, Any] = {"credential_auth_type": auth_type}
        if secret is not None:
            overrides["credential_secret"] = pulumi.Output.secret(secret)
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["credential_secret", "credential_secret_hash"])
        )
        props = {**_props(CredentialSchema, args, **overrides), **markers}
        super().__init__(CredentialProvider(), resource_name, props, opts)


# ------------------------------------------------------------------------------------------------------------------
# Target


@dataclass
class TargetArgs:
    """An upstream API that proxies forward to."""

    client_id: pulumi.Input[str]
    target_name: pulumi.Input[str]
    target_base_url: pulumi.Input[str]
    target_region: pulumi.Input[str]
    target_test_path: Optional[pulumi.Input[str]] = None
    target_default_rule_effect: Optional[pulumi.Input[str]] = None


_doc(TargetArgs, TargetSchema)


class Target(dynamic.Resource, module=MODULE, name="Target"):
    """A target (upstream API). Changing its region replaces it."""

    client_id: pulumi.Output[str]
    target_name: pulumi.Output[str]
    target_base_url: pulumi.Output[str]
    target_region: pulumi.Output[str]
    target_test_path: pulumi.Output[Optional[str]]
    target_default_rule_effect: pulumi.Output[str]
    target_created_at: pulumi.Output[str]
    target_updated_at: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: Optional[TargetArgs] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        adopt: bool = False,
        adopt_id: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        args = _args(TargetArgs, args, kwargs)
        key = (_key_part(args.client_id), _key_part(args.target_name))
        markers = _adoption("target", resource_name, adopt, adopt_id, key)
        super().__init__(TargetProvider(), resource_name, {**_props(TargetSchema, args), **markers}, opts)


# ------------------------------------------------------------------------------------------------------------------
# Proxy


@dataclass
class ProxyArgs:
    """A proxy: callers present `proxy_credential_id`, requests go to `target_id` with `target_credential_id`.
    Pass the ids as Outputs (`credential.id`) so Pulumi orders creation, re-pointing and deletion."""

    client_id: pulumi.Input[str]
    proxy_name: pulumi.Input[str]
    proxy_region: pulumi.Input[str]
    proxy_credential_id: pulumi.Input[str]
    target_id: pulumi.Input[str]
    target_credential_id: pulumi.Input[str]
    proxy_active: Optional[pulumi.Input[bool]] = None
    proxy_default_rule_effect: Optional[pulumi.Input[str]] = None
    proxy_alias: Optional[pulumi.Input[str]] = None
    proxy_max_requests_per_minute: Optional[pulumi.Input[int]] = None
    proxy_max_requests_per_day: Optional[pulumi.Input[int]] = None


_doc(ProxyArgs, ProxySchema)


class Proxy(dynamic.Resource, module=MODULE, name="Proxy"):
    """A proxy. `url` is its data-plane URL (`<data-plane base>/api/{proxyId}`). Changing its region replaces it."""

    client_id: pulumi.Output[str]
    proxy_name: pulumi.Output[str]
    proxy_region: pulumi.Output[str]
    proxy_credential_id: pulumi.Output[str]
    target_id: pulumi.Output[str]
    target_credential_id: pulumi.Output[str]
    proxy_active: pulumi.Output[bool]
    proxy_default_rule_effect: pulumi.Output[str]
    proxy_alias: pulumi.Output[Optional[str]]
    proxy_max_requests_per_minute: pulumi.Output[int]
    proxy_max_requests_per_day: pulumi.Output[int]
    proxy_created_at: pulumi.Output[str]
    proxy_updated_at: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: Optional[ProxyArgs] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        adopt: bool = False,
        adopt_id: Optional[str] = None,
        activate_after_rules: bool = True,  # rollout: False lets the proxy serve before its rules exist
        **kwargs: Any,
    ) -> None:
        args = _args(ProxyArgs, args, kwargs)
        key = (_key_part(args.client_id), _key_part(args.proxy_name))
        markers = _adoption("proxy", resource_name, adopt, adopt_id, key)
        markers.update(rollout.marker(activate_after_rules, bool(markers)))  # rollout: staged unless opted out
        props = {**_props(ProxySchema, args), **markers}
        super().__init__(ProxyProvider(), resource_name, props, opts)
        rollout.activate_after_rules(self, resource_name, props)  # rollout: turned on after the rules


# ------------------------------------------------------------------------------------------------------------------
# Rule


@dataclass
class HeaderCheck:
    """A header (or query parameter) check: name and value regexes, and whether it must be present or absent."""

    name_pattern: pulumi.Input[str]
    presence: pulumi.Input[str] = "present"
    value_pattern: Optional[pulumi.Input[str]] = None


QueryCheck = HeaderCheck


@dataclass
class BodyCheck:
    json_path: pulumi.Input[str]
    presence: pulumi.Input[str] = "present"
    value_pattern: Optional[pulumi.Input[str]] = None


@dataclass
class TokenCheck:
    claim: pulumi.Input[str]
    presence: pulumi.Input[str] = "present"
    value_pattern: Optional[pulumi.Input[str]] = None


def _checks(checks: Optional[Sequence[Any]]) -> Optional[list[Any]]:
    if checks is None:
        return None
    return [
        {k: v for k, v in dataclasses.asdict(c).items() if v is not None} if dataclasses.is_dataclass(c) else c
        for c in checks
    ]


@dataclass
class RuleArgs:
    """An authorization rule on exactly one parent: `credential_id`, `target_id` or `proxy_id`.
    The API cannot update rules: any change replaces the rule."""

    client_id: pulumi.Input[str]
    effect: pulumi.Input[str]
    priority: pulumi.Input[int]
    credential_id: Optional[pulumi.Input[str]] = None
    target_id: Optional[pulumi.Input[str]] = None
    proxy_id: Optional[pulumi.Input[str]] = None
    methods: Optional[pulumi.Input[Sequence[pulumi.Input[str]]]] = None
    path_pattern: Optional[pulumi.Input[str]] = None
    path_presence: Optional[pulumi.Input[str]] = None
    header_checks: Optional[Sequence[Union[HeaderCheck, Mapping[str, Any]]]] = None
    query_checks: Optional[Sequence[Union[QueryCheck, Mapping[str, Any]]]] = None
    body_checks: Optional[Sequence[Union[BodyCheck, Mapping[str, Any]]]] = None
    token_checks: Optional[Sequence[Union[TokenCheck, Mapping[str, Any]]]] = None
    regex_flags: Optional[pulumi.Input[str]] = None
    notes: Optional[pulumi.Input[str]] = None


_doc(RuleArgs, RuleSchema)


class Rule(dynamic.Resource, module=MODULE, name="Rule"):
    """An authorization rule (replace-only)."""

    client_id: pulumi.Output[str]
    credential_id: pulumi.Output[Optional[str]]
    target_id: pulumi.Output[Optional[str]]
    proxy_id: pulumi.Output[Optional[str]]
    effect: pulumi.Output[str]
    priority: pulumi.Output[int]
    methods: pulumi.Output[list]
    path_pattern: pulumi.Output[Optional[str]]
    path_presence: pulumi.Output[Optional[str]]
    header_checks: pulumi.Output[Optional[list]]
    query_checks: pulumi.Output[Optional[list]]
    body_checks: pulumi.Output[Optional[list]]
    token_checks: pulumi.Output[Optional[list]]
    regex_flags: pulumi.Output[Optional[str]]
    notes: pulumi.Output[Optional[str]]

    def __init__(
        self,
        resource_name: str,
        args: Optional[RuleArgs] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        adopt: bool = False,
        adopt_id: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        args = _args(RuleArgs, args, kwargs)
        # Identical rules are interchangeable: the provider hands each adopter a different one, so no key here.
        markers = _adoption("rule", resource_name, adopt, adopt_id, None)
        parents = [name for name in PARENTS if getattr(args, name) is not None]
        if len(parents) != 1:
            raise ValueError(
                f"Rule {resource_name!r} needs exactly one parent: set one of {', '.join(PARENTS)} "
                f"(got {', '.join(parents) or 'none'})"
            )
        overrides = {
            name: _checks(getattr(args, name)) for name in ("header_checks", "query_checks", "body_checks", "token_checks")
        }
        props = {**_props(RuleSchema, args, **overrides), **markers}
        super().__init__(RuleProvider(), resource_name, props, opts)
        rollout.track_rule(self)  # rollout: the program's proxy activations wait for this rule

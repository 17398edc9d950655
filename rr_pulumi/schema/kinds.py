"""The five kinds of RequestRocket object, listed once: every tool (client, provider, drift, export, policy, docs,
the emulator's routes) reads their facts here instead of keeping its own list.

Pure data with no imports from the rest of rr-pulumi at load time, so the schema, the emulator and the CLI can all
read it; `Kind.schema` loads the pydantic schema only when asked, and the field facts (`name_wire`, `region_field`)
come from the plain field table in `rr_pulumi.schema.wire`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Optional

TYPE_TOKEN_PREFIX = "pulumi-python:dynamic/requestrocket:"
"""Type tokens of rr-pulumi's resources: Pulumi's `pulumi-python:dynamic` package, module `requestrocket`."""


@dataclass(frozen=True)
class Reference:
    """A property of one kind that holds the id of an object of another kind (a proxy names its parts)."""

    argument: str  # "proxy_credential_id": the Python argument holding the id
    kind: str  # "Credential": the kind of object it names
    credential_type: Optional[str] = None  # "proxy": the credential_type the named credential must have


@dataclass(frozen=True)
class Kind:
    name: str  # "Proxy": the public class, the schema's prefix, the type token's last part
    plural: str  # "proxies": the collection's path segment and the list envelope's key
    word: str  # "proxy": the kind in the user's words, and the wire prefix of its fields
    name_field: Optional[str]  # "proxy_name": the Python argument naming the object within its client
    rule_parent_argument: Optional[str]  # "proxy_id": the Rule argument when rules hang off this kind
    references: tuple[Reference, ...] = ()  # the other objects this kind's properties name by id

    @property
    def type_token(self) -> str:
        return TYPE_TOKEN_PREFIX + self.name

    @property
    def id_field(self) -> str:
        """The explicit `<resource>Id` wire field the provider tolerates beside `sKey`."""
        return f"{self.word}Id"

    @property
    def name_wire(self) -> Optional[str]:
        """The wire name of `name_field` (`proxyName`)."""
        if self.name_field is None:
            return None
        from rr_pulumi.schema.wire import fields

        return fields(self.schema_name)[self.name_field].wire

    @property
    def schema_name(self) -> str:
        """The schema's class name (`ProxySchema`), which `rr_pulumi.schema.wire` answers for without pydantic."""
        return f"{self.name}Schema"

    @property
    def schema(self) -> Any:
        """The pydantic schema (`rr_pulumi.schema.ProxySchema`), imported on first use."""
        return getattr(importlib.import_module("rr_pulumi.schema"), f"{self.name}Schema")

    @property
    def region_field(self) -> Optional[str]:
        """The Python argument holding the region (`proxy_region`), for kinds that live in one region."""
        name = f"{self.word}_region"
        from rr_pulumi.schema.wire import fields

        return name if name in fields(self.schema_name) else None

    @property
    def owned_by_client(self) -> bool:
        """Listed under `/api/clients/{clientId}/<plural>` (credentials, targets, proxies)."""
        return self.name not in ("Client", "Rule")


CLIENT = Kind("Client", "clients", "client", "client_name", None)
CREDENTIAL = Kind("Credential", "credentials", "credential", "credential_name", "credential_id")
TARGET = Kind("Target", "targets", "target", "target_name", "target_id")
PROXY = Kind(
    "Proxy",
    "proxies",
    "proxy",
    "proxy_name",
    "proxy_id",
    references=(
        Reference("proxy_credential_id", "Credential", credential_type="proxy"),
        Reference("target_id", "Target"),
        Reference("target_credential_id", "Credential", credential_type="target"),
    ),
)
RULE = Kind("Rule", "rules", "rule", None, None)

KINDS: tuple[Kind, ...] = (CLIENT, CREDENTIAL, TARGET, PROXY, RULE)
CLIENT_CHILDREN: tuple[Kind, ...] = tuple(k for k in KINDS if k.owned_by_client)
RULE_PARENTS: tuple[Kind, ...] = tuple(k for k in KINDS if k.rule_parent_argument)

_BY_NAME = {k.name: k for k in KINDS}
_BY_PLURAL = {k.plural: k for k in KINDS}
_BY_TYPE = {k.type_token: k for k in KINDS}


def by_name(name: str) -> Optional[Kind]:
    return _BY_NAME.get(name)


def by_plural(plural: str) -> Optional[Kind]:
    return _BY_PLURAL.get(plural)


def by_type_token(token: str) -> Optional[Kind]:
    return _BY_TYPE.get(token)


def by_rule_parent_argument(argument: str) -> Optional[Kind]:
    return next((k for k in RULE_PARENTS if k.rule_parent_argument == argument), None)

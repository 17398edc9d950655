"""The kinds of RequestRocket object, as a registry every tool (client, provider, drift, export, policy, docs, the
emulator's routes) reads instead of keeping its own list.

Nothing here is declared by hand: each kind is declared once, by its schema (`kind_facts` on `ProxySchema`, and its
fields), and `scripts/generate_resources.py` writes what follows from them into `wire_table.py` (see
`rr_pulumi.schema.derive`). This module reads that plain table, so it loads without pydantic and imports nothing but
it; `rr_pulumi.schema.schema_of(kind)` imports the pydantic schema when asked.

Adding a kind: declare its schema in `rr_pulumi/schema/<word>.py` (a `SchemaModel` with `kind_facts`, and
`references=` on the fields that name other kinds), write `<Name>Provider` in `rr_pulumi/provider/<word>.py` (its
`kind` is `kinds.named("<Name>")`), then run `python scripts/generate_resources.py` and `python
scripts/resource_docs.py`. The registry, the public class and its *Args, `rr_pulumi.__all__`, export, drift, policy
and the docs follow; the emulator serves only the kinds it implements (`rr_pulumi/emulator/`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from rr_pulumi.schema.wire_table import KINDS as _ROWS

TYPE_TOKEN_PREFIX = "pulumi-python:dynamic/requestrocket:"
"""Type tokens of rr-pulumi's resources: Pulumi's `pulumi-python:dynamic` package, module `requestrocket`."""


@dataclass(frozen=True)
class Reference:
    """A property of one kind that holds the id of an object of another kind (a proxy names its parts)."""

    argument: str  # "proxy_credential_id": the Python argument holding the id
    kind: str  # "Credential": the kind of object it names
    requires: tuple[tuple[str, str], ...] = ()  # (("credential_type", "proxy"),): what the named object must have

    @property
    def credential_type(self) -> Optional[str]:
        """The credential_type the named credential must have, if any."""
        return dict(self.requires).get("credential_type")


@dataclass(frozen=True)
class Kind:
    name: str  # "Proxy": the public class, the schema's prefix, the type token's last part
    plural: str  # "proxies": the collection's path segment and the list envelope's key
    word: str  # "proxy": the kind in the user's words, and the wire prefix of its fields
    name_field: Optional[str]  # "proxy_name": the Python argument naming the object within its client
    name_wire: Optional[str]  # "proxyName": the wire name of `name_field`
    region_field: Optional[str]  # "proxy_region": the argument holding the region, for kinds that live in one
    active_field: Optional[str]  # "proxy_active": the switch a staged rollout turns on (declared in kind_facts)
    rule_parent_argument: Optional[str]  # "proxy_id": the Rule argument when rules hang off this kind
    parent_arguments: tuple[str, ...]  # the rule's ("credential_id", ...): the kind declaring hangs_off_parents
    owned_by_client: bool  # listed under `/api/clients/{clientId}/<plural>` (credentials, targets, proxies)
    references: tuple[Reference, ...]  # the other objects this kind's properties name by id
    schema_module: str  # "rr_pulumi.schema.proxy": where its schema is declared

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Kind":
        """A kind from its row of `wire_table.KINDS` (or of `rr_pulumi.schema.derive.kind_rows`)."""
        return cls(**{**row, "references": tuple(Reference(*ref) for ref in row["references"])})

    @property
    def type_token(self) -> str:
        return TYPE_TOKEN_PREFIX + self.name

    @property
    def id_field(self) -> str:
        """The explicit `<resource>Id` wire field the provider tolerates beside `sKey`."""
        return f"{self.word}Id"

    @property
    def schema_name(self) -> str:
        """The schema's class name (`ProxySchema`), which `rr_pulumi.schema.wire` answers for without pydantic."""
        return f"{self.name}Schema"


KINDS: tuple[Kind, ...] = tuple(Kind.from_row(row) for row in _ROWS)
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


def named(name: str) -> Kind:
    """The kind a schema declares under this name (a provider's `kind`); an ImportError when none does."""
    kind = _BY_NAME.get(name)
    if kind is None:
        raise ImportError(f"no schema declares the kind {name!r}: run `python scripts/generate_resources.py`")
    return kind


# Handles for the code that treats one kind specially (a credential's secret, a proxy's rollout); the facts about
# each come from its schema, as above.
CLIENT = named("Client")
CREDENTIAL = named("Credential")
TARGET = named("Target")
PROXY = named("Proxy")
RULE = named("Rule")

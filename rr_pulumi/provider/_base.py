"""check / diff / read plumbing shared by every resource, driven by its schema.

The provider classes hold no instance state, so dill pickles them by reference (module + class name): the
`__provider` property in the state never changes when rr-pulumi's code changes (pulumi/pulumi#12401), `refresh`
and `destroy` run the installed code (#6490), and no configuration can leak into the state. Keep the classes at
their import paths (`rr_pulumi.provider.<resource>.<Name>Provider`): existing stacks refer to them by those names.

Property names in the state are the schema's Python names; wire names appear only in requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from .. import client as rr_client
from .. import config as rr_config
from ..errors import ApiError, ConfigurationError, ConnectionFailed, RateLimited, ServerError, Unauthorized
from .adopt import ADOPT_ID, ADOPTED, AdoptionError, immutable_conflicts, markers_of, pick
from ..schema import (
    Failure,
    SchemaModel,
    contains_unknown,
    fields,
    from_wire,
    input_fields,
    normalize,
    secret_hash,
    to_wire,
    validate,
)

PROVIDER_KEY = "__provider"


def user_props(props: dict[str, Any]) -> dict[str, Any]:
    """The resource's own properties, without the engine's `__provider`."""
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def blank(value: Any) -> bool:
    """None, or an empty list/object: what the API returns for an optional field nobody set."""
    return value is None or value == [] or value == {}


def hash_key(name: str) -> str:
    """The output holding the fingerprint of a secret input."""
    return f"{name}_hash"


# ----------------------------------------------------------------------------------------------------------------
# Decisions (pure)


@dataclass
class Plan:
    """What a diff found: the properties that change and those of them that force a replacement."""

    changes: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)


def plan_diff(schema: type[SchemaModel], olds: dict[str, Any], news: dict[str, Any]) -> Plan:
    """Compare the recorded outputs (`olds`) with the checked inputs (`news`).

    An input left unset means "no opinion" (the server's or the previous value stands). A value not known yet
    (preview) counts as a change. Secrets compare by fingerprint, never by showing the value.
    """
    plan = Plan()
    old_n, new_n = normalize(schema, olds), normalize(schema, news)
    for name, spec in input_fields(schema).items():
        new = new_n.get(name)
        if spec.secret:
            if contains_unknown(new):
                changed = True
            else:
                old_hash = olds.get(hash_key(name)) or (secret_hash(olds[name]) if olds.get(name) is not None else None)
                changed = new is not None and secret_hash(new) != old_hash
        elif new is None:
            changed = spec.clearable and not blank(old_n.get(name))  # removed from the program: clear it
        elif contains_unknown(new):
            changed = True
        else:
            changed = new != old_n.get(name) and not (blank(new) and blank(old_n.get(name)))
        if changed:
            plan.changes.append(name)
            if spec.immutable:
                plan.replaces.append(name)
    return plan


def check_failure(schema: type[SchemaModel], failure: Failure) -> CheckFailure:
    """A CheckFailure the engine prints well: top-level plain arguments as properties, the rest in the text.

    The engine prints the property's value beside a property failure, so secrets never go in `property`.
    """
    spec = fields(schema).get(failure.argument)
    if spec is not None and not spec.secret:
        return CheckFailure(failure.argument, failure.reason)
    return CheckFailure("", f"{failure.argument}: {failure.reason}")


def connection_failures(verify_token: bool = True) -> list[Failure]:
    """Why the API cannot be used: no token always; a rejected token or unreachable API (one call per process)
    only when `verify_token`, so a no-op preview makes no API call."""
    try:
        if verify_token:
            rr_client.verified_client()
        else:
            rr_client.shared_client()
    except ConfigurationError as exc:
        return [Failure("requestrocket:token", str(exc))]
    except Unauthorized as exc:
        return [
            Failure(
                "requestrocket:token",
                f"the RequestRocket API rejected the token ({exc}); set a valid one with "
                f"`pulumi config set --secret {rr_config.TOKEN_KEY} <token>` or {rr_config.TOKEN_ENV}",
            )
        ]
    except (ServerError, RateLimited) as exc:  # the API is there but failing: not a configuration problem
        return [Failure("requestrocket:apiUrl", f"the RequestRocket API kept failing; nothing was changed, run again: {exc}")]
    except (ApiError, ConnectionFailed) as exc:
        return [Failure("requestrocket:apiUrl", f"cannot use the RequestRocket API: {exc}")]
    return []


# ----------------------------------------------------------------------------------------------------------------
# The provider base


class SchemaProvider(ResourceProvider):
    """A dynamic provider whose check, diff and output shaping come from `schema`.

    Subclasses say how to reach their collection and may add outputs; they hold no instance state.
    """

    serialize_as_secret_always = False  # nothing secret is captured: the provider pickles by reference
    schema: ClassVar[type[SchemaModel]]
    kind: ClassVar[str]  # the resource in the user's words, for messages
    updatable: ClassVar[bool] = True

    # -- configuration -------------------------------------------------------------------------------------------

    def configure(self, req: ConfigureRequest) -> None:
        rr_config.configure(req.config.get)

    @staticmethod
    def api() -> rr_client.RequestRocketClient:
        return rr_client.shared_client()

    @staticmethod
    def settings() -> rr_config.Settings:
        return rr_config.current()

    # -- hooks for subclasses --------------------------------------------------------------------------------------

    def collection(self, values: dict[str, Any]) -> str:
        """The collection path the object lives in."""
        raise NotImplementedError

    def natural_key(self, values: dict[str, Any], item: dict[str, Any]) -> bool:
        """Whether a listed item is the object these inputs would create (used after an ambiguous POST)."""
        raise NotImplementedError

    def natural_key_text(self, values: dict[str, Any]) -> str:
        """The natural key in words, for adoption errors."""
        raise NotImplementedError

    def parent_text(self, values: dict[str, Any]) -> str:
        """Where the object lives, in words, for adoption errors."""
        return f"client {values.get('client_id')!r}"

    def adopt_conflicts(self, values: dict[str, Any], item: dict[str, Any]) -> list[str]:
        """Why the live object cannot take the declared values in place (empty: it can)."""
        return immutable_conflicts(self.schema, values, item)

    def extra_outputs(self, id_: str, values: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        return {}

    def body(self, values: dict[str, Any], only: Optional[set[str]] = None) -> dict[str, Any]:
        """The request body for these values (all body fields, or only those named)."""
        return to_wire(self.schema, values, only)

    def secrets_of(self, values: dict[str, Any]) -> list[str]:
        return []

    def delete_body(self, props: dict[str, Any]) -> Optional[dict[str, Any]]:
        return None

    # -- shared helpers ----------------------------------------------------------------------------------------------

    def canonical(self, props: dict[str, Any]) -> dict[str, Any]:
        """Inputs as the schema wants them (numbers arrive from the engine as floats)."""
        values, _ = validate(self.schema, user_props(props))
        return values

    def outputs(self, id_: str, values: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        """Every output: the inputs, overlaid with what the server returned, plus computed values."""
        specs = fields(self.schema)
        live = normalize(self.schema, from_wire(self.schema, item))
        outs = {k: v for k, v in values.items() if k in specs}
        for name, spec in specs.items():
            if spec.path or spec.secret:
                continue  # not in the item (path) or never returned (secret): keep the input
            if not blank(live.get(name)):
                outs[name] = live[name]
        for name, spec in specs.items():
            if spec.secret:
                outs[hash_key(name)] = secret_hash(values.get(name))
        outs.update(self.extra_outputs(id_, outs, item))
        return {k: v for k, v in outs.items() if v is not None}

    def inputs_from(self, outs: dict[str, Any]) -> dict[str, Any]:
        """The inputs that match a live state, for `read` (so drift shows in the next preview)."""
        specs = input_fields(self.schema)
        return {k: v for k, v in outs.items() if k in specs and (not blank(v) or specs[k].default is not None)}

    # -- ResourceProvider ------------------------------------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        values, failures = validate(self.schema, user_props(news))
        markers = markers_of(user_props(news))
        if ADOPT_ID in markers and not isinstance(markers[ADOPT_ID], str) and not contains_unknown(markers[ADOPT_ID]):
            failures.append(Failure(ADOPT_ID, f"must be the id of the object to adopt (got {markers[ADOPT_ID]!r})"))
        if not failures:
            # Only a resource about to change can be hurt by a bad token; an unchanged one costs no API call.
            will_change = not user_props(_olds) or bool(plan_diff(self.schema, user_props(_olds), values).changes)
            failures = connection_failures(verify_token=will_change)
        return CheckResult({**values, **markers}, [check_failure(self.schema, f) for f in failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        plan = plan_diff(self.schema, user_props(olds), user_props(news))
        return DiffResult(changes=bool(plan.changes), replaces=plan.replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        values = self.canonical(props)
        markers = markers_of(user_props(props))
        if markers:
            return self.adopt(values, markers)
        collection = self.collection(values)
        item = self.api().create(
            collection,
            self.body(values),
            lambda candidate: self.natural_key(values, candidate),
            secrets=self.secrets_of(values),
        )
        id_ = rr_client.item_id(item, rr_client.plural_of(collection))
        if not id_:
            raise ApiError("POST", collection, 201, "UNEXPECTED_RESPONSE", "the created item carries no id")
        return CreateResult(id_, self.outputs(id_, values, item))

    def adopt(self, values: dict[str, Any], markers: dict[str, Any]) -> CreateResult:
        """Take over an existing object, then apply the declared values to it (only what differs)."""
        collection = self.collection(values)
        plural = rr_client.plural_of(collection)
        params = {"includeTemporary": "true"} if plural == "credentials" else None
        items = self.api().list(collection, params)

        def id_of(item: dict[str, Any]) -> Optional[str]:
            return rr_client.item_id(item, plural)

        def choose(taken: set[str]) -> str:
            item = pick(
                self.kind, self.parent_text(values), items, id_of, markers,
                lambda candidate: self.natural_key(values, candidate), self.natural_key_text(values), taken,
            )  # fmt: skip
            return str(id_of(item))

        id_ = ADOPTED.claim(self.kind, choose)
        item = next(i for i in items if id_of(i) == id_)
        conflicts = self.adopt_conflicts(values, item)
        if conflicts:
            raise AdoptionError(
                f"cannot adopt {self.kind} {id_!r}: " + "; ".join(conflicts) + " (it cannot change in place: "
                "declare the live value, or remove the adoption marker to create a new object)"
            )
        live = {**normalize(self.schema, from_wire(self.schema, item)), **{k: values.get(k) for k in self.path_names()}}
        plan = plan_diff(self.schema, live, values)
        if plan.changes and self.updatable:
            specs = input_fields(self.schema)
            body = self.body(values, only=set(plan.changes))
            for name in plan.changes:
                if values.get(name) is None and specs[name].wire:
                    body[specs[name].wire] = None  # declared unset: clear it, as an update would
            item = self.api().update(collection, id_, body, secrets=self.secrets_of(values))
        return CreateResult(id_, self.outputs(id_, values, item))

    def path_names(self) -> list[str]:
        return [n for n, spec in fields(self.schema).items() if spec.path]

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        values = self.canonical(news)
        plan = plan_diff(self.schema, user_props(olds), values)
        specs = input_fields(self.schema)
        send = {n for n, s in specs.items() if not s.immutable and not s.secret and n in values}
        send |= {n for n in plan.changes if specs[n].secret}  # a changed secret rotates in place
        body = self.body(values, only=send)
        for name in plan.changes:
            if values.get(name) is None and specs[name].wire:
                body[specs[name].wire] = None  # PUT merges: an explicit null clears a removed optional field
        item = self.api().update(self.collection(values), id_, body, secrets=self.secrets_of(values))
        return UpdateResult(self.outputs(id_, values, item))  # every output, not only the changed ones (#7809)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        values = user_props(props)
        item = self.api().find(self.collection(values), id_)
        if item is None:
            return ReadResult("", {})  # gone: the engine drops it from the state, the next `up` recreates it
        outs = self.outputs(id_, values, item)
        outs = self.after_read(values, outs)
        return ReadResult(id_, outs, self.inputs_from(outs))

    def after_read(self, previous: dict[str, Any], outs: dict[str, Any]) -> dict[str, Any]:
        return outs

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        values = user_props(props)
        self.api().delete(self.collection(values), id_, self.delete_body(values))  # already gone is fine

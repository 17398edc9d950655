"""check / diff / read plumbing shared by every resource, driven by its schema.

The provider classes hold no instance state, so dill pickles them by reference (module + class name): the
`__provider` property in the state never changes when rr-pulumi's code changes (pulumi/pulumi#12401), `refresh`
and `destroy` run the installed code (#6490), and no configuration can leak into the state. Keep the classes at
their import paths (`rr_pulumi.provider.<resource>.<Name>Provider`): existing stacks refer to them by those names.

Property names in the state are the schema's Python names; wire names appear only in requests. Beside the schema's
fields a resource may carry `profile` (the connection profile: which account; changing it replaces the resource)
and the adoption markers (`adopt`, `adopt_id`, `rotate_on_adopt`); none of them reaches the API.

`read` gets only the recorded outputs, yet the inputs it returns replace the recorded inputs, and `refresh` shows
every difference between the two as drift. So the outputs also carry what the inputs hold beyond the schema's values
(the markers, as plain outputs) and `__undeclared`: the fields the program left to the API (a proxy's default
limits), which the outputs show but the inputs never had. A refresh of an object nobody changed gives the inputs
back exactly as recorded.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, ClassVar, Iterator, Optional

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

from rr_pulumi.api import client as rr_client
from rr_pulumi.api import config as rr_config
from rr_pulumi.schema import kinds
from rr_pulumi.api.errors import (
    ApiError,
    ConfigurationError,
    ConnectionCheckFailed,
    ConnectionFailed,
    NotFound,
    ObjectsBelow,
    RateLimited,
    RequestRocketError,
    ServerError,
    Unauthorized,
    name_arguments,
)
from rr_pulumi.schema.plan import PROVIDER_KEY, Plan, clear_removed, hash_key, is_unset, plan_diff, user_props
from rr_pulumi.schema.wire import (
    Failure,
    SchemaRef,
    contains_unknown,
    fields,
    from_wire,
    input_fields,
    normalize,
    secret_hash,
    to_wire,
)
from rr_pulumi.provider import connection, diagnostics
from rr_pulumi.provider.adopt import (
    ADOPT_ID,
    ADOPTED,
    BACKEND_STACKS,
    MARKERS,
    REPLACEMENTS,
    ROTATE_ON_ADOPT,
    AdoptionError,
    adopting,
    immutable_conflicts,
    item_to_adopt,
    markers_of,
)
from rr_pulumi.provider.checks import placeholder_failures, region_arguments, region_failures

# plan_diff and user_props stay importable from here until drift imports them from rr_pulumi.schema.plan.
__all__ = ["PROVIDER_KEY", "Plan", "SchemaProvider", "hash_key", "plan_diff", "user_props"]

PROFILE = "profile"
UNDECLARED = "__undeclared"  # output: input fields the program left to the API, absent from the recorded inputs

diagnostics.install()  # rr-pulumi's own errors print as one line in the engine's output


class LookupMissing(RequestRocketError):
    """A lookup (`Kind.get(name, id, ...)`) names an object that does not exist, or that the token cannot see."""


def profile_of(props: dict[str, Any]) -> Optional[str]:
    """The connection profile a resource names (None: the top-level settings)."""
    value = props.get(PROFILE)
    return value if isinstance(value, str) and value else None


def check_failure(schema: SchemaRef, failure: Failure) -> CheckFailure:
    """A CheckFailure the engine prints well: top-level plain arguments as properties, the rest in the text.

    The engine prints the property's value beside a property failure, so secrets never go in `property`.
    """
    spec = fields(schema).get(failure.argument)
    if spec is not None and not spec.secret:
        return CheckFailure(failure.argument, failure.reason)
    return CheckFailure("", f"{failure.argument}: {failure.reason}")


def _token_argument(profile: Optional[str]) -> str:
    return rr_config.TOKEN_KEY if profile is None else f"{rr_config.PROFILES_KEY}.{profile}.token"


def settings_failures(profile: Optional[str]) -> list[Failure]:
    """Why the connection settings cannot be read: an unknown profile, a malformed stack config."""
    try:
        connection.settings(profile)
    except ConfigurationError as exc:
        return [Failure(PROFILE if profile else "stack config", str(exc))]
    return []


SKIP_HINT = (f"(rr-pulumi checks the connection once per command; `pulumi config set {rr_config.SKIP_CHECK_KEY} true` "
             "skips the check)")


def connection_check_failure(profile: Optional[str], exc: Exception) -> Failure:
    """What the command's token check found, in one line naming the setting to fix and the one that skips it."""
    token_key = _token_argument(profile)
    if isinstance(exc, ConfigurationError):
        return Failure(token_key, str(exc))
    if isinstance(exc, Unauthorized):
        fix = f"`pulumi config set --secret {token_key} <token>`"
        if profile is None:
            fix += f" or {rr_config.TOKEN_ENV}"
        return Failure(
            token_key, f"the RequestRocket API rejected the token ({exc}); set a valid one with {fix} {SKIP_HINT}")
    api_url = rr_config.API_URL_KEY if profile is None else f"{rr_config.PROFILES_KEY}.{profile}.apiUrl"
    if isinstance(exc, (ServerError, RateLimited)):  # the API is there but failing: not a configuration problem
        return Failure(api_url, f"the RequestRocket API kept failing; nothing was changed, run again: {exc}")
    return Failure(api_url, f"cannot use the RequestRocket API: {exc} {SKIP_HINT}")


def connection_failures(profile: Optional[str] = None, will_change: bool = True) -> list[Failure]:
    """Why the API cannot be used: no token; a rejected token or an unreachable API, found by the command's one
    token check (skipped with skipCredentialsValidation, except for a resource about to change)."""
    failures = settings_failures(profile)
    if failures:
        return failures
    try:
        connection.verified_client(profile, even_if_skipped=will_change)
    except (ConfigurationError, ApiError, ConnectionFailed) as exc:
        return [connection_check_failure(profile, exc)]
    return []


# ----------------------------------------------------------------------------------------------------------------
# The provider base


class SchemaProvider(ResourceProvider):
    """A dynamic provider whose check, diff and output shaping come from `schema`.

    Subclasses say how to reach their collection and may add outputs; they hold no instance state.
    """

    serialize_as_secret_always = False  # nothing secret is captured: the provider pickles by reference
    kind: ClassVar[kinds.Kind]
    updatable: ClassVar[bool] = True
    input_markers: ClassVar[tuple[str, ...]] = MARKERS  # inputs beside the schema's fields, never sent to the API

    @property
    def schema(self) -> str:
        """The schema by name: read, delete and diff answer from `rr_pulumi.schema.wire` without loading pydantic."""
        return self.kind.schema_name

    def validate(self, inputs: dict[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
        """The schema's validation (`check`, and the canonical inputs of a write): the one path that loads pydantic."""
        from rr_pulumi.schema import schema_of, validate

        return validate(schema_of(self.kind), inputs)

    @property
    def word(self) -> str:
        """The resource in the user's words, for messages."""
        return self.kind.word

    # -- configuration -------------------------------------------------------------------------------------------

    def configure(self, req: ConfigureRequest) -> None:
        connection.configure(req.config.get)

    @staticmethod
    def api(props: Optional[dict[str, Any]] = None) -> rr_client.RequestRocketClient:
        """The client of the resource's profile, after the command's one token check."""
        profile = profile_of(props or {})
        try:
            return connection.verified_client(profile)
        except (ApiError, ConnectionFailed) as exc:
            failure = connection_check_failure(profile, exc)
            raise ConnectionCheckFailed(f"{failure.argument}: {failure.reason}") from None

    @staticmethod
    def settings(props: Optional[dict[str, Any]] = None) -> rr_config.Settings:
        return connection.settings(profile_of(props or {}))

    # -- hooks for subclasses --------------------------------------------------------------------------------------

    def collection(self, values: dict[str, Any]) -> str:
        """The collection path the object lives in."""
        raise NotImplementedError

    def natural_key(self, values: dict[str, Any], item: dict[str, Any]) -> bool:
        """Whether a listed item is the object these inputs would create (used after an ambiguous POST):
        by default the same name within its client."""
        name_field, name_wire = self.kind.name_field, self.kind.name_wire
        return name_field is not None and name_wire is not None and item.get(name_wire) == values.get(name_field)

    def natural_key_text(self, values: dict[str, Any]) -> str:
        """The natural key in words, for adoption errors."""
        name_field = self.kind.name_field
        return f"{name_field} {values.get(name_field)!r}" if name_field is not None else f"no name (a {self.word})"

    def parent_text(self, values: dict[str, Any]) -> str:
        """Where the object lives, in words, for adoption and lookup errors."""
        return f"client {values.get('client_id')!r}"

    def adopt_conflicts(self, values: dict[str, Any], item: dict[str, Any]) -> list[str]:
        """Why the live object cannot take the declared values in place (empty: it can)."""
        return immutable_conflicts(self.schema, values, item)

    def extra_outputs(self, id_: str, values: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        return {}

    def body(self, values: dict[str, Any], only: Optional[set[str]] = None) -> dict[str, Any]:
        """The request body for these values (all body fields, or only those named)."""
        return to_wire(self.schema, values, only)

    def create_body(self, props: dict[str, Any]) -> dict[str, Any]:
        """The plain fields `create` POSTs for these recorded inputs, what recovery compares a listed object with
        (never a secret: a stack export holds secrets encrypted, and no listing returns them)."""
        plain = {name for name, spec in input_fields(self.schema).items() if not spec.secret}
        return self.body(self.canonical(props), only=plain)

    def secrets_of(self, values: dict[str, Any]) -> list[str]:
        return []

    def delete_body(self, props: dict[str, Any]) -> Optional[dict[str, Any]]:
        return None

    def extra_failures(self, values: dict[str, Any]) -> list[Failure]:
        """Checks beyond the schema that need the connection settings (the allowed regions)."""
        return region_failures(self.schema, values, self.settings(values).regions)

    def relax(self, failures: list[Failure], values: dict[str, Any], markers: dict[str, Any]) -> list[Failure]:
        """Schema failures that do not apply to this resource (e.g. a missing secret when adopting)."""
        return failures

    def regions_named(self, failures: list[Failure], news: dict[str, Any]) -> list[Failure]:
        """A region that is not even a region code (`mars`) fails the schema's format check: say which regions are
        allowed instead, as for one outside the stack's list."""
        names = set(region_arguments(self.schema))
        if not any(f.argument in names for f in failures):
            return failures
        try:
            allowed = self.settings(news).regions
        except ConfigurationError:
            return failures  # the settings' own failure is reported
        named = {f.argument: f for f in region_failures(self.schema, user_props(news), allowed)}
        return [named.get(f.argument, f) for f in failures]

    # -- shared helpers ----------------------------------------------------------------------------------------------

    def canonical(self, props: dict[str, Any]) -> dict[str, Any]:
        """Inputs as the schema wants them (numbers arrive from the engine as floats), with the profile."""
        values, _ = self.validate(user_props(props))
        return {**values, **self.connection_inputs(props)}

    @staticmethod
    def connection_inputs(props: dict[str, Any]) -> dict[str, Any]:
        profile = profile_of(props)
        return {PROFILE: profile} if profile else {}

    def outputs(self, id_: str, values: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        """Every output: the inputs, overlaid with what the server returned, plus computed values."""
        specs = fields(self.schema)
        live = normalize(self.schema, from_wire(self.schema, item))
        outs = {k: v for k, v in values.items() if k in specs}
        for name, spec in specs.items():
            if spec.path or spec.secret:
                continue  # not in the item (path) or never returned (secret): keep the input
            if not is_unset(live.get(name)):
                outs[name] = live[name]
        for name, spec in specs.items():
            if spec.secret:
                outs[hash_key(name)] = secret_hash(values.get(name))
        outs.update(self.extra_outputs(id_, outs, item))
        outs.update(self.connection_inputs(values))
        return {k: v for k, v in outs.items() if v is not None}

    def recorded(self, outs: dict[str, Any], declared: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
        """The outputs with what `read` needs to give the inputs back: the markers set on `props` and the input
        fields `declared` left to the API (see the module's docstring)."""
        record = {k: props[k] for k in self.input_markers if props.get(k) is not None}
        undeclared = sorted(n for n in input_fields(self.schema) if n in outs and declared.get(n) is None)
        if undeclared:
            record[UNDECLARED] = undeclared
        return {**outs, **record}

    def inputs_from(self, outs: dict[str, Any]) -> dict[str, Any]:
        """The inputs that match a live state, for `read`: the recorded outputs' fields (so drift shows in the
        next preview as a change of the field), without those the program never declared, and the markers."""
        specs = input_fields(self.schema)
        undeclared = set(outs.get(UNDECLARED) or ())
        inputs = {k: v for k, v in outs.items() if k in specs and k not in undeclared}
        markers = {k: outs[k] for k in self.input_markers if outs.get(k) is not None}
        return {**inputs, **markers, **self.connection_inputs(outs)}

    @contextmanager
    def api_errors(self, values: dict[str, Any]) -> Iterator[None]:
        """API errors name the Python arguments (`target_region`), not the wire fields (`targetRegion`); a
        rejected token says how to set the current one."""
        try:
            yield
        except Unauthorized as exc:
            token_key = _token_argument(profile_of(values))
            exc.args = (f"{exc.args[0]}; set the current token with `pulumi config set --secret {token_key} <token>`",)
            raise exc from None
        except ApiError as exc:
            raise name_arguments(exc, self.wire_names()) from None

    def wire_names(self) -> dict[str, str]:
        """Wire field -> Python argument, this resource's fields first, then every other kind's."""
        names: dict[str, str] = {}
        for schema in [self.schema, *(k.schema_name for k in kinds.KINDS)]:
            for name, spec in fields(schema).items():
                if spec.wire and spec.wire != name:
                    names.setdefault(spec.wire, name)
        return names

    # -- ResourceProvider ------------------------------------------------------------------------------------------

    def already_checked(self, olds: dict[str, Any], news: dict[str, Any]) -> Optional[dict[str, Any]]:
        """The inputs the schema's validation returned last time, when the new inputs are exactly those (its defaults
        aside): validating them again would return the same, so an unchanged resource costs no validation and a
        no-op preview never loads pydantic. None: validate."""
        specs = input_fields(self.schema)
        before = {k: v for k, v in user_props(olds).items() if k in specs}
        given = {k: v for k, v in user_props(news).items() if k in specs and v is not None}
        if not before or contains_unknown(given):
            return None
        defaults = {n: spec.default for n, spec in specs.items() if spec.default is not None and n not in given}
        return before if {**defaults, **normalize(self.schema, given)} == before else None

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = self.already_checked(_olds, news)
        values, failures = (checked, []) if checked is not None else self.validate(user_props(news))
        markers = markers_of(user_props(news))
        failures = self.regions_named(self.relax(failures, values, markers), news)
        if ADOPT_ID in markers and not isinstance(markers[ADOPT_ID], str) and not contains_unknown(markers[ADOPT_ID]):
            failures.append(Failure(ADOPT_ID, f"must be the id of the object to adopt (got {markers[ADOPT_ID]!r})"))
        profile = profile_of(news)
        if news.get(PROFILE) is not None and profile is None and not contains_unknown(news.get(PROFILE)):
            failures.append(Failure(PROFILE, f"must be the name of a connection profile (got {news[PROFILE]!r})"))
        failures += placeholder_failures(self.schema, user_props(news))
        if not failures:
            failures = settings_failures(profile)
        if not failures:
            failures = self.extra_failures({**values, **self.connection_inputs(news)})
        olds = user_props(_olds)
        plan = plan_diff(self.schema, olds, values) if olds and not failures else None
        if not failures:
            # The command's one token check; a resource about to change is checked even when the check is skipped.
            will_change = not olds or bool(plan and plan.changes) or profile_of(olds) != profile
            failures = connection_failures(profile, will_change=will_change)
        if adopting(markers) and not failures:
            if plan is not None and (plan.replaces or profile_of(olds) != profile):
                REPLACEMENTS.note("check", user_props(news))  # the engine checks the replacement next, as new
            elif not olds and REPLACEMENTS.take("check", user_props(news)):
                REPLACEMENTS.note("create", {**values, **self.connection_inputs(news), **markers})  # that one: create
        inputs = {**values, **markers, **self.connection_inputs(news)}
        return CheckResult(inputs, [check_failure(self.schema, f) for f in failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        plan = plan_diff(self.schema, user_props(olds), user_props(news))
        if profile_of(olds) != profile_of(news):  # another account: the object cannot move there in place
            plan.changes.append(PROFILE)
            plan.replaces.append(PROFILE)
        return DiffResult(changes=bool(plan.changes), replaces=plan.replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        values = self.canonical(props)
        markers = markers_of(user_props(props))
        if adopting(markers) and not REPLACEMENTS.take("create", {**values, **markers}):
            adopted = self.adopt(values, markers)
            assert adopted.outs is not None  # adopt() answers with the object's outputs
            return CreateResult(adopted.id, self.recorded(adopted.outs, values, props))
        collection = self.collection(values)
        with self.api_errors(values):
            item = self.api(values).create(
                collection,
                self.body(values),
                lambda candidate: self.natural_key(values, candidate),
                secrets=self.secrets_of(values),
            )
        id_ = rr_client.item_id(item, rr_client.plural_of(collection))
        if not id_:
            raise ApiError("POST", collection, 201, "UNEXPECTED_RESPONSE", "the created item carries no id")
        return CreateResult(id_, self.recorded(self.outputs(id_, values, item), values, props))

    def adopt(self, values: dict[str, Any], markers: dict[str, Any]) -> CreateResult:
        """Take over an existing object, then apply the declared values to it (only what differs; a declared
        secret only with `rotate_on_adopt`)."""
        collection = self.collection(values)
        plural = rr_client.plural_of(collection)
        with self.api_errors(values):
            client = self.api(values)
            items = client.list(collection, rr_client.listing_params(collection))
            listed_while = client.claims.unanswered(collection)

        def id_of(item: dict[str, Any]) -> Optional[str]:
            return rr_client.item_id(item, plural)

        by_name = not markers.get(ADOPT_ID)
        managed = BACKEND_STACKS.managed() if by_name else None  # by name: never another stack's
        made_here = client.claims.made_by_this_process(collection, listed_while) if by_name else frozenset()

        def choose(taken: set[str]) -> str:
            item = item_to_adopt(
                self.kind, self.parent_text(values), items, id_of, markers,
                lambda candidate: self.natural_key(values, candidate), self.natural_key_text(values),
                taken | made_here, managed,
            )  # fmt: skip
            return str(id_of(item))

        id_ = ADOPTED.claim(self.word, choose)
        item = next(i for i in items if id_of(i) == id_)
        conflicts = self.adopt_conflicts(values, item)
        if conflicts:
            raise AdoptionError(
                f"cannot adopt {self.word} {id_!r}: " + "; ".join(conflicts) + " (it cannot change in place: "
                "declare the live value, or remove the adoption marker to create a new object)"
            )
        live = {**normalize(self.schema, from_wire(self.schema, item)), **{k: values.get(k) for k in self.path_names()}}
        specs = input_fields(self.schema)
        plan = plan_diff(self.schema, live, values)
        changes = [n for n in plan.changes if not specs[n].secret or markers.get(ROTATE_ON_ADOPT) is True]
        if changes and self.updatable:
            body = clear_removed(self.body(values, only=set(changes)), changes, values, specs)
            with self.api_errors(values):
                item = self.api(values).update(collection, id_, body, secrets=self.secrets_of(values))
        return CreateResult(id_, self.outputs(id_, values, item))

    def path_names(self) -> list[str]:
        return [n for n, spec in fields(self.schema).items() if spec.path]

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        values = self.canonical(news)
        plan = plan_diff(self.schema, user_props(olds), values)
        specs = input_fields(self.schema)
        send = {n for n, s in specs.items() if not s.immutable and not s.secret and n in values}
        send |= {n for n in plan.changes if specs[n].secret}  # a changed secret rotates in place
        body = clear_removed(self.body(values, only=send), plan.changes, values, specs)
        with self.api_errors(values):
            item = self.api(values).update(self.collection(values), id_, body, secrets=self.secrets_of(values))
        # Every output, not only the changed ones (#7809).
        return UpdateResult(self.recorded(self.outputs(id_, values, item), values, news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        values = user_props(props)
        lookup = self.is_lookup(values)
        paths = self.path_names()
        if ("client_id" in paths and "client_id" not in values) or any(contains_unknown(values.get(n)) for n in paths):
            # A lookup (`.get`) whose parent is not known yet in a preview: nothing can be read; keep what is known.
            return ReadResult(id_, values, values)
        with self.api_errors(values):
            api = self.api(values)
            if not lookup:  # a recorded object (refresh): its children are read next
                api.prefetch(self.children_to_read(id_))
            item = api.find(self.collection(values), id_)
        if item is None:
            if lookup:  # nothing to drop from the state: the program names an object that is not there
                raise LookupMissing(self.missing_text(id_, values))
            return ReadResult("", {})  # gone: the engine drops it from the state, the next `up` recreates it
        outs = self.outputs(id_, values, item)
        outs = self.after_read(values, outs)
        if not lookup:  # a refresh: what the recorded outputs carried for the inputs goes on (see `recorded`)
            outs.update({k: values[k] for k in (*self.input_markers, UNDECLARED) if values.get(k) is not None})
        return ReadResult(id_, outs, self.inputs_from(outs))

    def is_lookup(self, values: dict[str, Any]) -> bool:
        """Whether `read` serves a lookup (`Target.get(...)`: the program gives only where the object lives and the
        connection profile) rather than a refresh (the recorded outputs, which always hold the object's fields)."""
        return all(k in self.path_names() or k == PROFILE for k in values)

    def missing_text(self, id_: str, values: dict[str, Any]) -> str:
        """Why a lookup failed, in one line: the kind, the id, where it was looked for (like pulumi-aws's `get`)."""
        profile = profile_of(values)
        through = f" with connection profile {profile!r}" if profile else ""
        return (f"{self.kind.name}.get: no {self.word} {id_!r} in {self.parent_text(values)}{through}: "
                f"pass the id of an existing {self.word} (a lookup only reads; it never creates one)")

    def after_read(self, previous: dict[str, Any], outs: dict[str, Any]) -> dict[str, Any]:
        return outs

    def children_to_read(self, id_: str) -> list[str]:
        """Collections a refresh reads after this object's read (listed ahead, in the background)."""
        return []

    def children_of(self, values: dict[str, Any], id_: str) -> list[str]:
        """The collections the API deletes with this object (its rules; a client's credentials, targets, proxies)."""
        if self.kind.rule_parent_argument is None:
            return []
        return [rr_client.rules_collection(values["client_id"], self.kind.plural, id_)]

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        values = user_props(props)
        with self.api_errors(values):
            api = self.api(values)
            self.refuse_cascade(api, values, id_)
            api.delete(self.collection(values), id_, self.delete_body(values))  # already gone is fine

    def refuse_cascade(self, api: rr_client.RequestRocketClient, values: dict[str, Any], id_: str) -> None:
        """Refuse a delete that would take objects with it: the engine deletes this stack's own objects under this
        one first, so whatever is still there belongs to another stack, or to nobody this stack can prove."""
        below: list[str] = []
        for children in self.children_of(values, id_):
            plural = rr_client.plural_of(children)
            try:
                listed = api.list(children, rr_client.listing_params(children))
            except NotFound:
                continue  # the object is gone already, and with it whatever was under it
            below += [f"{kinds.by_plural(plural).word if kinds.by_plural(plural) else plural} "  # type: ignore[union-attr]
                      f"{rr_client.item_id(item, plural)}" for item in listed]  # fmt: skip
        if below:
            shown = ", ".join(below[:5]) + (f" and {len(below) - 5} more" if len(below) > 5 else "")
            raise ObjectsBelow(
                f"cannot delete {self.word} {id_!r}: the API would delete with it {len(below)} object(s) under it that "
                f"this stack does not manage ({shown}); delete or move them first, or let this stack forget the "
                f"{self.word} without deleting it (`pulumi state delete <its urn>`)"
            )

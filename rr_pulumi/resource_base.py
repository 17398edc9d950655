"""What every public resource class shares (the classes themselves are generated into `rr_pulumi/resources.py`).

Declaring a resource binds its arguments (a user's Python mistake becomes one line naming the valid arguments),
resolves references to declared resources (`client_id=org` as well as `client_id=org.id`), refuses at preview what
the program already knows to be wrong (a proxy credential where a target one is needed, a region mismatch), turns
typed nested values into plain dicts, adds the adoption markers and the connection profile, and registers the
dynamic resource. `get` references an existing object by id instead (the engine then calls the provider's `read`).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Optional, TypeVar

import pulumi
from pulumi import dynamic
from typing_extensions import get_overloads

from rr_pulumi import rollout
from rr_pulumi.api.errors import RequestRocketError
from rr_pulumi.schema.kinds import TYPE_TOKEN_PREFIX, Kind, by_name
from rr_pulumi.provider.adopt import ADOPT, ADOPT_ID
from rr_pulumi.schema import FieldSpec, fields, schema_of
from rr_pulumi.schema.public import IMPLIED_BY, resource_api
from rr_pulumi.schema.rule import parent_failures

MODULE = TYPE_TOKEN_PREFIX.removeprefix("pulumi-python:dynamic/").rstrip(":")
PROFILE = "profile"  # the connection profile input (a name in requestrocket:profiles, never a token)
ROTATE_ON_ADOPT = "rotate_on_adopt"

T = TypeVar("T")


class ProgramError(RequestRocketError, pulumi.RunError):
    """A mistake in the program, found before anything is sent; Pulumi prints a RunError as one line."""


class AdoptionConflict(ProgramError, ValueError):
    """Two resources of one program would manage the same existing object."""


# ------------------------------------------------------------------------------------------------------------------
# A user's Python mistakes: unknown or missing arguments


def binding_problem(label: str, signature: inspect.Signature, args: tuple, kwargs: dict[str, Any]) -> str:
    """Why a call does not fit the signature, in one line with the valid arguments and the closest match."""
    params = [p for p in signature.parameters.values() if p.name != "self"]  # `args` excludes self too
    names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [k for k in kwargs if k not in names]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, names, n=1)
            hints.append(f"{name} (did you mean {close[0]}?)" if close else name)
        return f"{label}: unknown argument {', '.join(hints)}; valid arguments: {', '.join(names)}"
    positional = [p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD]
    given = set(kwargs) | set(positional[: len(args)])
    missing = [p.name for p in params if p.default is p.empty and p.name in names and p.name not in given]
    if missing:
        return f"{label}: missing required argument {', '.join(missing)}; valid arguments: {', '.join(names)}"
    at_most = f"takes at most {len(positional)} positional arguments ({', '.join(positional)})"
    return f"{label}: {at_most}; pass the rest by keyword"


def checked_arguments(cls: type[T]) -> type[T]:
    """Wrap `cls.__init__` so a call that does not fit its signature raises a one-line ProgramError.

    The docstring stays the original's. The signature too, except that a resource shows its keyword form (required
    arguments without a default) rather than the implementation's, where every argument is optional so that an
    *Args object can stand in for them: `help()` and `inspect.signature` show what a type checker accepts.
    """
    named = issubclass(cls, RequestRocketResource)  # the first argument is the resource's name
    init = cls.__init__
    cls.__init__ = _checked(init, cls.__name__, named, skip_self=True)  # type: ignore[method-assign]
    keyword_form = _keyword_form(init)
    if keyword_form is not None:
        cls.__init__.__signature__ = keyword_form  # type: ignore[attr-defined]
    if "get" in cls.__dict__:  # a resource's lookup
        cls.get = staticmethod(_checked(cls.__dict__["get"].__func__, f"{cls.__name__}.get", True))  # type: ignore
    return cls


def _keyword_form(init: Callable[..., Any]) -> Optional[inspect.Signature]:
    """The signature of the overload of `init` that takes keyword arguments (its `args` is None), if it has one."""
    for form in get_overloads(init):
        signature = inspect.signature(form)
        args = signature.parameters.get("args")
        if args is not None and args.annotation in (None, "None"):
            return signature
    return None


def _checked(fn: Callable[..., Any], name: str, named: bool, skip_self: bool = False) -> Callable[..., Any]:
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            signature.bind(*args, **kwargs)
        except TypeError:
            given = args[1:] if skip_self else args
            label = name + (f" {given[0]!r}" if named and given and isinstance(given[0], str) else "")
            raise ProgramError(binding_problem(label, signature, given, kwargs)) from None
        return fn(*args, **kwargs)

    return call


# ------------------------------------------------------------------------------------------------------------------
# Typed nested values (secrets, rule checks): dataclasses generated from the schema's shapes


@dataclass
class NestedValue:
    """A typed nested value; it reaches the provider as a dict of its set fields."""

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return {k: v for k, v in out.items() if v is not None}


@dataclass
class SecretValue(NestedValue):
    """A credential secret of one auth type; `extra` keys are kept, as the API keeps them."""

    auth_type: ClassVar[str]
    extra: Optional[Mapping[str, pulumi.Input[Any]]] = field(default=None, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), **dict(self.extra or {})}


def as_dicts(value: Any) -> Any:
    """Typed nested values as dicts, at any depth of lists; everything else unchanged."""
    if isinstance(value, NestedValue):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [as_dicts(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------------------------------
# References and the checks the program can make


@dataclass(frozen=True)
class Declared:
    """A resource of this program as a reference sees it: its kind, name and literal input values."""

    kind: Kind
    name: str
    values: Mapping[str, Any]


def literal_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if isinstance(v, (str, int, float, bool))}


def reference_problems(label: str, specs: Mapping[str, FieldSpec], values: Mapping[str, Any],
                       referenced: Mapping[str, Declared]) -> list[str]:
    """What is wrong with the declared resources an argument refers to, each with its fix."""
    problems = []
    for argument, other in referenced.items():
        spec = specs[argument]
        what = f"{argument} is {other.kind.name} {other.name!r}"
        for name, wanted in spec.requires:
            got = other.values.get(name)
            if isinstance(got, str) and got != wanted:
                problems.append(
                    f"{label}: {what} with {name}={got!r}, but {argument} needs {name}={wanted!r}: "
                    f"pass a {other.kind.name} declared with {name}={wanted!r}"
                )
        if spec.same_region:
            mine, theirs = values.get(spec.same_region), other.values.get(other.kind.region_field or "")
            if isinstance(mine, str) and isinstance(theirs, str) and mine != theirs:
                problems.append(
                    f"{label}: {what} in region {theirs!r}, but {spec.same_region} is {mine!r}: "
                    "declare them in the same region"
                )
    return problems


# Every resource this program run declared or looked up, by the identity of its `id` Output, so `org.id` is
# recognised as well as `org` itself.
_by_id_output: dict[int, "RequestRocketResource"] = {}


def _referenced(value: Any) -> Optional["RequestRocketResource"]:
    if isinstance(value, RequestRocketResource):
        return value
    return _by_id_output.get(id(value)) if isinstance(value, pulumi.Output) else None


def resolve_references(label: str, specs: Mapping[str, FieldSpec], values: dict[str, Any]) -> dict[str, Declared]:
    """Replace each referenced resource by its id (in place); return what they are, for the checks."""
    found: dict[str, Declared] = {}
    for name, spec in specs.items():
        if not spec.references or name not in values:
            continue
        resource = _referenced(values[name])
        if resource is None:
            continue  # an id: a literal, or an Output of something else
        if resource.kind.name != spec.references:
            raise ProgramError(
                f"{label}: {name} takes a {spec.references} (or its id), but got {resource.kind.name} "
                f"{resource.rr_name!r}: pass a {spec.references}"
            )
        values[name] = resource.id
        found[name] = Declared(resource.kind, resource.rr_name, resource.rr_declared)
    return found


# ------------------------------------------------------------------------------------------------------------------
# Adoption markers, with the program-side guard against two resources adopting one object


# Natural key or id -> the resource that declared it, for this program run (one process per `pulumi up`).
_declared: dict[tuple, tuple[str, bool]] = {}


def _key_part(value: Any) -> Any:
    """A literal stays itself; an Output (e.g. `org.id`) is told apart by identity, the best a program can do."""
    return value if isinstance(value, (str, int, float, bool, type(None))) else ("output", id(value))


def _adoption(kind: str, resource_name: str, adopt: bool, adopt_id: Optional[str], key: Optional[tuple]) -> dict:
    """The adoption markers for a resource's inputs, after checking no other resource manages the same object."""
    if adopt and adopt_id:
        raise AdoptionConflict(f"{kind} {resource_name!r}: set adopt=True or adopt_id, not both")
    adopting = bool(adopt or adopt_id)
    entries = [(kind, "id", adopt_id)] if adopt_id else []
    if key is not None:
        entries.append((kind, "key", *key))
    for entry in entries:
        other = _declared.get(entry)
        if other is not None and (adopting or other[1]):
            what = f"id {adopt_id!r}" if entry[1] == "id" else "natural key " + ", ".join(
                repr(p) for p in key if p is not None and not isinstance(p, tuple)  # type: ignore[union-attr]
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
    _by_id_output.clear()
    rollout.forget_rules()


# ------------------------------------------------------------------------------------------------------------------
# Kind-specific shaping of the values


def _typed_secret_values(label: str, specs: Mapping[str, FieldSpec], values: dict[str, Any]) -> dict[str, Any]:
    """A typed secret implies the argument it stands for (a credential's auth type); a secret always travels as a
    Pulumi secret."""
    for implied, secret_name in IMPLIED_BY.items():
        secret, declared = values.get(secret_name), values.get(implied)
        if secret_name not in specs or not isinstance(secret, SecretValue):
            continue
        if isinstance(declared, str) and declared != secret.auth_type:
            raise ProgramError(
                f"{label}: {implied} {declared!r} does not match {secret_name} "
                f"{type(secret).__name__} (auth type {secret.auth_type!r}): leave {implied} out, "
                "or pass the secret class of that auth type"
            )
        values[implied] = secret.auth_type
    for name, spec in specs.items():
        if spec.secret and values.get(name) is not None:
            values[name] = pulumi.Output.secret(as_dicts(values[name]))
    return values


def shaped_values(kind: Kind, label: str, specs: Mapping[str, FieldSpec], values: dict[str, Any]) -> dict[str, Any]:
    """The values as the provider takes them, after what the program alone can tell is wrong (a rule's parents)."""
    if kind.parent_arguments:
        failures = parent_failures({name for name, value in values.items() if value is not None})
        if failures:
            raise ProgramError(f"{label}: {failures[0]}")
    return _typed_secret_values(label, specs, values)


# ------------------------------------------------------------------------------------------------------------------
# The base class


class RequestRocketResource(dynamic.Resource):
    """Base of the generated resource classes: `kind` says which of the five kinds it is."""

    kind: ClassVar[Kind]
    provider_class: ClassVar[type]
    args_class: ClassVar[type]
    rr_name: str
    rr_declared: Mapping[str, Any]

    def __init_subclass__(cls, kind_name: Optional[str] = None, **kwargs: Any) -> None:
        if kind_name is None:
            super().__init_subclass__(**kwargs)
            return
        kind = by_name(kind_name)
        assert kind is not None, kind_name
        super().__init_subclass__(module=MODULE, name=kind.name)
        cls.kind = kind

    @classmethod
    def _specs(cls) -> dict[str, FieldSpec]:
        return fields(cls.kind.schema_name)

    def _declare(
        self,
        resource_name: str,
        args: Any,
        opts: Optional[pulumi.ResourceOptions],
        given: dict[str, Any],
        *,
        adopt: bool = False,
        adopt_id: Optional[str] = None,
        profile: Optional[str] = None,
        rotate_on_adopt: bool = False,
        activate_after_rules: bool = True,
    ) -> None:
        """Check and shape the arguments, then register the resource (see the module docstring)."""
        kind, specs = self.kind, self._specs()
        label = f"{kind.name} {resource_name!r}"
        values = self._bind(label, args, given)
        referenced = resolve_references(label, specs, values)
        problems = reference_problems(label, specs, values, referenced)
        if problems:
            raise ProgramError("; ".join(problems))
        values = shaped_values(kind, label, specs, values)
        values = {k: as_dicts(v) for k, v in values.items()}
        # One name may exist in two accounts: the profile is part of the natural key.
        key = None if kind.name_field is None else (profile, *(
            _key_part(values.get(n)) for n in ("client_id", kind.name_field) if n in specs and not specs[n].computed
        ))
        # Identical rules are interchangeable (the provider hands each adopter a different one): no key for rules.
        markers = _adoption(kind.word, resource_name, adopt, adopt_id, key)
        adopting = bool(markers)
        if rotate_on_adopt:
            if not adopting:
                raise ProgramError(f"{label}: rotate_on_adopt=True applies only with adopt=True or adopt_id: remove it")
            secrets = [name for name, spec in specs.items() if spec.secret]
            if not any(values.get(name) is not None for name in secrets):
                needed = " or ".join(secrets) or "a secret argument"
                raise ProgramError(f"{label}: rotate_on_adopt=True needs {needed} (the secret to rotate to)")
            markers[ROTATE_ON_ADOPT] = True
        if kind.active_field:  # a proxy: it serves requests, so it waits for its rules
            markers.update(rollout.marker(activate_after_rules, adopting))  # staged unless opted out or adopted
        inputs = {**values, **markers}
        self._register(resource_name, opts, inputs, profile, literal_values(values))
        if kind.active_field:
            # turned on after the program's rules
            rollout.activate_after_rules(self, resource_name, inputs, kind.active_field)
        elif kind.parent_arguments:  # a rule
            rollout.track_rule(self)  # the program's proxy activations wait for this rule
        if rotate_on_adopt and pulumi.runtime.is_dry_run():
            pulumi.log.warn(
                f"{kind.name} {resource_name!r} adopts an existing credential; "
                "`pulumi up` will rotate its secret to the declared one",
                resource=self,
            )

    def _bind(self, label: str, args: Any, given: dict[str, Any]) -> dict[str, Any]:
        """The declared values by Python name, from the *Args object or the keyword arguments (not both)."""
        passed = {k: v for k, v in given.items() if v is not None}
        if args is not None:
            if passed:
                raise ProgramError(
                    f"{label}: pass either a {self.args_class.__name__} or keyword arguments "
                    f"({', '.join(passed)}), not both"
                )
            if not isinstance(args, self.args_class):
                raise ProgramError(f"{label}: args must be a {self.args_class.__name__} (got {type(args).__name__})")
            declared = {f.name: getattr(args, f.name) for f in dataclasses.fields(args)}  # type: ignore[arg-type]
            return {k: v for k, v in declared.items() if v is not None}
        arguments = resource_api(self.kind, schema_of(self.kind)).arguments
        missing = [a.name for a in arguments if a.required and a.name not in passed]
        if missing:
            raise ProgramError(
                f"{label}: missing required argument {', '.join(missing)}; "
                f"valid arguments: {', '.join(given)}"
            )
        return passed

    def _register(
        self,
        resource_name: str,
        opts: Optional[pulumi.ResourceOptions],
        values: dict[str, Any],
        profile: Optional[str],
        declared: Mapping[str, Any],
    ) -> None:
        if profile is not None:
            if not isinstance(profile, str) or not profile:
                raise ProgramError(
                    f"{self.kind.name} {resource_name!r}: profile must be the name of a profile in "
                    f"requestrocket:profiles (got {profile!r})"
                )
            values[PROFILE] = profile
        if opts is not None and opts.import_:
            # The engine would call the dynamic provider's read without its `__provider` input and fail obscurely.
            raise ProgramError(
                f"{self.kind.name} {resource_name!r}: ResourceOptions(import_=...) cannot work with dynamic providers: "
                f"use adopt_id={opts.import_!r} to take the object over, or {self.kind.name}.get(...) to read it"
            )
        specs = self._specs()
        # Every output name is a property, so the engine exposes it (unset ones as None).
        props: dict[str, Any] = {name: None for name in specs}
        props.update(values)
        secrets = [n for n, s in specs.items() if s.secret] + [f"{n}_hash" for n, s in specs.items() if s.secret]
        if secrets:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=secrets))
        self.rr_name, self.rr_declared = resource_name, declared
        dynamic.Resource.__init__(self, self.provider_class(), resource_name, props, opts)
        _by_id_output[id(self.id)] = self

    @classmethod
    def _lookup(
        cls: type[T],
        resource_name: str,
        id: pulumi.Input[str],
        opts: Optional[pulumi.ResourceOptions],
        given: dict[str, Any],
        profile: Optional[str],
    ) -> T:
        """A read-only resource for an existing object: the engine reads it with the provider and never writes."""
        self: Any = cls.__new__(cls)
        label = f"{self.kind.name} {resource_name!r} (get)"
        values = {k: v for k, v in given.items() if v is not None}
        specs = self._specs()
        missing = [n for n in given if specs[n].required and n not in values]
        if missing:
            raise ProgramError(f"{label}: missing required argument {', '.join(missing)}")
        resolve_references(label, specs, values)
        values = shaped_values(self.kind, label, specs, values)
        if id is None or (isinstance(id, str) and not id):
            raise ProgramError(f"{label}: id must be the id of an existing {self.kind.word}")
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        self._register(resource_name, opts, values, profile, {})
        self._known_id(id)
        return self

    def _known_id(self, given: pulumi.Input[str]) -> None:
        """A lookup's `id` is the id it was given, known in a preview whenever that id is.

        The Python SDK from 3.271.0 resolves a read's id from the engine's ReadResourceResponse.id and, in a
        preview, takes an empty one for unknown; engines older than that field (ours is v3.260) never fill it in.
        A reference to a lookup (`client_id=org`) was then unknown in every preview, and everything declared under
        it planned for replacement. The read either finds the object under exactly this id or fails, so the id is the
        given one; it still depends on the read (through the URN), so a failed read fails the resources that use it.
        """
        del _by_id_output[id(self.id)]
        self.__dict__["id"] = pulumi.Output.all(self.urn, given).apply(lambda both: both[1])
        _by_id_output[id(self.id)] = self

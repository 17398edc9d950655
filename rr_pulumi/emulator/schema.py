"""The wire rules of the Core API contract (section 0) as the emulator enforces them.

The facts (field names, required and immutable fields, enums, bounds, regions, secret shapes, rule fields, priorities,
regex flags) are read from `rr_pulumi.schema`, the project's one declaration of the contract, and from
`rr_pulumi.schema.kinds`; this module only turns them into wire-level checks with the API's error texts. Request
validation (backend.py) and the OpenAPI document (openapi.py) both use these declarations. Pure: no storage, no HTTP.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic.fields import FieldInfo

from rr_pulumi.schema import kinds
from rr_pulumi.api.errors import RequestRocketError
from rr_pulumi.schema import ClientSchema, RuleSchema, common, schema_of, fields as schema_fields
from rr_pulumi.schema import credential as credential_schema
from rr_pulumi.schema import proxy as proxy_schema
from rr_pulumi.schema import rule as rule_schema
from rr_pulumi.emulator.patterns import RULE_PATTERNS_MAX_CHARS, compile_error

DEFAULT_REGIONS = common.DEFAULT_REGIONS
NAME_MAX = common.NAME_MAX
TEXT_MAX = common.TEXT_MAX
NOTES_MAX = rule_schema.NOTES_MAX
PATTERN_MAX = common.PATTERN_MAX
CHECKS_MAX = rule_schema.CHECKS_MAX
PRIORITY_MIN, PRIORITY_MAX = rule_schema.PRIORITY_MIN, rule_schema.PRIORITY_MAX
HTTP_METHODS: tuple[str, ...] = get_args(common.HttpMethod)
EFFECTS: tuple[str, ...] = get_args(common.RuleEffect)
PRESENCES: tuple[str, ...] = get_args(common.Presence)
# The schema's flag letters mean Python's re flags of the same (upper-case) name: i, m, s, x.
REGEX_FLAGS = {letter: getattr(re, letter.upper()) for letter in rule_schema.REGEX_FLAGS}
PROXY_MAX_PER_MINUTE = proxy_schema.MAX_REQUESTS_PER_MINUTE
PROXY_MAX_PER_DAY = proxy_schema.MAX_REQUESTS_PER_DAY
ALIAS_RE = common.ALIAS_PATTERN

CREDENTIAL_TYPES: tuple[str, ...] = get_args(credential_schema.CredentialType)
AUTH_TYPES_BY_CREDENTIAL_TYPE = credential_schema.ALLOWED_AUTH_TYPES
AUTH_TYPES: tuple[str, ...] = get_args(credential_schema.AuthType)
OAUTH2_GRANT_TYPES: tuple[str, ...] = get_args(credential_schema.GrantType)
# Grants that need an interactive user authorisation: the credential stays temporary until it is authorised.
TEMPORARY_GRANT_TYPES = ("authorization_code", "pkce")


class Invalid(RequestRocketError):
    """A 400: `message` starts with the offending field's name."""

    def __init__(self, message: str, code: str = "VALIDATION_ERROR"):
        super().__init__(message)
        self.message = message
        self.code = code


def one_of(values) -> str:
    return ", ".join(str(v) for v in values)


# -- value checks (each returns the normalised value or raises Invalid) ---------------------------------------------

def check_string(name: str, value: Any, min_len: int = 1, max_len: int = TEXT_MAX) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{name}: must be a string")
    if not min_len <= len(value) <= max_len:
        raise Invalid(f"{name}: must be {min_len}-{max_len} characters long")
    return value


URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
HOST = re.compile(r"^[A-Za-z0-9\-._~%]+$|^[0-9A-Fa-f:.]+$")


def check_url(name: str, value: Any) -> str:
    """An absolute http(s) URL with a host, in plain RFC 3986 characters."""
    check_string(name, value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not URI_CHARS.match(value) \
            or not parts.hostname or not HOST.match(parts.hostname):
        raise Invalid(f"{name}: must be an absolute http or https URL")
    return value


def check_enum(name: str, value: Any, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise Invalid(f"{name}: must be one of {one_of(allowed)}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{name}: must be a boolean (true or false)")
    return value


def check_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{name}: must be an integer from {low} to {high}")
    if not low <= value <= high:
        raise Invalid(f"{name}: must be an integer from {low} to {high}")
    return value


Compiled = Callable[[str, int], Optional[str]]   # (pattern, flags) → why it is refused, or None


def check_regex(name: str, value: Any, flags: int = 0, compiled: Compiled = compile_error) -> str:
    check_string(name, value, 1, PATTERN_MAX)
    reason = compiled(value, flags)
    if reason is not None:
        raise Invalid(f"{name}: {reason}")
    return value


def check_object(name: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise Invalid(f"{name}: must be a JSON object")
    return value


def check_unknown(name: str, body: dict, allowed) -> None:
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        prefix = f"{name}: " if name else ""
        raise Invalid(f"{prefix}unknown field(s) {one_of(unknown)}; allowed fields: {one_of(allowed)}")


# -- reading the shared schema ---------------------------------------------------------------------------------------

# The schema's annotated string types, by the validator that defines them, and the wire check each gets here.
_VALIDATED_TYPES = {get_args(t)[1].func: name for t, name in (
    (common.HttpUrl, "url"), (common.UrlPath, "path"), (common.Alias, "alias"), (common.Region, "region"),
    (common.Regex, "regex"),
)}


def _plain(annotation: Any) -> tuple[Any, list]:
    """(the type inside Optional[...]/Annotated[...], the Annotated metadata found on the way)."""
    metadata: list = []
    while True:
        if get_origin(annotation) is Union:
            inner = [a for a in get_args(annotation) if a is not type(None)]
            if len(inner) != 1:
                return Union[tuple(inner)], metadata
            annotation = inner[0]
        elif hasattr(annotation, "__metadata__"):
            metadata += list(annotation.__metadata__)
            annotation = annotation.__origin__
        else:
            return annotation, metadata


def _constraint(info: FieldInfo, name: str) -> Any:
    return next((getattr(m, name) for m in info.metadata if getattr(m, name, None) is not None), None)


def wire_type(info: FieldInfo) -> str:
    """How the emulator checks a schema field on the wire."""
    base, metadata = _plain(info.annotation)
    for meta in (*metadata, *info.metadata):
        if getattr(meta, "func", None) in _VALIDATED_TYPES:
            return _VALIDATED_TYPES[meta.func]
    if get_origin(base) is Literal:
        return "enum"
    if get_origin(base) is Union:
        return "text_or_object"
    if get_origin(base) is dict or base is dict:
        return "object"
    return {bool: "boolean", int: "integer", str: "string"}.get(base, "object")


# -- resource fields ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One writable wire field of a resource."""

    name: str
    type: str                       # string | url | enum | boolean | integer | object | region | alias | path
    required: bool = False          # required on create
    immutable: bool = False         # PUT may repeat the current value but not change it
    enum: tuple = ()
    low: int = 1                    # length bounds for strings, value bounds for integers
    high: int = TEXT_MAX
    default: Any = None             # stored when absent (or null) on create / null on update
    write_only: bool = False
    description: str = ""

    def check(self, value: Any, regions) -> Any:
        n = self.name
        if self.type == "string":
            return check_string(n, value, self.low, self.high)
        if self.type == "url":
            return check_url(n, value)
        if self.type == "enum":
            return check_enum(n, value, self.enum)
        if self.type == "region":
            return check_enum(n, value, regions)
        if self.type == "boolean":
            return check_bool(n, value)
        if self.type == "integer":
            return check_int(n, value, self.low, self.high)
        if self.type == "object":
            return check_object(n, value)
        if self.type == "alias":
            if not isinstance(value, str) or not ALIAS_RE.match(value):
                raise Invalid(f"{n}: must be 1-100 characters from A-Z, a-z, 0-9, '-' and '_'")
            return value
        if self.type == "path":
            check_string(n, value, self.low, self.high)
            if not value.startswith("/"):
                raise Invalid(f"{n}: must be a path starting with '/'")
            return value
        raise AssertionError(self.type)


def wire_field(info: FieldInfo, spec: Any) -> Field:
    """The emulator's view of one schema field: its wire name, markers, bounds and allowed values."""
    kind = wire_type(info)
    integer = kind == "integer"
    low = _constraint(info, "ge" if integer else "min_length")
    high = _constraint(info, "le" if integer else "max_length")
    high = TEXT_MAX if high is None else high
    # A server-chosen default (a proxy's rate limits) is the client's default limit: the platform maximum here.
    default = high if spec.server_default else spec.default
    return Field(spec.wire, kind, required=spec.required, immutable=spec.immutable,
                 enum=get_args(_plain(info.annotation)[0]) if kind == "enum" else (), low=1 if low is None else low,
                 high=high, default=default, write_only=spec.secret, description=spec.description)


def wire_fields(model: Any) -> tuple[Field, ...]:
    """Every field a request body may carry: the schema's fields with a wire name, not computed, not in the path."""
    specs = schema_fields(model)
    return tuple(wire_field(info, specs[name]) for name, info in model.model_fields.items()
                 if specs[name].wire and not specs[name].computed and not specs[name].path)


OWNER_FIELDS = ("sKey", "pKey", "clientId", "userId", "parentId")


@dataclass(frozen=True)
class Resource:
    """A client-owned resource family (credentials, targets, proxies): its kind and its writable wire fields."""

    kind: kinds.Kind
    fields: tuple[Field, ...]
    extra_server_fields: tuple[str, ...] = ()   # set by the server, beyond the owner fields and the schema's outputs

    @property
    def plural(self) -> str:
        return self.kind.plural          # credentials: the path segment and the envelope key

    @property
    def singular(self) -> str:
        return self.kind.word            # credential: the wire-name prefix and the stored kind

    @property
    def id_param(self) -> str:
        return self.kind.id_field        # credentialId: the path parameter

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def server_fields(self) -> tuple[str, ...]:
        computed = tuple(s.wire for s in schema_fields(self.kind.schema_name).values() if s.computed and s.wire)
        return (*OWNER_FIELDS, *self.extra_server_fields, *computed)


CREDENTIALS = Resource(kinds.CREDENTIAL, wire_fields(schema_of(kinds.CREDENTIAL)), ("credentialTemporary",))
TARGETS = Resource(kinds.TARGET, wire_fields(schema_of(kinds.TARGET)))
PROXIES = Resource(kinds.PROXY, wire_fields(schema_of(kinds.PROXY)))
RESOURCES = {r.plural: r for r in (CREDENTIALS, TARGETS, PROXIES)}


def _wire(info: FieldInfo) -> str:
    """The wire name of a field the emulator serves: such a field always declares one (`prop(wire, ...)`)."""
    if info.alias is None:
        raise TypeError(f"schema field {info!r} has no wire name")
    return info.alias


def _kind(name: str) -> kinds.Kind:
    kind = kinds.by_name(name)
    if kind is None:
        raise LookupError(f"a proxy reference names the unknown kind {name!r}")
    return kind


# A proxy's references: wire field → (stored kind, required credentialType or None).
PROXY_REFERENCES = {
    _wire(schema_of(kinds.PROXY).model_fields[ref.argument]): (_kind(ref.kind).word, ref.credential_type)
    for ref in kinds.PROXY.references
}

CLIENT_FIELDS = (
    *wire_fields(ClientSchema),
    Field("returnUser", "boolean", description="accepted for compatibility; has no effect"),
)
CLIENT_DELETE_FIELDS = (
    Field("immediatelyDelete", "boolean", default=False,
          description="true removes the client at once; false (default) marks it for deletion"),
)

# -- credential secrets ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SecretKey:
    """One key of a credential secret's shape."""

    name: str
    required: bool
    type: str             # string | url | enum | object (of strings) | text_or_object
    enum: tuple = ()
    low: int = 1          # length bounds of a string; the fewest entries of an object
    high: int = TEXT_MAX


def _secret_key(info: FieldInfo) -> SecretKey:
    kind = wire_type(info)
    low, high = _constraint(info, "min_length"), _constraint(info, "max_length")
    return SecretKey(_wire(info), info.is_required(), kind,
                     get_args(_plain(info.annotation)[0]) if kind == "enum" else (),
                     (0 if kind == "object" else 1) if low is None else low, TEXT_MAX if high is None else high)


SECRET_KEYS: dict[str, tuple[SecretKey, ...]] = {
    auth: tuple(_secret_key(info) for info in shape.model_fields.values())
    for auth, shape in credential_schema.SECRET_SHAPES.items()
}
# auth type → (required keys, optional keys)
SECRET_SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    auth: (tuple(k.name for k in keys if k.required), tuple(k.name for k in keys if not k.required))
    for auth, keys in SECRET_KEYS.items()
}
# jwtVerify's cross-key rule (a validator in the schema): exactly one source of verification keys.
JWT_VERIFY_KEY_SOURCES = ("jwksUri", "sharedSecret")


def check_secret_key(where: str, key: SecretKey, value: Any) -> None:
    if key.type == "object":
        check_object(where, value)
        if len(value) < key.low:
            raise Invalid(f"{where}: must have at least {key.low} entr{'y' if key.low == 1 else 'ies'}")
        for name, item in value.items():
            check_string(f"{where}.{name}", item, 0, TEXT_MAX)
    elif key.type == "text_or_object":
        if not isinstance(value, (str, dict)):
            raise Invalid(f"{where}: must be a string or a JSON object")
    elif key.type == "enum":
        check_enum(where, value, key.enum)
    elif key.type == "url":
        check_url(where, value)
    else:
        check_string(where, value, key.low, key.high)


# Secret keys whose values travel as HTTP header names or values (upstream, or from the caller for headerName).
HEADER_NAME_KEYS = ("headerName",)
HEADER_VALUE_KEYS = ("apiKey", "token", "prefix")
HEADER_MAP_KEYS = ("headers",)
HEADER_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")   # RFC 9110 field-name: a token
HEADER_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")   # CR, LF, NUL and the other controls (HTAB is fine)


def header_name_problem(name: Any) -> Optional[str]:
    if not isinstance(name, str) or not HEADER_TOKEN.fullmatch(name):
        return ("must be an HTTP header name (a token: ASCII letters, digits and !#$%&'*+-.^_`|~; no spaces or "
                "other characters)")
    return None


def header_value_problem(value: Any, starts_only: bool = False) -> Optional[str]:
    """Why `value` cannot travel as (the start of) an HTTP/1.1 header value, or None. Surrounding spaces are not
    part of a header value in HTTP, so a value that has them could not arrive as it is."""
    if not isinstance(value, str) or HEADER_BAD_VALUE.search(value):
        return "must be usable as an HTTP header value: no CR, LF, NUL or other control characters"
    if value[:1] in (" ", "\t") or (not starts_only and value[-1:] in (" ", "\t")):
        return "must be usable as an HTTP header value: no spaces or tabs at its " + \
            ("start" if starts_only else "start or end")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "must be usable as an HTTP header value: Latin-1 characters only (HTTP/1.1 carries no others)"
    return None


def check_secret_headers(name: str, auth_type: str, secret: dict) -> None:
    """The secret's header names and values as HTTP allows them, so the data plane can always send them."""
    if auth_type in ("basicAuth", "oauth2", "jwtVerify", "none"):
        return   # base64-encoded, or sent in a form body, or never sent as a header
    for key in HEADER_NAME_KEYS:
        if isinstance(secret.get(key), str) and header_name_problem(secret[key]):
            raise Invalid(f"{name}.{key}: {header_name_problem(secret[key])}")
    for key in HEADER_VALUE_KEYS:
        problem = header_value_problem(secret[key], key == "prefix") if isinstance(secret.get(key), str) else None
        if problem:
            raise Invalid(f"{name}.{key}: {problem}")
    for key in HEADER_MAP_KEYS:
        for header, value in (secret.get(key) or {}).items() if isinstance(secret.get(key), dict) else ():
            if header_name_problem(header):
                raise Invalid(f"{name}.{key}: {header!r} {header_name_problem(header)}")
            if header_value_problem(value):
                raise Invalid(f"{name}.{key}.{header}: {header_value_problem(value)}")


def check_secret(auth_type: str, secret: Any) -> dict:
    """Validate a credentialSecret against its auth type's shape. Extra keys are kept as sent."""
    name = "credentialSecret"
    if secret is None:
        secret = {}
    check_object(name, secret)
    required, optional = SECRET_SHAPES[auth_type]
    missing = [k for k in required if k not in secret]
    if auth_type == "jwtVerify" and sum(k in secret for k in JWT_VERIFY_KEY_SOURCES) != 1:
        raise Invalid(f"{name}: jwtVerify needs exactly one of {' or '.join(JWT_VERIFY_KEY_SOURCES)}")
    if missing:
        raise Invalid(f"{name}: {auth_type} needs key(s) {one_of(missing)} "
                      f"(required: {one_of(required) or 'none'}; optional: {one_of(optional) or 'none'})")
    for key in SECRET_KEYS[auth_type]:
        if key.name in secret:
            check_secret_key(f"{name}.{key.name}", key, secret[key.name])
    check_secret_headers(name, auth_type, secret)
    return secret


def is_temporary(auth_type: str, secret: dict) -> bool:
    return auth_type == "oauth2" and secret.get("grantType") in TEMPORARY_GRANT_TYPES


def check_auth_type_for(credential_type: str, auth_type: str) -> None:
    allowed = AUTH_TYPES_BY_CREDENTIAL_TYPE[credential_type]
    if auth_type not in allowed:
        raise Invalid(f"credentialAuthType: {auth_type} is not allowed for credentialType {credential_type}; "
                      f"must be one of {one_of(allowed)}")


# -- rules ----------------------------------------------------------------------------------------------------------

RULE_PARENTS = {k.plural: k.word for k in kinds.RULE_PARENTS}   # path segment → stored kind of the parent
_RULE_SPECS = {name: spec for name, spec in schema_fields(RuleSchema).items()
               if spec.wire and not spec.path and not spec.computed}
RULE_FIELDS = tuple(spec.wire for spec in _RULE_SPECS.values())
RULE_REQUIRED = tuple(spec.wire for spec in _RULE_SPECS.values() if spec.required)


@dataclass(frozen=True)
class RuleCheck:
    """A rule's check list (headerChecks, ...): what each entry's subject is and how it is bounded."""

    subject: str          # namePattern | jsonPath | claim
    type: str             # regex | string
    high: int
    description: str


def _rule_check(info: FieldInfo, description: str) -> RuleCheck | None:
    listed, _ = _plain(info.annotation)
    model = next(iter(get_args(listed)), None) if get_origin(listed) is list else None
    if not isinstance(model, type) or not hasattr(model, "model_fields"):
        return None
    subject = next(i for i in model.model_fields.values() if i.alias not in ("valuePattern", "presence"))
    kind = wire_type(subject)
    high = PATTERN_MAX if kind == "regex" else _constraint(subject, "max_length") or TEXT_MAX
    return RuleCheck(_wire(subject), kind, high, description)


RULE_CHECKS: dict[str, RuleCheck] = {
    spec.wire: check for name, spec in _RULE_SPECS.items()
    if spec.wire is not None and (check := _rule_check(RuleSchema.model_fields[name], spec.description)) is not None
}


def regex_flags(value: Any) -> int:
    if value is None:
        return 0
    if not isinstance(value, str) or any(c not in REGEX_FLAGS for c in value) or len(set(value)) != len(value):
        raise Invalid(f"regexFlags: must be a string of distinct flags from {one_of(REGEX_FLAGS)}")
    flags = 0
    for c in value:
        flags |= REGEX_FLAGS[c]
    return flags


def _check_rule_check(where: str, check: RuleCheck, item: Any, flags: int, compiled: Compiled) -> dict:
    check_object(where, item)
    check_unknown(where, item, (check.subject, "valuePattern", "presence"))
    for key in (check.subject, "presence"):
        if key not in item:
            raise Invalid(f"{where}.{key}: is required")
    subject = f"{where}.{check.subject}"
    if check.type == "regex":
        check_regex(subject, item[check.subject], flags, compiled)
    else:
        check_string(subject, item[check.subject], 1, check.high)
    if check.subject == "jsonPath" and not item[check.subject].startswith("$"):
        raise Invalid(f"{subject}: must be a JSONPath starting with '$'")
    if "valuePattern" in item and item["valuePattern"] is not None:
        check_regex(f"{where}.valuePattern", item["valuePattern"], flags, compiled)
    check_enum(f"{where}.presence", item["presence"], PRESENCES)
    return item


def rule_patterns(body: Any) -> list[tuple[str, int]]:
    """Every (pattern, flags) that check_rule would compile, read leniently from a body not validated yet."""
    if not isinstance(body, dict):
        return []
    try:
        flags = regex_flags(body.get("regexFlags"))
    except Invalid:
        return []   # check_rule refuses the flags before it looks at any pattern
    found = [body.get("pathPattern")]
    for key, check in RULE_CHECKS.items():
        items = body.get(key)
        for item in items[:CHECKS_MAX] if isinstance(items, list) else ():
            if isinstance(item, dict):
                found += [item.get(check.subject)] if check.type == "regex" else []
                found.append(item.get("valuePattern"))
    return [(p, flags) for p in found if isinstance(p, str) and 1 <= len(p) <= PATTERN_MAX]


def check_rule(body: dict, compiled: Compiled = compile_error) -> dict:
    """Validate a rule create body; returns every rule field (absent optionals as null, absent lists as []).

    `compiled` judges each pattern: by default here, in the emulator through its compile worker (patterns.py)."""
    check_unknown("", body, RULE_FIELDS)
    for key in RULE_REQUIRED:
        if body.get(key) is None:
            raise Invalid(f"{key}: is required")
    flags = regex_flags(body.get("regexFlags"))
    total = sum(len(p) for p, _ in rule_patterns(body))
    if total > RULE_PATTERNS_MAX_CHARS:
        raise Invalid(f"patterns: the rule's patterns add up to {total} characters; at most "
                      f"{RULE_PATTERNS_MAX_CHARS} are allowed")
    rule = {
        "effect": check_enum("effect", body["effect"], EFFECTS),
        "priority": check_int("priority", body["priority"], PRIORITY_MIN, PRIORITY_MAX),
        "methods": check_methods(body.get("methods")),
    }
    pattern = body.get("pathPattern")
    rule["pathPattern"] = None if pattern is None else check_regex("pathPattern", pattern, flags, compiled)
    presence = body.get("pathPresence")
    rule["pathPresence"] = None if presence is None else check_enum("pathPresence", presence, PRESENCES)
    for key, check in RULE_CHECKS.items():
        items = [] if body.get(key) is None else body[key]
        if not isinstance(items, list) or len(items) > CHECKS_MAX:
            raise Invalid(f"{key}: must be an array of at most {CHECKS_MAX} objects")
        rule[key] = [_check_rule_check(f"{key}[{i}]", check, item, flags, compiled) for i, item in enumerate(items)]
    rule["regexFlags"] = body.get("regexFlags")
    notes = body.get("notes")
    rule["notes"] = None if notes is None else check_string("notes", notes, 0, NOTES_MAX)
    return rule


def check_methods(value: Any) -> list:
    methods = [] if value is None else value
    if not isinstance(methods, list):
        raise Invalid(f"methods: must be an array of {one_of(HTTP_METHODS)}")
    for i, m in enumerate(methods):
        check_enum(f"methods[{i}]", m, HTTP_METHODS)
    if len(set(methods)) != len(methods):
        raise Invalid("methods: must not repeat a method")
    return methods


# -- pagination -----------------------------------------------------------------------------------------------------

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
PAGE_MAX = 999_999_999
# ASCII digits only: str.isdigit() also accepts '²', '①' and '٣', which int() rejects or reads as another number.
ASCII_NUMBER = re.compile(r"[0-9]{1,9}")


def check_page(query: dict[str, str]) -> tuple[int, int]:
    return (query_number(query, "page", 1, 1, PAGE_MAX),
            query_number(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT))


def query_number(query: dict[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = query.get(key)
    if raw is None:
        return default
    if not ASCII_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
        raise Invalid(f"{key}: must be an integer {low}-{high} (ASCII digits)")
    return int(raw)


def check_query_bool(query: dict[str, str], key: str) -> bool:
    raw = query.get(key)
    if raw is None:
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise Invalid(f"{key}: must be true or false")


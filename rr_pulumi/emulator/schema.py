"""The wire schema of the Core API contract (section 0), declared once.

Request validation (backend.py) and the OpenAPI document (openapi.py) are both derived from these declarations, so
the two cannot drift apart. Everything here is pure: no storage, no HTTP.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
NAME_MAX = 100
TEXT_MAX = 2048
NOTES_MAX = 1000
PATTERN_MAX = 1000
CHECKS_MAX = 50
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
EFFECTS = ("allow", "deny")
PRESENCES = ("present", "absent")
REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
PROXY_MAX_PER_MINUTE = 1000
PROXY_MAX_PER_DAY = 20000
ALIAS_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")

CREDENTIAL_TYPES = ("proxy", "target")
AUTH_TYPES_BY_CREDENTIAL_TYPE = {
    "proxy": ("apiKey", "bearer", "jwt", "basicAuth", "jwtVerify"),
    "target": ("apiKey", "bearer", "jwt", "basicAuth", "oauth2", "customToken", "custom", "none"),
}
AUTH_TYPES = ("apiKey", "bearer", "jwt", "basicAuth", "oauth2", "customToken", "custom", "none", "jwtVerify")
OAUTH2_GRANT_TYPES = ("authorization_code", "client_credentials", "pkce")
# Grants that need an interactive user authorisation: the credential stays temporary until it is authorised.
TEMPORARY_GRANT_TYPES = ("authorization_code", "pkce")


class Invalid(Exception):
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


def check_regex(name: str, value: Any, flags: int = 0) -> str:
    check_string(name, value, 1, PATTERN_MAX)
    try:
        re.compile(value, flags)
    except (re.error, RecursionError, OverflowError) as exc:
        raise Invalid(f"{name}: must be a valid regular expression ({exc})") from None
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
            check_string(n, value, 1, TEXT_MAX)
            if not value.startswith("/"):
                raise Invalid(f"{n}: must be a path starting with '/'")
            return value
        raise AssertionError(self.type)


@dataclass(frozen=True)
class Resource:
    """A client-owned resource family: its wire names and writable fields."""

    plural: str              # credentials
    singular: str            # credential (wire-name prefix and stored kind)
    id_param: str            # credentialId (path parameter name)
    fields: tuple[Field, ...]
    server_fields: tuple[str, ...] = field(default=())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _name(prefix: str) -> Field:
    return Field(f"{prefix}Name", "string", required=True, high=NAME_MAX, description="1-100 characters")


def _effect(prefix: str) -> Field:
    return Field(f"{prefix}DefaultRuleEffect", "enum", enum=EFFECTS, default="allow",
                 description="effect when no rule matches; default allow")


OWNER_FIELDS = ("sKey", "pKey", "clientId", "userId", "parentId")

CREDENTIALS = Resource(
    "credentials", "credential", "credentialId",
    (
        _name("credential"),
        Field("credentialType", "enum", required=True, immutable=True, enum=CREDENTIAL_TYPES),
        Field("credentialAuthType", "enum", required=True, immutable=True, enum=AUTH_TYPES,
              description="allowed values depend on credentialType: proxy → apiKey, bearer, jwt, basicAuth, "
                          "jwtVerify; target → apiKey, bearer, jwt, basicAuth, oauth2, customToken, custom, none"),
        Field("credentialRegion", "region", required=True, immutable=True),
        Field("credentialSecret", "object", write_only=True,
              description="write-only; required except for auth type none; a PUT with it rotates the secret"),
    ),
    server_fields=(*OWNER_FIELDS, "credentialTemporary", "credentialCreatedAt", "credentialUpdatedAt"),
)

TARGETS = Resource(
    "targets", "target", "targetId",
    (
        _name("target"),
        Field("targetBaseURL", "url", required=True, description="absolute http(s) URL"),
        Field("targetTestPath", "path", description="path starting with '/'"),
        Field("targetRegion", "region", required=True, immutable=True),
        _effect("target"),
    ),
    server_fields=(*OWNER_FIELDS, "targetCreatedAt", "targetUpdatedAt"),
)

PROXY_REFERENCES = {
    # field → (stored kind, required credentialType or None)
    "proxyProxyCredentialId": ("credential", "proxy"),
    "proxyTargetId": ("target", None),
    "proxyTargetCredentialId": ("credential", "target"),
}

PROXIES = Resource(
    "proxies", "proxy", "proxyId",
    (
        _name("proxy"),
        Field("proxyRegion", "region", required=True, immutable=True),
        Field("proxyProxyCredentialId", "string", required=True, high=200,
              description="id of a credential of type proxy in the proxy's region"),
        Field("proxyTargetId", "string", required=True, high=200, description="id of a target in the proxy's region"),
        Field("proxyTargetCredentialId", "string", required=True, high=200,
              description="id of a credential of type target in the proxy's region"),
        Field("proxyActive", "boolean", default=True, description="default true"),
        _effect("proxy"),
        Field("proxyAlias", "alias", description="1-100 characters from A-Z, a-z, 0-9, '-' and '_'"),
        Field("proxyMaxRequestsPerMinute", "integer", low=1, high=PROXY_MAX_PER_MINUTE, default=PROXY_MAX_PER_MINUTE,
              description="1-1000, default 1000 (the client's default limit)"),
        Field("proxyMaxRequestsPerDay", "integer", low=1, high=PROXY_MAX_PER_DAY, default=PROXY_MAX_PER_DAY,
              description="1-20000, default 20000 (the client's default limit)"),
    ),
    server_fields=(*OWNER_FIELDS, "proxyCreatedAt", "proxyUpdatedAt"),
)

RESOURCES = {r.plural: r for r in (CREDENTIALS, TARGETS, PROXIES)}

CLIENT_FIELDS = (
    Field("clientName", "string", required=True, high=NAME_MAX, description="1-100 characters"),
    Field("returnUser", "boolean", description="accepted for compatibility; has no effect"),
)
CLIENT_DELETE_FIELDS = (
    Field("immediatelyDelete", "boolean", default=False,
          description="true removes the client at once; false (default) marks it for deletion"),
)

# -- credential secrets ---------------------------------------------------------------------------------------------

# auth type → (required keys, optional keys); values are strings unless listed in SECRET_KEY_TYPES
SECRET_SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "apiKey": (("apiKey",), ("headerName",)),
    "bearer": (("token",), ("prefix",)),
    "jwt": (("token",), ()),
    "basicAuth": (("username", "password"), ()),
    "oauth2": (("grantType", "clientId", "clientSecret", "tokenUrl"), ("authorizationUrl", "scope")),
    "customToken": (("url", "method", "tokenPath"), ("headers", "body")),
    "custom": (("headers",), ()),
    "none": ((), ()),
    "jwtVerify": ((), ("jwksUri", "sharedSecret", "audience", "issuer")),
}
URL_SECRET_KEYS = ("tokenUrl", "authorizationUrl", "url", "jwksUri")


def check_secret(auth_type: str, secret: Any) -> dict:
    """Validate a credentialSecret against its auth type's shape. Extra keys are kept as sent."""
    name = "credentialSecret"
    if secret is None:
        secret = {}
    check_object(name, secret)
    required, optional = SECRET_SHAPES[auth_type]
    missing = [k for k in required if k not in secret]
    if auth_type == "jwtVerify":
        has = [k for k in ("jwksUri", "sharedSecret") if k in secret]
        if len(has) != 1:
            raise Invalid(f"{name}: jwtVerify needs exactly one of jwksUri or sharedSecret")
    if missing:
        raise Invalid(f"{name}: {auth_type} needs key(s) {one_of(missing)} "
                      f"(required: {one_of(required) or 'none'}; optional: {one_of(optional) or 'none'})")
    for key in (*required, *optional):
        if key not in secret:
            continue
        value, where = secret[key], f"{name}.{key}"
        if key == "headers":
            check_object(where, value)
            if auth_type == "custom" and not value:
                raise Invalid(f"{where}: must have at least one header")
            for h, v in value.items():
                check_string(f"{where}.{h}", v, 0, TEXT_MAX)
        elif key == "body":
            if not isinstance(value, (str, dict)):
                raise Invalid(f"{where}: must be a string or a JSON object")
        elif key == "grantType":
            check_enum(where, value, OAUTH2_GRANT_TYPES)
        elif key == "method":
            check_enum(where, value, HTTP_METHODS)
        elif key in URL_SECRET_KEYS:
            check_url(where, value)
        elif key == "prefix":
            check_string(where, value, 0, 100)
        else:
            check_string(where, value, 1, TEXT_MAX)
    return secret


def is_temporary(auth_type: str, secret: dict) -> bool:
    return auth_type == "oauth2" and secret.get("grantType") in TEMPORARY_GRANT_TYPES


def check_auth_type_for(credential_type: str, auth_type: str) -> None:
    allowed = AUTH_TYPES_BY_CREDENTIAL_TYPE[credential_type]
    if auth_type not in allowed:
        raise Invalid(f"credentialAuthType: {auth_type} is not allowed for credentialType {credential_type}; "
                      f"must be one of {one_of(allowed)}")


# -- rules ----------------------------------------------------------------------------------------------------------

RULE_PARENTS = {"credentials": "credential", "targets": "target", "proxies": "proxy"}
RULE_FIELDS = ("effect", "priority", "methods", "pathPattern", "pathPresence", "headerChecks", "queryChecks",
               "bodyChecks", "tokenChecks", "regexFlags", "notes")
# check list → (subject key, description of the subject)
RULE_CHECKS = {
    "headerChecks": ("namePattern", "regex matched against header names"),
    "queryChecks": ("namePattern", "regex matched against query parameter names"),
    "bodyChecks": ("jsonPath", "JSONPath into the request body, starting with '$'"),
    "tokenChecks": ("claim", "name of a JWT claim"),
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


def _check_rule_check(where: str, subject: str, item: Any, flags: int) -> dict:
    check_object(where, item)
    check_unknown(where, item, (subject, "valuePattern", "presence"))
    for key in (subject, "presence"):
        if key not in item:
            raise Invalid(f"{where}.{key}: is required")
    if subject == "namePattern":
        check_regex(f"{where}.namePattern", item[subject], flags)
    elif subject == "jsonPath":
        check_string(f"{where}.jsonPath", item[subject], 1, PATTERN_MAX)
        if not item[subject].startswith("$"):
            raise Invalid(f"{where}.jsonPath: must be a JSONPath starting with '$'")
    else:
        check_string(f"{where}.{subject}", item[subject], 1, 200)
    if "valuePattern" in item and item["valuePattern"] is not None:
        check_regex(f"{where}.valuePattern", item["valuePattern"], flags)
    check_enum(f"{where}.presence", item["presence"], PRESENCES)
    return item


def check_rule(body: dict) -> dict:
    """Validate a rule create body; returns every rule field (absent optionals as null, absent lists as [])."""
    check_unknown("", body, RULE_FIELDS)
    for key in ("effect", "priority"):
        if body.get(key) is None:
            raise Invalid(f"{key}: is required")
    flags = regex_flags(body.get("regexFlags"))
    rule = {
        "effect": check_enum("effect", body["effect"], EFFECTS),
        "priority": check_int("priority", body["priority"], 0, 1000),
    }
    methods = [] if body.get("methods") is None else body["methods"]
    if not isinstance(methods, list):
        raise Invalid(f"methods: must be an array of {one_of(HTTP_METHODS)}")
    for i, m in enumerate(methods):
        check_enum(f"methods[{i}]", m, HTTP_METHODS)
    if len(set(methods)) != len(methods):
        raise Invalid("methods: must not repeat a method")
    rule["methods"] = methods
    pattern = body.get("pathPattern")
    rule["pathPattern"] = None if pattern is None else check_regex("pathPattern", pattern, flags)
    presence = body.get("pathPresence")
    rule["pathPresence"] = None if presence is None else check_enum("pathPresence", presence, PRESENCES)
    for key, (subject, _) in RULE_CHECKS.items():
        items = [] if body.get(key) is None else body[key]
        if not isinstance(items, list) or len(items) > CHECKS_MAX:
            raise Invalid(f"{key}: must be an array of at most {CHECKS_MAX} objects")
        rule[key] = [_check_rule_check(f"{key}[{i}]", subject, item, flags) for i, item in enumerate(items)]
    rule["regexFlags"] = body.get("regexFlags")
    notes = body.get("notes")
    rule["notes"] = None if notes is None else check_string("notes", notes, 0, NOTES_MAX)
    return rule


# -- pagination -----------------------------------------------------------------------------------------------------

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def check_page(query: dict[str, str]) -> tuple[int, int]:
    def number(key: str, default: int, low: int, high: int | None) -> int:
        raw = query.get(key)
        if raw is None:
            return default
        text = f"{low}-{high}" if high else f"{low} or more"
        if not raw.isdigit() or len(raw) > 9:
            raise Invalid(f"{key}: must be an integer {text}")
        value = int(raw)
        if value < low or (high is not None and value > high):
            raise Invalid(f"{key}: must be an integer {text}")
        return value

    return number("page", 1, 1, None), number("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)


def check_query_bool(query: dict[str, str], key: str) -> bool:
    raw = query.get(key)
    if raw is None:
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise Invalid(f"{key}: must be true or false")


"""The OpenAPI 3.1 document for the contract, derived from schema.py (the same declarations that validate requests).

Every path is listed twice, with and without the `/api` prefix, as the emulator serves both.
"""
from __future__ import annotations

from typing import Any

from rr_pulumi.emulator import schema
from rr_pulumi.emulator.schema import Field, Resource

ERRORS = {
    "400": "invalid request: malformed JSON, wrong type, unknown or immutable field, bad query parameter",
    "401": "missing or unknown token",
    "403": "the caller is not a member (or admin) of the client",
    "404": "unknown route, client or resource",
    "405": "method not allowed on this path",
    "409": "resource still referenced by a proxy",
    "413": "body larger than 1 MiB",
    "429": "rate limit exceeded (see Retry-After)",
    "500": "internal error (only injected by fault injection)",
    "503": "service unavailable (only injected by fault injection)",
}
TIMESTAMP = {"type": "string", "format": "date-time", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"}
UUID = {"type": "string", "format": "uuid"}
URL = {"type": "string", "format": "uri", "pattern": r"^https?://[A-Za-z0-9\-._~%\[:]", "maxLength": schema.TEXT_MAX}


def field_schema(f: Field, regions) -> dict[str, Any]:
    if f.type in ("string", "alias", "path"):
        out: dict[str, Any] = {"type": "string", "minLength": f.low, "maxLength": f.high}
        if f.type == "alias":
            out["pattern"] = schema.ALIAS_RE.pattern
        if f.type == "path":
            out["pattern"] = "^/"
    elif f.type == "url":
        out = dict(URL)
    elif f.type == "enum":
        out = {"type": "string", "enum": list(f.enum)}
    elif f.type == "region":
        out = {"type": "string", "enum": list(regions)}
    elif f.type == "boolean":
        out = {"type": "boolean"}
    elif f.type == "integer":
        out = {"type": "integer", "minimum": f.low, "maximum": f.high}
    else:
        out = {"type": "object"}
    if f.default is not None:
        out["default"] = f.default
    if f.description:
        out["description"] = f.description
    if f.immutable:
        out["description"] = (out.get("description", "") + " Immutable: a PUT may repeat but not change it.").strip()
    if f.write_only:
        out["writeOnly"] = True
    return out


def nullable(s: dict) -> dict:
    return {**s, "type": [s["type"], "null"]} if "type" in s else {"anyOf": [s, {"type": "null"}]}


def secret_schema() -> dict:
    shapes = "; ".join(f"{auth}: required {schema.one_of(req) or '-'}, optional {schema.one_of(opt) or '-'}"
                       for auth, (req, opt) in schema.SECRET_SHAPES.items())
    return {"type": "object", "writeOnly": True, "additionalProperties": True,
            "description": "Write-only, never returned. Shape by credentialAuthType (extra keys are kept): " + shapes
                           + ". jwtVerify needs exactly one of jwksUri or sharedSecret. oauth2 grantType: "
                           + schema.one_of(schema.OAUTH2_GRANT_TYPES) + "."}


def secret_key_schema(key: schema.SecretKey) -> dict:
    if key.type == "object":
        return {"type": "object", "additionalProperties": {"type": "string", "maxLength": schema.TEXT_MAX},
                **({"minProperties": key.low} if key.low else {})}
    if key.type == "text_or_object":
        return {"type": ["string", "object"]}
    if key.type == "enum":
        return {"type": "string", "enum": list(key.enum)}
    if key.type == "url":
        return dict(URL)
    return {"type": "string", "minLength": key.low, "maxLength": key.high}


def secret_shape(auth: str, exclude: str | None = None) -> dict:
    required, _ = schema.SECRET_SHAPES[auth]
    props: dict = {k.name: secret_key_schema(k) for k in schema.SECRET_KEYS[auth] if k.name != exclude}
    if exclude:
        props[exclude] = False
    return {"type": "object", "required": list(required), "properties": props, "writeOnly": True,
            "additionalProperties": True}


def credential_variants(res: Resource, regions) -> list[dict]:
    """One variant per allowed (credentialType, credentialAuthType) pair, with that auth type's secret shape."""
    common = {f.name: field_schema(f, regions) for f in res.fields if f.name in ("credentialName",
                                                                                  "credentialRegion")}
    variants = []
    for ctype, allowed in schema.AUTH_TYPES_BY_CREDENTIAL_TYPE.items():
        for auth in allowed:
            if auth == "jwtVerify":
                secrets = [{**secret_shape(auth, "sharedSecret"), "required": ["jwksUri"]},
                           {**secret_shape(auth, "jwksUri"), "required": ["sharedSecret"]}]
            else:
                secrets = [secret_shape(auth)]
            for secret in secrets:
                if auth == "none":   # may be omitted or null
                    secret = {"anyOf": [secret, {"type": "null"}]}
                props = {**common, "credentialType": {"type": "string", "const": ctype},
                         "credentialAuthType": {"type": "string", "const": auth}, "credentialSecret": secret}
                required = ["credentialName", "credentialType", "credentialAuthType", "credentialRegion"]
                if auth != "none":
                    required.append("credentialSecret")
                variants.append({"type": "object", "title": f"{ctype} {auth}", "properties": props,
                                 "required": required, "additionalProperties": False})
    return variants


def request_schema(res: Resource, regions, create: bool) -> dict:
    props = {}
    for f in res.fields:
        s = secret_schema() if f.name == "credentialSecret" else field_schema(f, regions)
        props[f.name] = s if f.required else nullable(s)
    out = {"type": "object", "properties": props, "additionalProperties": False}
    if create:
        out["required"] = [f.name for f in res.fields if f.required]
    if res is schema.CREDENTIALS and create:
        return {"oneOf": credential_variants(res, regions),
                "description": "credentialAuthType allowed per credentialType, and the credentialSecret shape "
                               "per credentialAuthType (extra secret keys are kept)"}
    if res is schema.PROXIES:
        out["description"] = ("The three references must name existing credentials (type proxy / type target) "
                              "and a target of the same client, all in proxyRegion; otherwise 400.")
    return out


def item_schema(res: Resource, regions) -> dict:
    props: dict[str, Any] = {"sKey": {**UUID, "description": f"the {res.singular} id"},
                             "pKey": {**UUID, "description": "the owning client id"},
                             "clientId": UUID, "userId": {**UUID, "description": "the creator"},
                             "parentId": {**UUID, "description": "the owning client id"}}
    for f in res.fields:
        if not f.write_only:
            s = field_schema(f, regions)
            props[f.name] = s if (f.required or f.default is not None) else nullable(s)
    if res is schema.CREDENTIALS:
        props["credentialTemporary"] = {"type": "boolean",
                                        "description": "oauth2 authorization_code/pkce credential awaiting "
                                                       "authorisation (listed only with includeTemporary=true)"}
    props[f"{res.singular}CreatedAt"] = TIMESTAMP
    props[f"{res.singular}UpdatedAt"] = TIMESTAMP
    return {"type": "object", "properties": props, "required": list(props)}


def rule_schemas() -> tuple[dict, dict]:
    check_props = {}
    for key, check in schema.RULE_CHECKS.items():
        subject_schema = {"type": "string", "minLength": 1, "maxLength": check.high,
                          "description": f"{check.description} ({check.type})"}
        check_props[key] = {"type": "array", "maxItems": schema.CHECKS_MAX, "items": {
            "type": "object", "additionalProperties": False, "required": [check.subject, "presence"],
            "properties": {check.subject: subject_schema,
                           "valuePattern": {"type": ["string", "null"], "description": "regex"},
                           "presence": {"type": "string", "enum": list(schema.PRESENCES)}}}}
    fields = {
        "effect": {"type": "string", "enum": list(schema.EFFECTS)},
        "priority": {"type": "integer", "minimum": schema.PRIORITY_MIN, "maximum": schema.PRIORITY_MAX},
        "methods": {"type": "array", "uniqueItems": True,
                    "items": {"type": "string", "enum": list(schema.HTTP_METHODS)}, "description": "empty = all"},
        "pathPattern": {"type": ["string", "null"], "maxLength": schema.PATTERN_MAX,
                        "description": "regex (Python re syntax)"},
        "pathPresence": {"type": ["string", "null"], "enum": [*schema.PRESENCES, None]},
        **check_props,
        "regexFlags": {"type": ["string", "null"], "pattern": f"^[{''.join(schema.REGEX_FLAGS)}]*$",
                       "description": f"distinct flags from {schema.one_of(schema.REGEX_FLAGS)}"},
        "notes": {"type": ["string", "null"], "maxLength": schema.NOTES_MAX},
    }
    request = {"type": "object", "additionalProperties": False, "required": list(schema.RULE_REQUIRED),
               "properties": fields}
    item_props = {"sKey": {**UUID, "description": "the rule id"}, "pKey": UUID, "clientId": UUID, "userId": UUID,
                  "parentId": {**UUID, "description": "the credential, target or proxy the rule belongs to"},
                  "ruleParentType": {"type": "string", "enum": list(schema.RULE_PARENTS.values())},
                  **fields, "ruleCreatedAt": TIMESTAMP, "ruleUpdatedAt": TIMESTAMP}
    return request, {"type": "object", "properties": item_props, "required": list(item_props)}


def client_schemas() -> tuple[dict, dict, dict, dict]:
    name = {"type": "string", "minLength": 1, "maxLength": schema.NAME_MAX}
    create = {"type": "object", "additionalProperties": False, "required": ["clientName"],
              "properties": {"clientName": name, "returnUser": {"type": ["boolean", "null"]}}}
    update = {"type": "object", "additionalProperties": False,
              "properties": {"clientName": name, "returnUser": {"type": ["boolean", "null"]}}}
    delete = {"type": "object", "additionalProperties": False,
              "properties": {"immediatelyDelete": {"type": ["boolean", "null"], "default": False}}}
    member = {"type": "object", "required": ["userId", "roles"],
              "properties": {"userId": UUID, "roles": {"type": "array", "items": {"type": "string"}}}}
    item_props = {"clientId": UUID, "clientName": name, "userId": UUID, "clientCreatedAt": TIMESTAMP,
                  "clientUpdatedAt": TIMESTAMP, "clientMembers": {"type": "array", "items": member}}
    return create, update, delete, {"type": "object", "properties": item_props, "required": list(item_props)}


def envelope(plural: str, item_ref: str, paged: bool) -> dict:
    props = {plural: {"type": "array", "items": {"$ref": item_ref}}, "message": {"type": "string"}}
    if paged:
        props["pagination"] = {"$ref": "#/components/schemas/Pagination"}
    return {"type": "object", "properties": props, "required": list(props)}


def component_schemas(regions) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Error": {"type": "object", "required": ["error", "code", "status"], "properties": {
            "error": {"type": "string"}, "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
            "status": {"type": "integer"},
            "message": {"type": "string", "description": "detail; 400s start with the offending field"}}},
        "Pagination": {"type": "object", "required": ["page", "limit", "total", "pages"], "properties": {
            "page": {"type": "integer", "minimum": 1}, "limit": {"type": "integer", "minimum": 1,
                                                                  "maximum": schema.MAX_LIMIT},
            "total": {"type": "integer", "minimum": 0}, "pages": {"type": "integer", "minimum": 0}}},
        "Deleted": {"type": "object", "required": ["message"], "properties": {"message": {"const": "Success"}}},
    }
    c_create, c_update, c_delete, c_item = client_schemas()
    schemas.update(ClientCreate=c_create, ClientUpdate=c_update, ClientDelete=c_delete, Client=c_item,
                   ClientList=envelope("clients", "#/components/schemas/Client", True),
                   ClientOne=envelope("clients", "#/components/schemas/Client", False))
    for res in schema.RESOURCES.values():
        title = res.kind.name
        schemas[f"{title}Create"] = request_schema(res, regions, create=True)
        schemas[f"{title}Update"] = request_schema(res, regions, create=False)
        schemas[title] = item_schema(res, regions)
        schemas[f"{title}List"] = envelope(res.plural, f"#/components/schemas/{title}", True)
        schemas[f"{title}One"] = envelope(res.plural, f"#/components/schemas/{title}", False)
    rule_create, rule_item = rule_schemas()
    schemas.update(RuleCreate=rule_create, Rule=rule_item,
                   RuleList=envelope("rules", "#/components/schemas/Rule", True),
                   RuleOne=envelope("rules", "#/components/schemas/Rule", False))
    return schemas


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def op(op_id: str, summary: str, ok: tuple[str, str], errors: tuple[str, ...], body: str | None = None,
       params: tuple[dict, ...] = (), body_required: bool = True) -> dict:
    """One operation: its success response, the error body on every status it can answer, its body and query."""
    responses = {ok[0]: {"description": "success", "content": {"application/json": {"schema": ref(ok[1])}}}}
    for code in ("400", "401", *errors, "405", "413", "429", "500", "503"):
        responses[code] = {"description": ERRORS[code], "content": {"application/json": {"schema": ref("Error")}}}
        if code in ("429", "503"):
            responses[code]["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 0,
                                                                     "maximum": 60}}}
    out: dict[str, Any] = {"operationId": op_id, "summary": summary, "responses": responses}
    if params:
        out["parameters"] = list(params)
    if body:
        out["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": ref(body)}}}
    return out


def path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


PAGING = ({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": schema.PAGE_MAX,
                                                     "default": 1}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": schema.MAX_LIMIT,
                                                      "default": schema.DEFAULT_LIMIT}})
TEMPORARY = {"name": "includeTemporary", "in": "query", "schema": {"type": "boolean", "default": False},
             "description": "also list temporary oauth2 credentials awaiting authorisation"}


def client_paths() -> dict[str, dict]:
    cid = path_param("clientId")
    return {
        "/api/clients": {
            "get": op("listClients", "list the caller's clients", ("200", "ClientList"), (), params=PAGING),
            "post": op("createClient", "create a client (caller becomes owner+admin)", ("201", "ClientOne"), (),
                       "ClientCreate"),
        },
        "/api/clients/{clientId}": {
            "parameters": [cid],
            "get": op("getClient", "get a client", ("200", "ClientOne"), ("403", "404")),
            "put": op("updateClient", "update a client (admin only)", ("200", "ClientOne"), ("403", "404"),
                      "ClientUpdate"),
            "delete": op("deleteClient", "delete a client and everything in it (sole admin only)",
                         ("200", "Deleted"), ("403", "404"), "ClientDelete", body_required=False),
        },
    }


def resource_paths(res: Resource) -> dict[str, dict]:
    """A credential, target or proxy collection, one item, and the item's rules."""
    title, plural_title = res.kind.name, res.plural.capitalize()
    cid, rid = path_param("clientId"), path_param(res.id_param)
    base = f"/api/clients/{{clientId}}/{res.plural}"
    one = f"{base}/{{{res.id_param}}}"
    list_params = (*PAGING, TEMPORARY) if res is schema.CREDENTIALS else PAGING
    in_use = ("403", "404") if res is schema.PROXIES else ("403", "404", "409")
    return {
        base: {
            "parameters": [cid],
            "get": op(f"list{plural_title}", f"list {res.plural}", ("200", f"{title}List"), ("403", "404"),
                      params=list_params),
            "post": op(f"create{title}", f"create a {res.singular}", ("201", f"{title}One"), ("403", "404"),
                       f"{title}Create"),
        },
        one: {
            "parameters": [cid, rid],
            "get": op(f"get{title}", f"get a {res.singular}", ("200", f"{title}One"), ("403", "404")),
            "put": op(f"update{title}", f"update (merge) a {res.singular}", ("200", f"{title}One"),
                      ("403", "404"), f"{title}Update"),
            "delete": op(f"delete{title}", f"delete a {res.singular} and its rules", ("200", "Deleted"), in_use),
        },
        f"{one}/rules": {
            "parameters": [cid, rid],
            "get": op(f"list{title}Rules", f"list a {res.singular}'s rules", ("200", "RuleList"),
                      ("403", "404"), params=PAGING),
            "post": op(f"create{title}Rule", f"add a rule to a {res.singular}", ("201", "RuleOne"),
                       ("403", "404"), "RuleCreate"),
        },
        f"{one}/rules/{{ruleId}}": {
            "parameters": [cid, rid, path_param("ruleId")],
            "delete": op(f"delete{title}Rule", f"delete a {res.singular} rule", ("200", "Deleted"),
                         ("403", "404")),
        },
    }


def with_unprefixed_twins(paths: dict[str, dict]) -> dict[str, dict]:
    """Every /api path again without the prefix, as the emulator serves both."""
    out = dict(paths)
    for path, item in paths.items():
        twin = {}
        for method, operation in item.items():
            if method == "parameters":
                twin[method] = operation
            else:
                twin[method] = {**operation, "operationId": operation["operationId"] + "Unprefixed",
                                "tags": ["unprefixed"]}
        out[path[len("/api"):]] = twin
    return out


def openapi_document(regions=schema.DEFAULT_REGIONS) -> dict:
    paths = client_paths()
    for res in schema.RESOURCES.values():
        paths.update(resource_paths(res))
    return {
        "openapi": "3.1.0",
        "info": {"title": "RequestRocket Core API (local emulator)", "version": "0.1.0",
                 "description": "Section 0 of the RequestRocket Core API contract as served by rr-emulator."},
        "security": [{"userToken": []}],
        "paths": with_unprefixed_twins(paths),
        "components": {"schemas": component_schemas(regions), "securitySchemes": {
            "userToken": {"type": "apiKey", "in": "header", "name": "Authorization",
                          "description": "the raw user token (u-...), no Bearer prefix"}}},
    }

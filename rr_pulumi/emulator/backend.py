"""The emulator's behaviour: the section 0 rules over the store. Knows nothing about HTTP.

Every operation takes the caller (a `User`), path ids and an already-decoded JSON body, and either returns the
response body as JSON text or raises `ApiError`. Write operations run in one serialised store transaction, so a
rejected request changes nothing and concurrent requests cannot lose updates.
"""
from __future__ import annotations

import json
import math
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from datetime import datetime, timedelta, timezone
from typing import Any

from rr_pulumi.api.errors import RequestRocketError
from rr_pulumi.emulator import schema
from rr_pulumi.emulator.schema import Invalid, Resource
from rr_pulumi.emulator.store import Item, Store

PLANS = {"basic": 100, "team": 1000}
SUCCESS = "Success"


class ApiError(RequestRocketError):
    """A contract error: rendered as {error, code, status[, message]}."""

    # The reason phrase of every status (431, 502, 504, 508 of the data plane too); 413 as the API words it (Python
    # says "Request Entity Too Large", 3.13 "Content Too Large").
    TITLES = {**{status.value: status.phrase for status in HTTPStatus}, 413: "Payload Too Large"}

    def __init__(self, status: int, code: str, message: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message or code)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.TITLES.get(self.status, "Error"), "code": self.code,
                                "status": self.status}
        if self.message:
            body["message"] = self.message
        return body


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} not found")


def _client_item(s: Store, client_id: str) -> Item:
    item = s.get("client", client_id)
    if item is None:
        raise not_found("client")
    return item


def bad_request(exc: Invalid) -> ApiError:
    return ApiError(400, exc.code, exc.message)


def check_user_fields(name: Any, plan: Any, token: Any) -> tuple[str, str | None, str | None]:
    """The admin inputs of a user (API and --user), typed; 400 naming the field, whatever JSON type arrived."""
    if not isinstance(name, str) or not 1 <= len(name) <= schema.NAME_MAX:
        raise ApiError(400, "VALIDATION_ERROR", f"name: must be a string of 1-{schema.NAME_MAX} characters")
    if plan is not None and (not isinstance(plan, str) or plan not in PLANS):
        raise ApiError(400, "VALIDATION_ERROR", f"plan: must be one of {schema.one_of(PLANS)}")
    if token is not None and (not isinstance(token, str) or not 1 <= len(token) <= 200 or not token.isascii()
                              or not token.isprintable() or " " in token):
        raise ApiError(400, "VALIDATION_ERROR", "token: must be a string of 1-200 printable ASCII characters "
                                                "without spaces")
    return name, plan, token


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    plan: str


def new_id() -> str:
    return str(uuid.uuid4())


def new_token() -> str:
    return "u-" + secrets.token_hex(20)


def iso_ms(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_iso(after: str | None = None) -> str:
    """The current time; strictly later than `after` (an earlier timestamp of the same resource) if given."""
    now = datetime.now(timezone.utc)
    stamp = iso_ms(now)
    if after is not None and stamp <= after:
        previous = datetime.strptime(after, "%Y-%m-%dT%H:%M:%S.%fZ")
        stamp = iso_ms(previous + timedelta(milliseconds=1))
    return stamp


def envelope(plural: str, docs_json: list[str], pagination: dict | None = None) -> str:
    """{"<plural>": [...], "message": "Success"[, "pagination": {...}]} built from stored JSON docs."""
    text = '{"%s": [%s], "message": "%s"' % (plural, ", ".join(docs_json), SUCCESS)
    if pagination is not None:
        text += ', "pagination": ' + json.dumps(pagination)
    return text + "}"


def pagination(page: int, limit: int, total: int) -> dict[str, int]:
    return {"page": page, "limit": limit, "total": total, "pages": math.ceil(total / limit)}


DELETED = json.dumps({"message": SUCCESS})


class RateLimiter:
    """Per-token fixed one-minute windows. `override` replaces every plan's limit (0 disables limiting)."""

    def __init__(self, override: int | None = None, clock=time.monotonic):
        self.override = override
        self.clock = clock
        self._windows: dict[str, list[float]] = {}   # token → [window start, count]
        self._lock = threading.Lock()

    def limit_for(self, plan: str) -> int:
        return self.override if self.override is not None else PLANS.get(plan, PLANS["team"])

    def check(self, token: str, plan: str) -> int | None:
        """None if the request may go ahead, else the Retry-After seconds (0-60)."""
        limit = self.limit_for(plan)
        if limit <= 0:
            return None
        now = self.clock()
        with self._lock:
            window = self._windows.get(token)
            if window is None or now - window[0] >= 60.0:
                self._windows[token] = [now, 1]
                return None
            if window[1] < limit:
                window[1] += 1
                return None
            return max(0, min(60, math.ceil(window[0] + 60.0 - now)))


class Backend:
    def __init__(self, store: Store, regions=schema.DEFAULT_REGIONS, rate_limit: int | None = None):
        self.store = store
        self.regions = tuple(regions)
        self.limiter = RateLimiter(rate_limit)
        self._token_cache: dict[str, User] = {}

    # -- users ----------------------------------------------------------------------------------------------------

    def ensure_user(self, name: str, plan: str | None = None, token: str | None = None) -> tuple[User, str]:
        """Create the user (or reuse it), optionally with a given token; returns the user and a token of theirs."""
        check_user_fields(name, plan, token)
        with self.store.write() as s:
            row = s.user_by_name(name)
            if row is None:
                user_id = new_id()
                s.insert_user(user_id, name, plan or "team")
            else:
                user_id = row[0]
                if plan is not None and plan != row[2]:
                    s.set_plan(user_id, plan)
            if token is not None:
                owner = s.token_owner(token)
                if owner is None:
                    s.insert_token(token, user_id)
                elif owner != user_id:
                    raise ApiError(409, "TOKEN_IN_USE", "token: already belongs to another user")
            else:
                existing = s.tokens_of(user_id)
                token = existing[0] if existing else new_token()
                if not existing:
                    s.insert_token(token, user_id)
            row = s.user_by_id(user_id)
            assert row is not None  # found or inserted above, in this same transaction
            user = User(*row)
        self._token_cache = {t: u for t, u in self._token_cache.items() if u.user_id != user_id}
        return user, token

    def revoke_token(self, token: str) -> None:
        """Revoke a user token (what support does on request): it is refused from now on."""
        with self.store.write() as s:
            if s.token_owner(token) is None:
                raise ApiError(404, "NOT_FOUND", "token: no such token")
            s.delete_token(token)
        self._token_cache.pop(token, None)

    def authenticate(self, token: str | None) -> User:
        if not token:
            raise ApiError(401, "UNAUTHORIZED", "missing Authorization header (send the raw user token)")
        user = self._token_cache.get(token)
        if user is None:
            row = self.store.user_by_token(token)
            if row is None:
                raise ApiError(401, "UNAUTHORIZED", "unknown token")
            user = self._token_cache[token] = User(*row)
        return user

    def throttle(self, token: str, user: User) -> None:
        retry_after = self.limiter.check(token, user.plan)
        if retry_after is not None:
            raise ApiError(429, "RATE_LIMITED", f"rate limit of {self.limiter.limit_for(user.plan)} requests "
                           f"per minute exceeded", headers={"Retry-After": str(retry_after)})

    # -- access -------------------------------------------------------------------------------------------------

    def check_access(self, user: User, client_id: str) -> list[str]:
        """404 for an unknown (or deleted) client, then 403 for a non-member; returns the caller's roles."""
        state = self.store.access(client_id, user.user_id)
        if state is None or state[0]:
            raise not_found("client")
        if state[1] is None:
            raise ApiError(403, "FORBIDDEN", "you are not a member of this client")
        return json.loads(state[1])

    # -- clients ------------------------------------------------------------------------------------------------

    def _client_json(self, doc: dict) -> str:
        return json.dumps({**doc, "clientMembers": self.store.members_of(doc["clientId"])})

    def list_clients(self, user: User, query: dict[str, str]) -> str:
        page, limit = self._page(query)
        with self.store.read() as s:
            docs, total = s.page("client", member=user.user_id, offset=(page - 1) * limit, limit=limit)
            out = [self._client_json(json.loads(d)) for d in docs]
        return envelope("clients", out, pagination(page, limit, total))

    def get_client(self, user: User, client_id: str) -> str:
        with self.store.read() as s:
            self.check_access(user, client_id)
            return envelope("clients", [self._client_json(_client_item(s, client_id).doc)])

    def create_client(self, user: User, body: dict) -> str:
        values = self._check_fields(schema.CLIENT_FIELDS, body, create=True)
        now = now_iso()
        client_id = new_id()
        doc = {"clientId": client_id, "clientName": values["clientName"], "userId": user.user_id,
               "clientCreatedAt": now, "clientUpdatedAt": now}
        with self.store.write() as s:
            s.insert("client", client_id, client_id, None, doc)
            s.put_member(client_id, user.user_id, ["owner", "admin"])
            return envelope("clients", [self._client_json(_client_item(s, client_id).doc)])

    def update_client(self, user: User, client_id: str, body: dict) -> str:
        with self.store.write() as s:
            roles = self.check_access(user, client_id)
            self._require_admin(roles)
            values = self._check_fields(schema.CLIENT_FIELDS, body, create=False)
            doc = _client_item(s, client_id).doc
            if values.get("clientName") is not None:
                doc["clientName"] = values["clientName"]
            doc["clientUpdatedAt"] = now_iso(after=doc["clientUpdatedAt"])
            s.update(client_id, doc)
            return envelope("clients", [self._client_json(_client_item(s, client_id).doc)])

    def delete_client(self, user: User, client_id: str, body: dict) -> str:
        with self.store.write() as s:
            roles = self.check_access(user, client_id)
            self._require_admin(roles)
            values = self._check_fields(schema.CLIENT_DELETE_FIELDS, body, create=True)
            others = [m for m in s.members_of(client_id) if m["userId"] != user.user_id and "admin" in m["roles"]]
            if others:
                raise ApiError(403, "FORBIDDEN", "another admin exists; a client can only be deleted by its sole admin")
            s.delete_client_contents(client_id)
            if values["immediatelyDelete"]:
                s.delete(client_id)
                s.delete_members(client_id)
            else:
                s.set_hidden(client_id, True)
        return DELETED

    @staticmethod
    def _require_admin(roles: list[str]) -> None:
        if "admin" not in roles:
            raise ApiError(403, "FORBIDDEN", "only a client admin may change or delete the client")

    # -- credentials, targets, proxies ----------------------------------------------------------------------------

    def list_resources(self, user: User, client_id: str, res: Resource, query: dict[str, str]) -> str:
        page, limit = self._page(query)
        try:
            include_temporary = schema.check_query_bool(query, "includeTemporary") if res is schema.CREDENTIALS \
                else False
        except Invalid as exc:
            raise bad_request(exc) from None
        with self.store.read() as s:
            self.check_access(user, client_id)
            docs, total = s.page(res.singular, client_id=client_id, include_hidden=include_temporary,
                                 offset=(page - 1) * limit, limit=limit)
        return envelope(res.plural, docs, pagination(page, limit, total))

    def get_resource(self, user: User, client_id: str, res: Resource, item_id: str) -> str:
        with self.store.read() as s:
            self.check_access(user, client_id)
            row = s.get_doc(res.singular, item_id)
        if row is None or row[0] != client_id:
            raise not_found(res.singular)
        return envelope(res.plural, [row[2]])

    def create_resource(self, user: User, client_id: str, res: Resource, body: dict) -> str:
        with self.store.write() as s:
            self.check_access(user, client_id)
            values = self._check_fields(res.fields, body, create=True, res=res)
            secret, hidden = None, False
            if res is schema.CREDENTIALS:
                secret = values.pop("credentialSecret")
                self._check_credential(values, secret, required=True)
                hidden = schema.is_temporary(values["credentialAuthType"], secret or {})
                secret = secret or {}
            elif res is schema.PROXIES:
                self._check_references(client_id, values, values["proxyRegion"])
            item_id, now = new_id(), now_iso()
            doc = {"sKey": item_id, "pKey": client_id, "clientId": client_id, "userId": user.user_id,
                   "parentId": client_id, **values}
            if res is schema.CREDENTIALS:
                doc["credentialTemporary"] = hidden
            doc[f"{res.singular}CreatedAt"] = now
            doc[f"{res.singular}UpdatedAt"] = now
            s.insert(res.singular, item_id, client_id, client_id, doc, secret=secret, hidden=hidden)
        return envelope(res.plural, [json.dumps(doc)])

    def update_resource(self, user: User, client_id: str, res: Resource, item_id: str, body: dict) -> str:
        with self.store.write() as s:
            self.check_access(user, client_id)
            item = self._owned(res, client_id, item_id)
            values = self._check_fields(res.fields, body, create=False, res=res, current=item.doc)
            doc = item.doc
            secret, hidden = None, None
            if res is schema.CREDENTIALS:
                secret = values.pop("credentialSecret", None)
                if secret is not None:
                    self._check_credential(doc, secret, required=False)
                    hidden = item.hidden and schema.is_temporary(doc["credentialAuthType"], secret)
                    doc["credentialTemporary"] = hidden
            doc.update(values)
            if res is schema.PROXIES:
                self._check_references(client_id, doc, doc["proxyRegion"])
            stamp = f"{res.singular}UpdatedAt"
            doc[stamp] = now_iso(after=doc[stamp])
            s.update(item_id, doc, secret=secret, hidden=hidden)
        return envelope(res.plural, [json.dumps(doc)])

    def delete_resource(self, user: User, client_id: str, res: Resource, item_id: str) -> str:
        with self.store.write() as s:
            self.check_access(user, client_id)
            self._owned(res, client_id, item_id)
            if res is not schema.PROXIES:
                users = [p.id for p in s.find(schema.PROXIES.singular, client_id)
                         if item_id in (p.doc[name] for name in schema.PROXY_REFERENCES)]
                if users:
                    raise ApiError(409, "RESOURCE_IN_USE",
                                   f"{res.singular} is referenced by proxy {schema.one_of(users)}")
            s.delete_children(item_id)
            s.delete(item_id)
        return DELETED

    def _owned(self, res: Resource, client_id: str, item_id: str) -> Item:
        item = self.store.get(res.singular, item_id)
        if item is None or item.client_id != client_id:
            raise not_found(res.singular)
        return item

    def _check_credential(self, values: dict, secret: Any, required: bool) -> None:
        try:
            schema.check_auth_type_for(values["credentialType"], values["credentialAuthType"])
            if required and secret is None and values["credentialAuthType"] != "none":
                raise Invalid(f"credentialSecret: is required for credentialAuthType {values['credentialAuthType']}")
            schema.check_secret(values["credentialAuthType"], secret)
        except Invalid as exc:
            raise bad_request(exc) from None

    def _check_references(self, client_id: str, proxy: dict, region: str) -> None:
        for name, (kind, wanted_type) in schema.PROXY_REFERENCES.items():
            ref = self.store.get(kind, proxy[name])
            if ref is None or ref.client_id != client_id:
                raise ApiError(400, "VALIDATION_ERROR", f"{name}: no {kind} {proxy[name]} in this client")
            if wanted_type and ref.doc["credentialType"] != wanted_type:
                raise ApiError(400, "VALIDATION_ERROR",
                               f"{name}: must be a credential of credentialType {wanted_type} "
                               f"(credential {ref.id} is {ref.doc['credentialType']})")
            ref_region = ref.doc[f"{kind}Region"]
            if ref_region != region:
                raise ApiError(400, "VALIDATION_ERROR",
                               f"{name}: must be in the proxy's region {region} ({kind} {ref.id} is in {ref_region})")

    # -- rules --------------------------------------------------------------------------------------------------

    def _rule_parent(self, client_id: str, parent_plural: str, parent_id: str) -> Item:
        kind = schema.RULE_PARENTS[parent_plural]
        parent = self.store.get(kind, parent_id)
        if parent is None or parent.client_id != client_id:
            raise not_found(kind)
        return parent

    def list_rules(self, user: User, client_id: str, parent_plural: str, parent_id: str, query: dict) -> str:
        page, limit = self._page(query)
        with self.store.read() as s:
            self.check_access(user, client_id)
            self._rule_parent(client_id, parent_plural, parent_id)
            docs, total = s.page("rule", parent_id=parent_id, include_hidden=True,
                                 offset=(page - 1) * limit, limit=limit)
        return envelope("rules", docs, pagination(page, limit, total))

    def create_rule(self, user: User, client_id: str, parent_plural: str, parent_id: str, body: dict,
                    compiled: schema.Compiled = schema.compile_error) -> str:
        with self.store.write() as s:
            self.check_access(user, client_id)
            parent = self._rule_parent(client_id, parent_plural, parent_id)
            try:
                fields = schema.check_rule(body, compiled)
            except Invalid as exc:
                raise bad_request(exc) from None
            rule_id, now = new_id(), now_iso()
            doc = {"sKey": rule_id, "pKey": client_id, "clientId": client_id, "userId": user.user_id,
                   "parentId": parent.id, "ruleParentType": parent.kind, **fields,
                   "ruleCreatedAt": now, "ruleUpdatedAt": now}
            s.insert("rule", rule_id, client_id, parent.id, doc)
        return envelope("rules", [json.dumps(doc)])

    def delete_rule(self, user: User, client_id: str, parent_plural: str, parent_id: str, rule_id: str) -> str:
        with self.store.write() as s:
            self.check_access(user, client_id)
            self._rule_parent(client_id, parent_plural, parent_id)
            rule = s.get("rule", rule_id)
            if rule is None or rule.parent_id != parent_id:
                raise not_found("rule")
            s.delete(rule_id)
        return DELETED

    # -- admin helpers (outside the contract) -------------------------------------------------------------------

    def add_member(self, client_id: str, user_name: str, roles: list[str]) -> dict:
        with self.store.write() as s:
            state = s.access(client_id, "")
            if state is None or state[0]:
                raise not_found("client")
            row = s.user_by_name(user_name)
            if row is None:
                raise not_found("user")
            s.put_member(client_id, row[0], roles)
            return {"clientId": client_id, "clientMembers": s.members_of(client_id)}

    def authorize_credential(self, client_id: str, credential_id: str) -> str:
        """Finish a temporary oauth2 credential's authorisation: it becomes a normal, listed credential."""
        with self.store.write() as s:
            item = self._owned(schema.CREDENTIALS, client_id, credential_id)
            doc = item.doc
            doc["credentialTemporary"] = False
            doc["credentialUpdatedAt"] = now_iso(after=doc["credentialUpdatedAt"])
            s.update(credential_id, doc, hidden=False)
        return envelope("credentials", [json.dumps(doc)])

    # -- validation helpers -------------------------------------------------------------------------------------

    @staticmethod
    def _page(query: dict[str, str]) -> tuple[int, int]:
        try:
            return schema.check_page(query)
        except Invalid as exc:
            raise bad_request(exc) from None

    def _check_fields(self, fields, body: dict, create: bool, res: Resource | None = None,
                      current: dict | None = None) -> dict:
        """Validate a create (all fields, defaults filled) or update (only the fields sent) body."""
        try:
            names = res.names if res is not None else tuple(f.name for f in fields)
            server = [k for k in body if res is not None and k in res.server_fields]
            if server:
                raise Invalid(f"{schema.one_of(sorted(server))}: set by the server, cannot be written")
            schema.check_unknown("", body, names)
            values: dict[str, Any] = {}
            for f in fields:
                if f.name not in body:
                    if create:
                        if f.required:
                            raise Invalid(f"{f.name}: is required")
                        values[f.name] = f.default
                    continue
                value = body[f.name]
                if value is None:
                    if f.required:
                        raise Invalid(f"{f.name}: is required and must not be null")
                    values[f.name] = f.default
                    continue
                if f.immutable and current is not None and value != current.get(f.name):
                    raise Invalid(f"{f.name}: is immutable; it cannot change from {current.get(f.name)!r}",
                                  code="IMMUTABLE_FIELD")
                values[f.name] = f.check(value, self.regions)
            return values
        except Invalid as exc:
            raise bad_request(exc) from None

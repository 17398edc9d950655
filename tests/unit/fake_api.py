"""A tiny in-memory Core API behind the client's transport interface (`rr_pulumi.api.transport`), for pure client and
provider tests: give it to the client as `transport=`.

It speaks section 0 in its simplest form (named-array envelopes, sKey ids, page/limit pagination) and can be
told to answer differently: `envelope="data"`, `id_field="credentialId"`, or a queue of scripted failures.
"""

from __future__ import annotations

import itertools
import json as jsonlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional
from urllib.parse import parse_qs, urlencode, urlparse

from rr_pulumi.schema import kinds
from rr_pulumi.api.transport import Response

TOKEN = "u-test-token-0123456789"


@dataclass
class SentRequest:
    """One request as the transport was asked to send it."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any


class FakeApi:
    def __init__(self, envelope: str = "named", id_field: str = "sKey", id_prefix: str = "") -> None:
        self.envelope, self.id_field, self.id_prefix = envelope, id_field, id_prefix
        self.collections: dict[str, dict[str, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, Any, dict[str, str]]] = []
        self.script: list[tuple[int, Any, dict[str, str]]] = []  # queued (status, body, headers) answers
        self.apply_then_fail: Optional[int] = None  # apply the next POST, then answer with this status
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)

    # -- helpers for tests -------------------------------------------------------------------------------------
    def put(self, collection: str, item: dict[str, Any]) -> dict[str, Any]:
        plural = collection.rsplit("/", 1)[-1]
        id_ = f"{self.id_prefix}{next(self._ids)}"
        item = {**item, self.id_field: id_}
        if plural == "clients":
            item["clientId"] = id_
        # Now (as a server stamps it), a millisecond apart per object: an object's age is what ownership judges.
        moment = datetime.now(timezone.utc) + timedelta(milliseconds=next(self._clock))
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        singular = kinds.by_plural(plural).word
        item.setdefault(f"{singular}CreatedAt", stamp)
        item[f"{singular}UpdatedAt"] = stamp
        self.collections.setdefault(collection, {})[id_] = item
        return item

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _, _ in self.requests if m != "GET"]

    # -- transport ---------------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Optional[dict[str, Any]] = None,
        json: Any = None,
        headers: Optional[dict[str, str]] = None,
        timeout: tuple[float, float],
    ) -> Response:
        query = urlencode([(k, str(v)) for k, v in (params or {}).items()])
        return self.send(SentRequest(method, url + (f"?{query}" if query else ""), dict(headers or {}), json))

    def send(self, request: SentRequest) -> Response:
        """Answer one request (tests replace it to script what happens around the answer)."""
        url = urlparse(request.url)
        path = url.path.removeprefix("/api") if url.path.startswith("/api/") else url.path
        body = jsonlib.loads(jsonlib.dumps(request.body)) if request.body is not None else None  # as on the wire
        self.requests.append((request.method, url.path, body, request.headers))
        if request.headers.get("Authorization") != TOKEN:
            return self._answer(401, {"error": "Unauthorized", "code": "UNAUTHORIZED", "status": 401})
        if self.script:
            status, payload, headers = self.script.pop(0)
            if isinstance(payload, Exception):
                raise payload
            return self._answer(status, payload, headers)
        status, payload = self._route(request.method, path, parse_qs(url.query), body)
        if self.apply_then_fail and request.method == "POST":
            status, payload, self.apply_then_fail = self.apply_then_fail, {"error": "boom", "code": "INTERNAL"}, None
        return self._answer(status, payload)

    def _route(self, method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if len(parts) % 2 == 1:  # a collection
            collection = "/api/" + "/".join(parts)
            plural = parts[-1]
            if method == "GET":
                if len(parts) > 1 and "/api/" + "/".join(parts[:-2]) not in self.collections:
                    pass
                items = list(self.collections.get(collection, {}).values())
                page, limit = int(query.get("page", ["1"])[0]), int(query.get("limit", ["20"])[0])
                if limit > 100:
                    return 400, {"error": "limit too high", "code": "VALIDATION_ERROR", "status": 400}
                chunk = items[(page - 1) * limit : page * limit]
                pagination = {"page": page, "limit": limit, "total": len(items), "pages": max(1, math.ceil(len(items) / limit))}
                return 200, self._envelope(plural, chunk, pagination)
            if method == "POST":
                return 201, self._envelope(plural, [self.put(collection, dict(body or {}))])
        else:
            collection, id_ = "/api/" + "/".join(parts[:-1]), parts[-1]
            plural = parts[-2]
            items = self.collections.get(collection, {})
            if id_ not in items:
                return 404, {"error": "Not found", "code": "NOT_FOUND", "status": 404}
            if method == "GET":
                return 200, self._envelope(plural, [items[id_]])
            if method == "PUT":
                item = items[id_]
                item.update({k: v for k, v in (body or {}).items() if k != "credentialSecret"})
                item[f"{kinds.by_plural(plural).word}UpdatedAt"] = f"2026-01-01T00:01:{next(self._clock):02d}.000Z"
                return 200, self._envelope(plural, [item])
            if method == "DELETE":
                del items[id_]
                for key in [k for k in self.collections if k.startswith(f"{collection}/{id_}/")]:
                    del self.collections[key]
                return 200, {"message": "Success"}
        return 405, {"error": "Method not allowed", "code": "METHOD_NOT_ALLOWED", "status": 405}

    def _envelope(self, plural: str, items: list, pagination: Optional[dict] = None) -> Any:
        if self.envelope == "data":
            return {"data": items, **({"pagination": pagination} if pagination else {})}
        return {plural: items, "message": "Success", **({"pagination": pagination} if pagination else {})}

    @staticmethod
    def _answer(status: int, payload: Any, headers: Optional[dict] = None) -> Response:
        content = payload.encode() if isinstance(payload, str) else payload if isinstance(payload, bytes) else (
            jsonlib.dumps(payload).encode()
        )
        return Response(status, {"Content-Type": "application/json", **(headers or {})}, content)

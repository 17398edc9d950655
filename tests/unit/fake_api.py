"""A tiny in-memory Core API behind a `requests` transport adapter, for pure client and provider tests.

It speaks section 0 in its simplest form (named-array envelopes, sKey ids, page/limit pagination) and can be
told to answer differently: `envelope="data"`, `id_field="credentialId"`, or a queue of scripted failures.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any, Optional
from urllib.parse import parse_qs, urlparse

import requests
from requests.adapters import BaseAdapter

from rr_pulumi import kinds

TOKEN = "u-test-token-0123456789"


class FakeApi(BaseAdapter):
    def __init__(self, envelope: str = "named", id_field: str = "sKey", id_prefix: str = "") -> None:
        super().__init__()
        self.envelope, self.id_field, self.id_prefix = envelope, id_field, id_prefix
        self.collections: dict[str, dict[str, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, Any, dict[str, str]]] = []
        self.script: list[tuple[int, Any, dict[str, str]]] = []  # queued (status, body, headers) answers
        self.apply_then_fail: Optional[int] = None  # apply the next POST, then answer with this status
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)

    # -- helpers for tests -------------------------------------------------------------------------------------
    def session(self) -> requests.Session:
        s = requests.Session()
        s.mount("http://", self)
        return s

    def put(self, collection: str, item: dict[str, Any]) -> dict[str, Any]:
        plural = collection.rsplit("/", 1)[-1]
        id_ = f"{self.id_prefix}{next(self._ids)}"
        item = {**item, self.id_field: id_}
        if plural == "clients":
            item["clientId"] = id_
        stamp = f"2026-01-01T00:00:{next(self._clock):02d}.000Z"
        singular = kinds.by_plural(plural).word
        item.setdefault(f"{singular}CreatedAt", stamp)
        item[f"{singular}UpdatedAt"] = stamp
        self.collections.setdefault(collection, {})[id_] = item
        return item

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _, _ in self.requests if m != "GET"]

    # -- transport ---------------------------------------------------------------------------------------------
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = urlparse(request.url)
        path = url.path.removeprefix("/api") if url.path.startswith("/api/") else url.path
        body = json.loads(request.body) if request.body else None
        self.requests.append((request.method, url.path, body, dict(request.headers)))
        if request.headers.get("Authorization") != TOKEN:
            return self._answer(request, 401, {"error": "Unauthorized", "code": "UNAUTHORIZED", "status": 401})
        if self.script:
            status, payload, headers = self.script.pop(0)
            if isinstance(payload, Exception):
                raise payload
            return self._answer(request, status, payload, headers)
        status, payload = self._route(request.method, path, parse_qs(url.query), body)
        if self.apply_then_fail and request.method == "POST":
            status, payload, self.apply_then_fail = self.apply_then_fail, {"error": "boom", "code": "INTERNAL"}, None
        return self._answer(request, status, payload)

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
    def _answer(request: requests.PreparedRequest, status: int, payload: Any, headers: Optional[dict] = None) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(payload).encode() if not isinstance(payload, (bytes, str)) else (
            payload.encode() if isinstance(payload, str) else payload
        )
        response.headers.update({"Content-Type": "application/json", **(headers or {})})
        response.request = request
        response.url = request.url
        return response

    def close(self) -> None:
        pass

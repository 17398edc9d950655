"""HTTP layer: thin routes from the contract paths to backend calls, plus the `/_emulator/` admin API.

Contract requests go through one small ASGI pipeline (stats → faults → auth → rate limit → body → route → backend)
so that the order of checks is explicit and every failure is a contract error body, never a stack trace or HTML.
The admin API and /openapi.json are a FastAPI app beside it.
"""
from __future__ import annotations

import asyncio
import json
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import schema
from .backend import ApiError, Backend, User
from .faults import NO_FAULT, Faults, FaultSpec

MAX_BODY = 1024 * 1024
JSON_HEADERS = [(b"content-type", b"application/json")]


@dataclass
class Call:
    """What a route handler gets: the authenticated caller and the request's parts."""

    user: User
    params: dict[str, str]
    query: dict[str, str]
    body: bytes

    def json(self, required: bool = True) -> dict:
        """The body as a JSON object (400 INVALID_JSON / VALIDATION_ERROR otherwise); {} for an optional empty body."""
        if not self.body.strip():
            if required:
                raise ApiError(400, "VALIDATION_ERROR", "body: a JSON object is required")
            return {}
        try:
            value = json.loads(self.body, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ApiError(400, "INVALID_JSON", f"body: malformed JSON ({exc})") from None
        if not isinstance(value, dict):
            raise ApiError(400, "VALIDATION_ERROR", "body: must be a JSON object")
        return value


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


# -- routes ---------------------------------------------------------------------------------------------------------

@dataclass
class Route:
    template: str                                   # the /api/... form, as counted in stats
    handlers: dict[str, Callable[[Call], str]]
    created: frozenset = frozenset()                # methods answered with 201
    regex: re.Pattern = field(init=False)

    def __post_init__(self):
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template[len("/api"):])
        self.regex = re.compile(f"^(?:/api)?{pattern}$")


def build_routes(b: Backend) -> list[Route]:
    def write(call: Call, required: bool = True) -> dict:
        """Writes check the client (404) and membership (403) before they look at the body (400)."""
        b.check_access(call.user, call.params["clientId"])
        return call.json(required)

    routes = [
        Route("/api/clients", {
            "GET": lambda c: b.list_clients(c.user, c.query),
            "POST": lambda c: b.create_client(c.user, c.json()),
        }, created=frozenset({"POST"})),
        Route("/api/clients/{clientId}", {
            "GET": lambda c: b.get_client(c.user, c.params["clientId"]),
            "PUT": lambda c: b.update_client(c.user, c.params["clientId"], write(c)),
            "DELETE": lambda c: b.delete_client(c.user, c.params["clientId"], write(c, required=False)),
        }),
    ]
    for res in schema.RESOURCES.values():
        base = f"/api/clients/{{clientId}}/{res.plural}"
        one = f"{base}/{{{res.id_param}}}"
        routes += resource_routes(b, res, base, one, write)
    return routes


def resource_routes(b: Backend, res: schema.Resource, base: str, one: str, write) -> list[Route]:
    def cid(c: Call) -> str:
        return c.params["clientId"]

    def rid(c: Call) -> str:
        return c.params[res.id_param]

    return [
        Route(base, {
            "GET": lambda c: b.list_resources(c.user, cid(c), res, c.query),
            "POST": lambda c: b.create_resource(c.user, cid(c), res, write(c)),
        }, created=frozenset({"POST"})),
        Route(one, {
            "GET": lambda c: b.get_resource(c.user, cid(c), res, rid(c)),
            "PUT": lambda c: b.update_resource(c.user, cid(c), res, rid(c), write(c)),
            "DELETE": lambda c: b.delete_resource(c.user, cid(c), res, rid(c)),
        }),
        Route(f"{one}/rules", {
            "GET": lambda c: b.list_rules(c.user, cid(c), res.plural, rid(c), c.query),
            "POST": lambda c: b.create_rule(c.user, cid(c), res.plural, rid(c), write(c)),
        }, created=frozenset({"POST"})),
        Route(f"{one}/rules/{{ruleId}}", {
            "DELETE": lambda c: b.delete_rule(c.user, cid(c), res.plural, rid(c), c.params["ruleId"]),
        }),
    ]


def match(routes: list[Route], path: str) -> tuple[Route | None, dict[str, str]]:
    for route in routes:
        m = route.regex.match(path)
        if m:
            return route, m.groupdict()
    return None, {}


# -- stats ----------------------------------------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.started = time.time()
        self.routes: dict[str, dict[str, int]] = {}
        self.statuses: dict[str, int] = {}
        self.injected = {"rate429": 0, "err500": 0, "err503": 0, "drop_before": 0, "drop_after": 0}
        self.total = 0

    def count(self, template: str, method: str) -> None:
        self.total += 1
        by_method = self.routes.setdefault(template, {})
        by_method[method] = by_method.get(method, 0) + 1

    def status(self, status: int) -> None:
        key = str(status)
        self.statuses[key] = self.statuses.get(key, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "routes": self.routes,
            "statuses": self.statuses,
            "injected": dict(self.injected),
            "injected429": self.injected["rate429"],
            "injected5xx": self.injected["err500"] + self.injected["err503"],
            "rateLimited": self.statuses.get("429", 0) - self.injected["rate429"],
            "since": self.started,
        }


# -- the ASGI application -------------------------------------------------------------------------------------------

def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("[REDACTED]" if k == "credentialSecret" else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


class EmulatorApp:
    def __init__(self, backend: Backend, faults: Faults, admin_token: str, log_requests: bool = False,
                 data_plane_url: str | None = None, log=sys.stderr):
        self.backend = backend
        self.faults = faults
        self.stats = Stats()
        self.routes = build_routes(backend)
        self.log_requests = log_requests
        self.log = log
        self.admin = build_admin_app(self, admin_token, data_plane_url)
        from .dataplane import DataPlane  # the data plane: its own module, mounted here (docs/emulator.md)
        self.dataplane = DataPlane(backend.store, admin_token, log)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.dataplane.serves(scope["path"]):
            return await self.dataplane(scope, receive, send)
        if scope["type"] != "http" or scope["path"].startswith("/_emulator") or scope["path"] == "/openapi.json":
            await self.admin(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"]
        route, params = match(self.routes, scope["path"])
        self.stats.count(route.template if route else "<unmatched>", method)
        decision = self.faults.draw()
        if decision is not NO_FAULT:
            if decision.delay:
                await asyncio.sleep(decision.delay)
            if decision.inject:
                self.stats.injected[decision.inject] += 1
                if decision.inject == "drop_before":
                    await drop_connection(send)
                    return
                error = {"rate429": ApiError(429, "RATE_LIMITED", "injected fault", {"Retry-After": "1"}),
                         "err500": ApiError(500, "INTERNAL_ERROR", "injected fault"),
                         "err503": ApiError(503, "SERVICE_UNAVAILABLE", "injected fault", {"Retry-After": "1"}),
                         }[decision.inject]
                await self._send(send, error.status, json.dumps(error.body()), error.headers)
                return
        status, body, headers, raw = await self._handle(scope, receive, method, route, params)
        if decision.drop_after:
            self.stats.injected["drop_after"] += 1
            await drop_connection(send)
            return
        await self._send(send, status, body, headers)
        if self.log_requests:
            self._log(scope, status, raw, started)

    async def _handle(self, scope, receive, method: str, route: Route | None, params: dict):
        raw = b""
        try:
            token, length, chunked = None, None, False
            for name, value in scope["headers"]:
                if name == b"authorization":
                    token = value.decode("latin-1")
                elif name == b"content-length":
                    length = value
                elif name == b"transfer-encoding":
                    chunked = True
            user = self.backend.authenticate(token)
            self.backend.throttle(token, user)
            if length is not None or chunked or method not in ("GET", "HEAD", "DELETE"):
                raw = await read_body(receive, length)
            if route is None:
                raise ApiError(404, "NOT_FOUND", f"no route {scope['path']}")
            handler = route.handlers.get(method)
            if handler is None:
                raise ApiError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here; allowed: "
                               f"{', '.join(route.handlers)}", {"Allow": ", ".join(route.handlers)})
            query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
            body = handler(Call(user, params, query, raw))
            return (201 if method in route.created else 200), body, None, raw
        except ApiError as exc:
            return exc.status, json.dumps(exc.body()), exc.headers, raw
        except Exception:  # never leak a stack trace to the client
            traceback.print_exc(file=self.log)
            error = ApiError(500, "INTERNAL_ERROR", "unexpected emulator error")
            return 500, json.dumps(error.body()), None, raw

    async def _send(self, send, status: int, body: str, headers: dict | None) -> None:
        self.stats.status(status)
        payload = body.encode()
        head = [*JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
        if headers:
            head += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": payload})

    def _log(self, scope, status: int, raw: bytes, started: float) -> None:
        shown = ""
        if raw:
            try:
                shown = " " + json.dumps(redact(json.loads(raw)))
            except (ValueError, UnicodeDecodeError, RecursionError):
                shown = f" <{len(raw)} bytes, not JSON>"   # unparsed bodies are never echoed: they may hold secrets
        query = scope["query_string"].decode("latin-1")
        path = scope["path"] + (f"?{query}" if query else "")
        ms = (time.perf_counter() - started) * 1000
        print(f"{scope['method']} {path} {status} {ms:.1f}ms{shown}", file=self.log, flush=True)


async def read_body(receive, length: bytes | None) -> bytes:
    if length is not None:
        try:
            if int(length) > MAX_BODY:
                raise ApiError(413, "PAYLOAD_TOO_LARGE", f"body: larger than {MAX_BODY} bytes")
        except ValueError:
            raise ApiError(400, "INVALID_JSON", "body: bad Content-Length") from None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, "PAYLOAD_TOO_LARGE", f"body: larger than {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def drop_connection(send) -> None:
    """Close the TCP connection without any response (the client sees a reset / empty reply)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("injected connection drop")
    transport.abort()
    await asyncio.sleep(0)   # let the server notice the disconnect before the app returns


# -- admin API (outside the contract) -------------------------------------------------------------------------------

def build_admin_app(emulator: EmulatorApp, admin_token: str, data_plane_url: str | None) -> FastAPI:
    from .openapi import openapi_document

    app = FastAPI(title="RequestRocket emulator admin", docs_url=None, redoc_url=None, openapi_url=None)
    backend = emulator.backend

    def error(status: int, code: str, message: str | None = None, headers=None) -> Response:
        return Response(json.dumps(ApiError(status, code, message).body()), status, headers=headers,
                        media_type="application/json")

    def ok(body: Any, status: int = 200) -> Response:
        return Response(body if isinstance(body, str) else json.dumps(body), status, media_type="application/json")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "ERROR")
        return error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return error(exc.status, exc.code, exc.message, exc.headers or None)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception):
        return error(500, "INTERNAL_ERROR", "unexpected emulator error")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if request.url.path not in ("/_emulator/health", "/openapi.json") \
                and request.headers.get("authorization") != admin_token:
            return error(401, "UNAUTHORIZED", "admin token required")
        return await call_next(request)

    async def body_of(request: Request) -> Any:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ApiError(413, "PAYLOAD_TOO_LARGE")
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise ApiError(400, "INVALID_JSON", "body: malformed JSON") from None

    @app.get("/openapi.json")
    async def openapi():
        return ok(openapi_document(backend.regions))

    @app.get("/_emulator/health")
    async def health():
        return ok({"status": "ok", "dataPlaneUrl": data_plane_url, "regions": list(backend.regions)})

    @app.get("/_emulator/stats")
    async def stats():
        return ok(emulator.stats.to_dict())

    @app.post("/_emulator/stats/reset")
    async def reset_stats():
        emulator.stats.reset()
        return ok({"message": "Success"})

    @app.get("/_emulator/faults")
    async def get_faults():
        return ok(emulator.faults.to_dict())

    @app.put("/_emulator/faults")
    async def put_faults(request: Request):
        body = await body_of(request)
        try:
            if isinstance(body, str):
                spec, seed = FaultSpec.parse(body), None
            elif isinstance(body, dict):
                body = dict(body)
                seed = body.pop("seed", None)
                if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                    raise ValueError("seed must be an integer")
                spec = FaultSpec.from_dict(body)
            else:
                raise ValueError("body must be a JSON object or a spec string")
        except ValueError as exc:
            raise ApiError(400, "VALIDATION_ERROR", str(exc)) from None
        emulator.faults.configure(spec, seed if seed is not None else emulator.faults.seed)
        return ok(emulator.faults.to_dict())

    @app.post("/_emulator/users")
    async def create_user(request: Request):
        body = await body_of(request)
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise ApiError(400, "VALIDATION_ERROR", "name: is required (string); optional: plan, token")
        user, token = backend.ensure_user(body["name"], body.get("plan"), body.get("token"))
        return ok({"userId": user.user_id, "name": user.name, "plan": user.plan, "token": token}, 201)

    @app.post("/_emulator/clients/{client_id}/members")
    async def add_member(client_id: str, request: Request):
        body = await body_of(request)
        roles = body.get("roles", ["admin"]) if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(body.get("userName"), str) or not isinstance(roles, list) \
                or not all(isinstance(r, str) for r in roles):
            raise ApiError(400, "VALIDATION_ERROR", "userName: is required (string); roles: array of strings")
        return ok(backend.add_member(client_id, body["userName"], roles))

    @app.post("/_emulator/clients/{client_id}/credentials/{credential_id}/authorize")
    async def authorize(client_id: str, credential_id: str):
        return ok(backend.authorize_credential(client_id, credential_id))

    return app

"""HTTP layer: thin routes from the contract paths to backend calls; the admin API lives in admin.py.

Contract requests go through one small ASGI pipeline (stats → faults → auth → rate limit → body → route → backend)
so that the order of checks is explicit and every failure is a contract error body, never a stack trace or HTML.
Other ASGI apps (the admin API, a data plane) are mounted by path prefix with `EmulatorApp.mount`.
"""
from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote

from rr_pulumi.emulator import schema
from rr_pulumi.emulator.backend import ApiError, Backend, User
from rr_pulumi.emulator.bodies import declared_length, parse_json, read_body
from rr_pulumi.emulator.faults import NO_FAULT, Faults
from rr_pulumi.emulator.gates import Gates
from rr_pulumi.emulator.patterns import PatternCompiler
from rr_pulumi.emulator.redaction import printable, redact
from rr_pulumi.emulator.request_log import RequestLog

JSON_HEADERS = [(b"content-type", b"application/json")]
COMPILE_THREADS = 8      # rule creations waiting for the pattern compile worker at once
COMPILES_PER_USER = 2    # ... of which one user may hold this many


@dataclass
class Call:
    """What a route handler gets: the authenticated caller and the request's parts."""

    user: User
    params: dict[str, str]
    query: dict[str, str]
    body: bytes
    compiled: schema.Compiled = schema.compile_error   # how rule patterns are judged (the compile worker's answers)
    _parsed: Any = field(default=None, repr=False)

    def json(self, required: bool = True) -> dict:
        """The body as a JSON object (400 INVALID_JSON / VALIDATION_ERROR otherwise); {} for an optional empty body."""
        if not self.body.strip():
            if required:
                raise ApiError(400, "VALIDATION_ERROR", "body: a JSON object is required")
            return {}
        if self._parsed is None:
            self._parsed = parse_json(self.body)
        if not isinstance(self._parsed, dict):
            raise ApiError(400, "VALIDATION_ERROR", "body: must be a JSON object")
        return self._parsed


# -- routes ---------------------------------------------------------------------------------------------------------

@dataclass
class Route:
    template: str                                   # the /api/... form, as counted in stats
    handlers: dict[str, Callable[[Call], str]]
    created: frozenset = frozenset()                # methods answered with 201
    compiles: frozenset = frozenset()               # methods whose body holds rule patterns to compile
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
            "POST": lambda c: b.create_rule(c.user, cid(c), res.plural, rid(c), write(c), c.compiled),
        }, created=frozenset({"POST"}), compiles=frozenset({"POST"})),
        Route(f"{one}/rules/{{ruleId}}", {
            "DELETE": lambda c: b.delete_rule(c.user, cid(c), res.plural, rid(c), c.params["ruleId"]),
        }),
    ]


def match(routes: list[Route], raw_path: str) -> tuple[Route | None, dict[str, str]]:
    """Routes match the raw (still percent-encoded) path, so `%2F` stays inside its segment; ids are then decoded."""
    for route in routes:
        m = route.regex.match(raw_path)
        if m:
            try:
                return route, {k: unquote(v, errors="strict") for k, v in m.groupdict().items()}
            except UnicodeDecodeError:
                return None, {}   # an id that is not UTF-8 names nothing
    return None, {}


def raw_path(scope) -> str:
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else scope["path"]


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



class EmulatorApp:
    def __init__(self, backend: Backend, faults: Faults, admin_token: str, log_requests: bool = False,
                 data_plane_url: str | None = None, log=sys.stderr):
        from rr_pulumi.emulator.admin import build_admin_app

        self.backend = backend
        self.faults = faults
        self.stats = Stats()
        self.requests = RequestLog()  # GET /_emulator/requests
        self.routes = build_routes(backend)
        self.compiler = PatternCompiler()
        threading.Thread(target=self.compiler.warm_up, daemon=True).start()
        # Rule creations wait for the compile worker in threads of their own pool (not the loop's default one), and
        # one user holds at most COMPILES_PER_USER of them: a flood of slow patterns stalls only its own sender.
        self.compile_threads = ThreadPoolExecutor(COMPILE_THREADS, thread_name_prefix="rr-compile")
        self.compile_gates = Gates(COMPILES_PER_USER)
        self.log_requests = log_requests
        self.log = log
        self.mounts: list[tuple[str, Any]] = []
        from rr_pulumi.emulator.dataplane import ADMIN_PATH, BASE_PATH, DataPlane  # its own module (docs/emulator.md)

        self.dataplane = DataPlane(backend.store, admin_token, log)
        self.mount(BASE_PATH, self.dataplane)  # before the admin API: its admin routes live under /_emulator
        self.mount(ADMIN_PATH, self.dataplane)
        admin = build_admin_app(self, admin_token, data_plane_url)
        self.admin = admin  # also serves the server's lifespan events
        self.mount("/_emulator", admin)
        self.mount("/openapi.json", admin)

    def mount(self, prefix: str, app) -> None:
        """Serve every path starting with `prefix` by another ASGI app (the admin API, a data plane)."""
        self.mounts.append((prefix, app))

    def close(self) -> None:
        try:
            self.compiler.close()
            self.compile_threads.shutdown(wait=False)
        finally:
            self.dataplane.close()

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        # A prefix is whole segments: `/dataplane` serves `/dataplane/...`, never `/dataplaneX/...`.
        mounted = next((app for prefix, app in self.mounts if path == prefix or path.startswith(prefix + "/")), None)
        if scope["type"] != "http" or mounted is not None:
            await (mounted or self.admin)(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"]
        route, params = match(self.routes, raw_path(scope))
        self.stats.count(route.template if route else "<unmatched>", method)
        # The whole body is taken in before any injected delay, as a server's front end buffers it: a client that
        # goes away after sending it has still made its request (the ambiguous case retries and recovery handle).
        body = await self._buffer(scope, receive, method)
        decision = self.faults.draw()
        if decision is not NO_FAULT:
            if decision.delay:
                await asyncio.sleep(decision.delay)
            if decision.inject:
                self.requests.record(method, raw_path(scope), fault=decision.inject)
                await self._inject(send, decision.inject)
                return
        status, answer, headers, raw = await self._handle(scope, body, method, route, params)
        self.requests.record(method, raw_path(scope), status, "drop_after" if decision.drop_after else None, answer)
        if decision.drop_after:
            self.stats.injected["drop_after"] += 1
            await drop_connection(send)
            return
        await self._send(send, status, answer, headers)
        if self.log_requests:
            self._log(scope, status, raw, started)

    async def _inject(self, send, fault: str) -> None:
        self.stats.injected[fault] += 1
        if fault == "drop_before":
            await drop_connection(send)
            return
        error = {"rate429": ApiError(429, "RATE_LIMITED", "injected fault", {"Retry-After": "1"}),
                 "err500": ApiError(500, "INTERNAL_ERROR", "injected fault"),
                 "err503": ApiError(503, "SERVICE_UNAVAILABLE", "injected fault", {"Retry-After": "1"}),
                 }[fault]
        await self._send(send, error.status, json.dumps(error.body()), error.headers)

    @staticmethod
    async def _buffer(scope, receive, method: str) -> bytes | ApiError:
        """The request's whole body, or the error reading it gave (answered in its turn, after 401 and 429)."""
        headers = dict(scope["headers"])
        try:
            length = declared_length(headers.get(b"content-length"))
            if length is not None or b"transfer-encoding" in headers or method not in ("GET", "HEAD", "DELETE"):
                return await read_body(receive, length)
        except ApiError as exc:
            return exc
        return b""

    async def _handle(self, scope, body: bytes | ApiError, method: str, route: Route | None, params: dict):
        raw = b""
        try:
            headers = dict(scope["headers"])
            token = headers[b"authorization"].decode("latin-1") if b"authorization" in headers else None
            user = self.backend.authenticate(token)
            assert token is not None  # authenticate() answered 401 otherwise
            self.backend.throttle(token, user)
            if isinstance(body, ApiError):
                raise body
            raw = body
            route, handler = self._handler(scope, method, route)
            query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
            call = Call(user, params, query, raw)
            if method in route.compiles:
                call.compiled = await self._compile_patterns(call)
            return (201 if method in route.created else 200), handler(call), None, raw
        except ApiError as exc:
            return exc.status, json.dumps(exc.body()), exc.headers, raw
        except Exception:  # never leak a stack trace to the client
            traceback.print_exc(file=self.log)
            error = ApiError(500, "INTERNAL_ERROR", "unexpected emulator error")
            return 500, json.dumps(error.body()), None, raw

    @staticmethod
    def _handler(scope, method: str, route: Route | None) -> tuple[Route, Callable[[Call], str]]:
        """The route (404 when none) and its handler of the method (405 when none)."""
        if route is None:
            raise ApiError(404, "NOT_FOUND", f"no route {printable(raw_path(scope))}")
        handler = route.handlers.get(method)
        if handler is None:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here; allowed: "
                           f"{', '.join(route.handlers)}", {"Allow": ", ".join(route.handlers)})
        return route, handler

    async def _compile_patterns(self, call: Call) -> schema.Compiled:
        """Compile the body's rule patterns in the worker, in a thread: the event loop keeps serving others."""
        try:
            patterns = schema.rule_patterns(call.json())
        except ApiError:
            return schema.compile_error   # the handler answers the bad body; no pattern gets compiled
        if sum(len(p) for p, _ in patterns) > schema.RULE_PATTERNS_MAX_CHARS:
            return schema.compile_error   # refused for its size before any pattern is looked at
        async with self.compile_gates.hold(call.user.user_id):
            results = await asyncio.get_running_loop().run_in_executor(self.compile_threads, self.compiler.check,
                                                                       patterns)

        def compiled(pattern: str, flags: int) -> str | None:
            if (pattern, flags) in results:
                return results[(pattern, flags)]
            raise AssertionError(f"pattern not pre-compiled: {pattern[:40]!r}")   # rule_patterns missed one

        return compiled

    async def _send(self, send, status: int, body: str, headers: dict | None) -> None:
        self.stats.status(status)
        payload = body.encode()
        head = [*JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
        if headers:
            head += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": payload})

    def _log(self, scope, status: int, raw: bytes, started: float) -> None:
        print(log_line(scope, status, raw, (time.perf_counter() - started) * 1000), file=self.log, flush=True)


def log_line(scope, status: int, raw: bytes, ms: float) -> str:
    """One request as one line: the raw (percent-encoded) path, control characters escaped, secrets redacted."""
    shown = ""
    if raw:
        try:
            shown = " " + json.dumps(redact(parse_json(raw)))
        except ApiError:
            shown = f" <{len(raw)} bytes, not JSON>"   # unparsed bodies are never echoed: they may hold secrets
    query = scope["query_string"].decode("latin-1")
    path = raw_path(scope) + (f"?{query}" if query else "")
    return printable(f"{scope['method']} {path} {status} {ms:.1f}ms{shown}")


async def drop_connection(send) -> None:
    """Close the TCP connection without any response (the client sees a reset / empty reply)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("injected connection drop")
    transport.abort()
    await asyncio.sleep(0)   # let the server notice the disconnect before the app returns

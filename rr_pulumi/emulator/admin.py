"""The `/_emulator/` admin API (outside the contract) and `/openapi.json`: a FastAPI app mounted by EmulatorApp.

Every input is validated here or in the backend: a wrong JSON type is a 400 naming the field, never a 500.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from rr_pulumi.emulator.backend import ApiError, check_user_fields
from rr_pulumi.emulator.bodies import MAX_BODY, parse_json
from rr_pulumi.emulator.faults import FaultSpec

if TYPE_CHECKING:
    from rr_pulumi.emulator.app import EmulatorApp

ROLE_MAX = 100
USER_FIELDS = ("name", "plan", "token")
MEMBER_FIELDS = ("userName", "roles")


def error(status: int, code: str, message: str | None = None, headers=None) -> Response:
    return Response(json.dumps(ApiError(status, code, message).body()), status, headers=headers,
                    media_type="application/json")


def ok(body: Any, status: int = 200) -> Response:
    return Response(body if isinstance(body, str) else json.dumps(body), status, media_type="application/json")


async def body_of(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "PAYLOAD_TOO_LARGE")
    return parse_json(raw) if raw.strip() else {}


def json_object(body: Any, allowed: tuple[str, ...]) -> dict:
    if not isinstance(body, dict):
        raise ApiError(400, "VALIDATION_ERROR", "body: must be a JSON object")
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        raise ApiError(400, "VALIDATION_ERROR", f"unknown field(s) {', '.join(unknown)}; allowed fields: "
                                                f"{', '.join(allowed)}")
    return body


def fault_spec(body: Any) -> tuple[FaultSpec, int | None]:
    """A PUT /_emulator/faults body: a spec string, or an object of spec keys and an optional integer seed."""
    try:
        if isinstance(body, str):
            return FaultSpec.parse(body), None
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object or a spec string")
        body = dict(body)
        seed = body.pop("seed", None)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer")
        return FaultSpec.from_dict(body), seed
    except ValueError as exc:
        raise ApiError(400, "VALIDATION_ERROR", str(exc)) from None


def member_roles(body: dict) -> list[str]:
    roles = body.get("roles", ["admin"])
    if not isinstance(roles, list) or not all(isinstance(r, str) and 1 <= len(r) <= ROLE_MAX for r in roles):
        raise ApiError(400, "VALIDATION_ERROR", f"roles: must be an array of strings of 1-{ROLE_MAX} characters")
    return roles


def add_error_handlers(app: FastAPI, admin_token: str) -> None:
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


def add_observability_routes(app: FastAPI, emulator: "EmulatorApp", data_plane_url: str | None) -> None:
    from rr_pulumi.emulator.openapi import openapi_document

    backend = emulator.backend

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

    @app.get("/_emulator/requests")
    async def requests(since: str = "0"):
        if not (since.isascii() and since.isdigit()) or len(since) > 18:   # "²".isdigit(), but int("²") fails
            return error(400, "VALIDATION_ERROR", "since: must be a whole number (the last `seq` already read)")
        return ok(emulator.requests.since(int(since)))


def add_control_routes(app: FastAPI, emulator: "EmulatorApp") -> None:
    backend = emulator.backend

    @app.get("/_emulator/faults")
    async def get_faults():
        return ok(emulator.faults.to_dict())

    @app.put("/_emulator/faults")
    async def put_faults(request: Request):
        spec, seed = fault_spec(await body_of(request))
        emulator.faults.configure(spec, seed if seed is not None else emulator.faults.seed)
        return ok(emulator.faults.to_dict())

    @app.post("/_emulator/users")
    async def create_user(request: Request):
        body = json_object(await body_of(request), USER_FIELDS)
        user, token = backend.ensure_user(*check_user_fields(body.get("name"), body.get("plan"), body.get("token")))
        return ok({"userId": user.user_id, "name": user.name, "plan": user.plan, "token": token}, 201)

    @app.post("/_emulator/tokens/revoke")
    async def revoke_token(request: Request):
        body = json_object(await body_of(request), ("token",))
        if not isinstance(body.get("token"), str):
            raise ApiError(400, "VALIDATION_ERROR", "token: is required (string)")
        backend.revoke_token(body["token"])
        return ok({"message": "Success"})

    @app.post("/_emulator/clients/{client_id}/members")
    async def add_member(client_id: str, request: Request):
        body = json_object(await body_of(request), MEMBER_FIELDS)
        if not isinstance(body.get("userName"), str):
            raise ApiError(400, "VALIDATION_ERROR", "userName: is required (string)")
        return ok(backend.add_member(client_id, body["userName"], member_roles(body)))

    @app.post("/_emulator/clients/{client_id}/credentials/{credential_id}/authorize")
    async def authorize(client_id: str, credential_id: str):
        return ok(backend.authorize_credential(client_id, credential_id))


def build_admin_app(emulator: "EmulatorApp", admin_token: str, data_plane_url: str | None) -> FastAPI:
    app = FastAPI(title="RequestRocket emulator admin", docs_url=None, redoc_url=None, openapi_url=None)
    add_error_handlers(app, admin_token)
    add_observability_routes(app, emulator, data_plane_url)
    add_control_routes(app, emulator)
    return app

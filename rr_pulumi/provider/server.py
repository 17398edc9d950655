"""Serve Python dynamic providers with a configurable worker pool instead of Pulumi's fixed four.

`python -m pulumi.dynamic` builds its gRPC server on `ThreadPoolExecutor(max_workers=4)`, so one provider process
serves at most four calls at once whatever the engine's `--parallel`: at 200 ms per API call that is 20 calls/s.
This module runs Pulumi's own server module unchanged, with `grpc.server` handed a pool of
`RR_PULUMI_PROVIDER_WORKERS` threads (default 32, see `rr_pulumi.api.concurrency`). It imports nothing of rr-pulumi's
providers: those load when the engine's first call unpickles one, as under Pulumi's server.

It also answers `pulumi import` of an rr-pulumi type in one line: the engine asks such a provider to read an object it
has no recorded properties for, which Pulumi's dynamic provider server cannot do (it finds the provider in those
properties) and reports as a Python traceback (pulumi/pulumi#16175). The answer names `adopt_id`.

And it makes the command's one connection check when the engine configures the provider (as pulumi-aws checks its
credentials at Configure), before any resource is read or checked: a wrong token or an unreachable API fails the
command with one error, found by one call, even a no-op preview (docs/reliability.md#the-connection-check).
`requestrocket:skipCredentialsValidation` skips it; under Pulumi's own server the check happens at the first resource
instead (`rr_pulumi.provider.connection.verified_client`).

The engine rr-pulumi builds starts it from its `pulumi-resource-pulumi-python` launcher. Set
RR_PULUMI_PROVIDER_SERVER=pulumi to serve with Pulumi's server as shipped; a Pulumi release that builds its
server differently gets its own server too (the pool is only widened where this module recognises the call).
"""

from __future__ import annotations

import os
import runpy
import sys
from concurrent import futures
from typing import Any, Callable, Optional

SERVER_ENV = "RR_PULUMI_PROVIDER_SERVER"
PULUMI_SERVER = "pulumi.dynamic"  # runs pulumi/dynamic/__main__.py: the server, forever
PROVIDER_KEY = "__provider"  # where Pulumi's dynamic resources keep their pickled provider
IMPORT_HINT = (
    "`pulumi import` cannot import a dynamic provider's resource (pulumi/pulumi#16175): declare it in the program "
    "with adopt_id=\"<id>\" (or adopt=True), or write a project for a whole client with `rr-pulumi export`"
)


def widened(make_server: Callable[..., Any], workers: int) -> Callable[..., Any]:
    """`grpc.server` with a pool of at least `workers` threads in place of a smaller ThreadPoolExecutor."""

    def server(thread_pool: Any = None, *args: Any, **kwargs: Any) -> Any:
        if type(thread_pool) is futures.ThreadPoolExecutor and thread_pool._max_workers < workers:
            thread_pool.shutdown(wait=False)  # never used: threads start with the first task
            thread_pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rr-provider")
        if not args and "interceptors" not in kwargs:
            kwargs["interceptors"] = [_import_hint(), _connection_check()]
        return make_server(thread_pool, *args, **kwargs)

    return server


def _guard(method: str, before: Callable[[Any, Any], None]) -> Any:
    """A gRPC interceptor that runs `before(request, context)` ahead of the provider's unary `method`; `before`
    may end the call with `context.abort(...)`."""
    import grpc

    class Guard(grpc.ServerInterceptor):
        guarded_method = method

        def intercept_service(self, continuation: Any, details: Any) -> Any:
            handler = continuation(details)
            if handler is None or handler.unary_unary is None or not details.method.endswith(f"/{method}"):
                return handler
            call = handler.unary_unary

            def guarded(request: Any, context: Any) -> Any:
                before(request, context)
                return call(request, context)

            return grpc.unary_unary_rpc_method_handler(
                guarded, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )

    return Guard()


def _import_hint() -> Any:
    """Answers a `Read` without recorded properties (`pulumi import`) with IMPORT_HINT."""
    import grpc

    def refuse_import(request: Any, context: Any) -> None:
        if PROVIDER_KEY not in request.properties.fields:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, IMPORT_HINT)

    return _guard("Read", refuse_import)


def configure_failure(args: Any) -> Optional[str]:
    """The command's token check with the config of a Configure request (None: passed, skipped, or left to the
    resources: no top-level token, connection profiles (each checked at its first resource), or settings that a
    resource's check reports better)."""
    from pulumi.runtime import rpc

    from rr_pulumi.api import config as rr_config
    from rr_pulumi.api.errors import ApiError, ConnectionFailed
    from rr_pulumi.provider import connection
    from rr_pulumi.provider import base as _base

    try:
        config = {k: rpc.unwrap_rpc_secret(v) for k, v in rpc.deserialize_properties(args).items()}
        connection.configure(config.get)
        if config.get(rr_config.PROFILES_KEY) or connection.settings().token is None:
            return None
        connection.verified_client()
    except (ApiError, ConnectionFailed) as exc:
        failure = _base.connection_check_failure(None, exc)
        return f"{failure.argument}: {failure.reason}"
    except Exception:  # noqa: BLE001 - a malformed config (or a bug): the resources' own check reports it, by name
        return None
    return None


def _connection_check() -> Any:
    """Makes the token check before answering `Configure` (see the module's docstring)."""
    import grpc

    def check(request: Any, context: Any) -> None:
        failure = configure_failure(request.args)
        if failure:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, failure)

    return _guard("Configure", check)


def main() -> None:
    if os.environ.get(SERVER_ENV, "").strip() != "pulumi":
        from rr_pulumi.api.concurrency import provider_workers

        try:
            workers = provider_workers()
        except ValueError as exc:
            sys.exit(f"rr-pulumi provider server: {exc}")
        import grpc

        grpc.server = widened(grpc.server, workers)
    runpy.run_module(PULUMI_SERVER, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

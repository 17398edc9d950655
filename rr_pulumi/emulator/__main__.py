"""`rr-emulator` / `python -m rr_pulumi.emulator`: start the local RequestRocket Core API emulator.

Stdout, flushed before serving: the bound base URL, then `user NAME PLAN TOKEN` per --user, then `admin TOKEN`,
then `dataplane URL` (the data-plane base URL, served by this same server).
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import sys
import threading
from pathlib import Path

from rr_pulumi.emulator import schema
from rr_pulumi.emulator.faults import Faults, FaultSpec


def default_db_path() -> str:
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return str(base / "rr-pulumi" / "emulator.db")


def parse_user(text: str) -> tuple[str, str | None, str | None]:
    """NAME[:PLAN][=TOKEN] → (name, plan or None, token or None)."""
    rest, _, token = text.partition("=")
    name, _, plan = rest.partition(":")
    if not name:
        raise argparse.ArgumentTypeError(f"--user {text!r}: expected NAME[:PLAN][=TOKEN]")
    if plan and plan not in ("basic", "team"):
        raise argparse.ArgumentTypeError(f"--user {text!r}: PLAN must be basic or team")
    return name, plan or None, token or None


def parse_faults(text: str) -> FaultSpec:
    try:
        return FaultSpec.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rr-emulator", description="Local RequestRocket Core API emulator.")
    p.add_argument("--version", action="version", version=f"rr-emulator {_version()}")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)")
    p.add_argument("--db", default=None, help=f"SQLite file, or :memory: (default {default_db_path()})")
    p.add_argument("--user", action="append", type=parse_user, default=[], metavar="NAME[:PLAN][=TOKEN]",
                   help="create or reuse a user (plan basic|team, default team); repeatable")
    p.add_argument("--rate-limit", type=int, default=None, metavar="N",
                   help="requests per minute for every token, overriding the plans (0 disables limiting)")
    p.add_argument("--faults", type=parse_faults, default=FaultSpec(), metavar="SPEC",
                   help="e.g. latency=50,jitter=20,err500=0.1,err503=0.05,rate429=0.1,drop_before=0.05,"
                        "drop_after=0.05")
    p.add_argument("--seed", type=int, default=None, help="seed for fault injection (default random)")
    p.add_argument("--admin-token", default=os.environ.get("RR_EMULATOR_ADMIN_TOKEN"),
                   help="token for /_emulator/ (default $RR_EMULATOR_ADMIN_TOKEN, else generated)")
    p.add_argument("--regions", default=",".join(schema.DEFAULT_REGIONS),
                   help="comma-separated accepted regions (default %(default)s)")
    p.add_argument("--log-requests", action="store_true", help="log requests to stderr (secrets redacted)")
    p.add_argument("--data-plane-url", default=None, help="data-plane base URL (informational)")
    p.add_argument("--stop-on-stdin-eof", action="store_true",
                   help="stop when stdin is closed: a parent that holds the other end of a pipe takes the "
                        "emulator with it when it ends, however it ends")
    return p


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # inherited by accepted sockets
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _stop_on_eof(stream, server) -> None:
    """Read (and ignore) stdin until its end, then ask the server to stop as on SIGTERM."""
    try:
        while stream.read(4096):
            pass
    except (OSError, ValueError):
        pass
    server.should_exit = True


def _version() -> str:
    from rr_pulumi import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        import uvicorn

        from rr_pulumi.emulator.app import EmulatorApp
        from rr_pulumi.emulator.backend import ApiError, Backend
        from rr_pulumi.emulator.dataplane import data_plane_url
        from rr_pulumi.emulator.encryption import SecretKeyError
        from rr_pulumi.emulator.store import Store
    except ModuleNotFoundError as exc:
        from rr_pulumi.installation import missing_extra

        print(f"rr-emulator: {missing_extra('the emulator', 'emulator', exc.name)}", file=sys.stderr)
        return 2

    regions = tuple(r.strip() for r in args.regions.split(",") if r.strip())
    if not regions:
        parser().error("--regions: at least one region is needed")
    db = args.db or default_db_path()
    if db != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    try:
        store = Store(db)
    except SecretKeyError as exc:
        print(f"rr-emulator: {exc}", file=sys.stderr)
        return 2
    backend = Backend(store, regions=regions, rate_limit=args.rate_limit)
    users = []
    for name, plan, token in args.user:
        try:
            users.append(backend.ensure_user(name, plan, token))
        except ApiError as exc:
            parser().error(f"--user {name}: {exc.message}")
    admin_token = args.admin_token or "a-" + secrets.token_hex(20)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"rr-emulator: cannot bind {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    lines = [f"http://{shown}:{port}"]
    data_plane = args.data_plane_url or data_plane_url(lines[0])  # served by this same server (dataplane.py)
    app = EmulatorApp(backend, Faults(args.faults, args.seed), admin_token, log_requests=args.log_requests,
                      data_plane_url=data_plane)
    lines += [f"user {user.name} {user.plan} {token}" for user, token in users]
    lines.append(f"admin {admin_token}")
    lines.append(f"dataplane {data_plane}")
    print("\n".join(lines), flush=True)

    http = "httptools" if _has("httptools") else "h11"
    loop = "uvloop" if _has("uvloop") else "asyncio"
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", http=http, loop=loop,
                            timeout_keep_alive=30, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    if args.stop_on_stdin_eof:
        threading.Thread(target=_stop_on_eof, args=(sys.stdin.buffer, server), daemon=True).start()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # uvicorn shuts down gracefully on these, then restores the handlers found here and raises the signal again:
        # ending through SystemExit lets the `finally` below run (the store's write-ahead log is folded in).
        signal.signal(sig, _stopped)
    try:
        server.run(sockets=[sock])
    finally:
        app.close()   # the pattern-compile workers go with the server
        store.close()  # SQLite folds its write-ahead log into the database file: PATH and PATH.key are the whole copy
    return 0


def _stopped(sig: int, _frame: object) -> None:
    """A stop asked for (SIGTERM) is a clean exit, as at the end of stdin; SIGINT exits as a shell reports it."""
    raise SystemExit(0 if sig == signal.SIGTERM else 128 + sig)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    sys.exit(main())

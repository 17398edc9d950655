"""Run the emulator as a child process (for tests, the demo and benchmarks). Stdlib + requests only.

    with EmulatorProcess(users=("alice:team",)) as emu:
        requests.get(emu.url + "/api/clients", headers={"Authorization": emu.token("alice")})
"""
from __future__ import annotations

import atexit
import os
import queue
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable

import requests

from rr_pulumi.api.errors import RequestRocketError   # stdlib only, like this module
from rr_pulumi.emulator.faults import FaultSpec   # stdlib only, like this module

_live: "set[EmulatorProcess]" = set()   # strong refs: a forgotten emulator is still killed at exit


@atexit.register
def _stop_all() -> None:
    for emulator in list(_live):
        emulator.kill()


# Its own process group (not session: a new session would also be a new CPU-scheduling autogroup on Linux), so
# stopping the server also ends the pattern-compile workers it starts.
if os.name != "posix":
    OWN_PROCESS_GROUP: dict = {}
elif sys.version_info >= (3, 11):
    OWN_PROCESS_GROUP = {"process_group": 0}
else:
    OWN_PROCESS_GROUP = {"preexec_fn": os.setpgrp}


def _kill_group(pgid: int) -> None:
    """SIGKILL whatever is left of a server's process group (its workers), once the server itself has ended."""
    if hasattr(os, "killpg"):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class EmulatorError(RequestRocketError, RuntimeError):
    """The emulator process did not start, or stopped answering."""


class EmulatorProcess:
    def __init__(self, db: str | os.PathLike | None = None, users: Iterable[str] = ("demo:team",),
                 rate_limit: int | None = None, faults: str | dict | None = None, seed: int | None = None,
                 extra_args: Iterable[str] = (), host: str = "127.0.0.1", port: int = 0,
                 admin_token: str | None = None, startup_timeout: float = 30.0):
        self._tmp: tempfile.TemporaryDirectory | None = None
        if db is None:   # a private file (not :memory:) so that restart() keeps the data
            self._tmp = tempfile.TemporaryDirectory(prefix="rr-emulator-")
            db = os.path.join(self._tmp.name, "emulator.db")
        self.db = str(db)
        self.users = tuple(users)
        if isinstance(faults, dict):
            faults = ",".join(f"{k}={v}" for k, v in faults.items())
        self.rate_limit, self.faults, self.seed = rate_limit, faults, seed
        self.extra_args = tuple(extra_args)
        self.host, self.port = host, port
        self.admin_token = admin_token or "a-" + secrets.token_hex(16)
        self.startup_timeout = startup_timeout
        self.url: str | None = None
        self.tokens: dict[str, str] = {}
        self.plans: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None
        self.log_path = os.path.join(self._tmp.name if self._tmp else tempfile.gettempdir(),
                                     f"rr-emulator-{os.getpid()}-{id(self)}.log")
        self._session = requests.Session()

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def command(self, port: int) -> list[str]:
        cmd = [sys.executable, "-m", "rr_pulumi.emulator", "--host", self.host, "--port", str(port),
               "--db", self.db, "--admin-token", self.admin_token, "--stop-on-stdin-eof"]
        for user in self.users:
            cmd += ["--user", user]
        if self.rate_limit is not None:
            cmd += ["--rate-limit", str(self.rate_limit)]
        if self.faults:
            cmd += ["--faults", self.faults]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        return cmd + list(self.extra_args)

    def start(self) -> "EmulatorProcess":
        if self.proc is not None and self.proc.poll() is None:
            return self
        log = open(self.log_path, "ab")
        try:
            # stdin is a pipe nobody writes to: when this process ends, even by SIGKILL, the emulator reads its
            # end and stops (--stop-on-stdin-eof), so a killed test run or script leaves no server behind
            self.proc = subprocess.Popen(self.command(self.port), stdout=subprocess.PIPE, stderr=log,
                                         stdin=subprocess.PIPE, text=True, **OWN_PROCESS_GROUP)
        finally:
            log.close()
        _live.add(self)
        lines: "queue.Queue[str | None]" = queue.Queue()
        threading.Thread(target=_pump, args=(self.proc.stdout, lines), daemon=True).start()
        deadline = time.monotonic() + self.startup_timeout
        try:
            url = self.url = self._next_line(lines, deadline)
            while True:
                line = self._next_line(lines, deadline)
                kind, *rest = line.split()
                if kind == "user":
                    name, plan, token = rest
                    self.tokens[name], self.plans[name] = token, plan
                elif kind == "admin":
                    break
            self.port = int(url.rsplit(":", 1)[1])
            self._wait_healthy(self.proc, url, deadline)
        except BaseException:
            self.kill()
            raise
        return self

    def _next_line(self, lines: "queue.Queue[str | None]", deadline: float) -> str:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None:
            raise EmulatorError(f"emulator did not start: {self._log_tail()}")
        return line.strip()

    def _wait_healthy(self, proc: subprocess.Popen, url: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                if self._session.get(url + "/_emulator/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise EmulatorError(f"emulator is not healthy: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL the server (what a crash looks like) and reap it."""
        self._end(signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)

    def stop(self) -> None:
        """Graceful stop: SIGTERM, then SIGKILL after 5 s."""
        self._end(signal.SIGTERM)

    def _end(self, sig: int) -> None:
        proc, self.proc = self.proc, None
        self._session.close()
        self._session = requests.Session()
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except ProcessLookupError:
                pass
        proc.wait()
        _kill_group(proc.pid)
        for stream in (proc.stdin, proc.stdout):
            if stream:
                stream.close()
        _live.discard(self)

    def restart(self, kill: bool = False) -> "EmulatorProcess":
        """Stop (or SIGKILL) and start again on the same db, the same admin token and, if free, the same port."""
        (self.kill if kill else self.stop)()
        try:
            return self.start()
        except EmulatorError:
            self.port = 0
            return self.start()

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "EmulatorProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- helpers ------------------------------------------------------------------------------------------------

    def token(self, name: str) -> str:
        return self.tokens[name]

    @property
    def api_url(self) -> str:
        """The URL of the started emulator's Core API."""
        if self.url is None:
            raise EmulatorError("the emulator is not started (call start())")
        return self.url

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": self.admin_token, **kwargs.pop("headers", {})}
        response = self._session.request(method, self.api_url + path, headers=headers, timeout=30, **kwargs)
        if response.status_code >= 400:
            raise EmulatorError(f"{method} {path}: {response.status_code} {response.text}")
        return response

    def stats(self) -> dict:
        return self.admin("GET", "/_emulator/stats").json()

    def reset_stats(self) -> None:
        self.admin("POST", "/_emulator/stats/reset")

    def set_faults(self, spec: str | dict | None, seed: int | None = None) -> dict:
        """Replace the fault spec at run time (a SPEC string or a dict); restarts the seeded sequence."""
        body: dict | str = dict(spec) if isinstance(spec, dict) else spec or ""
        if seed is not None:
            if isinstance(body, str):
                body = FaultSpec.parse(body).to_dict()
            body["seed"] = seed
        return self.admin("PUT", "/_emulator/faults", json=body).json()

    def create_user(self, name: str, plan: str = "team", token: str | None = None) -> str:
        """Create (or reuse) a user at run time; returns its token."""
        body = {"name": name, "plan": plan, **({"token": token} if token else {})}
        token = self.admin("POST", "/_emulator/users", json=body).json()["token"]
        self.tokens[name], self.plans[name] = token, plan
        return token

    def revoke_token(self, token: str) -> None:
        """Revoke a user token: the API refuses it (401) from now on."""
        self.admin("POST", "/_emulator/tokens/revoke", json={"token": token})

    def add_member(self, client_id: str, user_name: str, roles: Iterable[str] = ("admin",)) -> dict:
        return self.admin("POST", f"/_emulator/clients/{client_id}/members",
                          json={"userName": user_name, "roles": list(roles)}).json()

    def authorize_credential(self, client_id: str, credential_id: str) -> dict:
        return self.admin("POST", f"/_emulator/clients/{client_id}/credentials/{credential_id}/authorize").json()


def _pump(stream, lines: "queue.Queue[str | None]") -> None:
    """Forward the child's stdout lines; None marks the end (the child exited or closed stdout)."""
    try:
        for line in stream:
            lines.put(line)
    except (ValueError, OSError):
        pass
    lines.put(None)

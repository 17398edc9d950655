"""Which `pulumi` processes ran in this PID namespace: the evidence `rr-pulumi recover` needs before it lifts a lock.

A file backend's lock (`.pulumi/locks/<stack>/<id>.json`, pkg/backend/diy/lock.go) names the `pulumi` that took it
by pid, hostname, user and time, nothing more. That pid means something only in the PID namespace of the process
that wrote it: two containers can share a hostname (`--network host`, a pod's containers, the same `--hostname`)
and each have its own pid 123. So "this hostname, and no pid 123 here" does not prove the lock's owner is dead.

The proof comes from the provider: started by the `pulumi` CLI (its ancestor), in the same PID namespace, it records
that CLI here: pid, start time (in clock ticks since boot), hostname, boot id and PID namespace. A lock is then
provably this namespace's when such a record matches its pid and hostname and the lock was taken while that
process ran (after it started, before its provider did: the CLI locks the stack before it starts the engine). Its
owner is provably dead when no process with that pid and start time exists any more. Anything else (no record, a
reboot, another namespace, a lock taken outside the recorded window) is not proof, and the lock stays.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Optional

from rr_pulumi.api import ownership

KEEP_SECONDS = 30 * 24 * 3600  # records older than this are removed when a new one is written
SLACK_SECONDS = 2.0  # clock granularity between the lock's timestamp and /proc's start time


def runs_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rr-pulumi" / "pulumi-runs"


def _read(path: str) -> Optional[str]:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _boot_id() -> Optional[str]:
    found = _read("/proc/sys/kernel/random/boot_id")
    return found.strip() if found else None


def _pid_namespace(pid: Any = "self") -> Optional[str]:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")  # e.g. "pid:[4026531836]": unique on this boot
    except OSError:
        return None


def _start_ticks(pid: int) -> Optional[int]:
    stat = _read(f"/proc/{pid}/stat")
    try:
        return int(stat.rsplit(")", 1)[1].split()[19]) if stat else None  # field 22, starttime
    except (IndexError, ValueError):
        return None


def _started_at(ticks: int) -> Optional[float]:
    """The wall-clock time of a start time in clock ticks since boot."""
    stat = _read("/proc/stat") or ""
    btime = next((int(line.split()[1]) for line in stat.splitlines() if line.startswith("btime ")), None)
    return None if btime is None else btime + ticks / os.sysconf("SC_CLK_TCK")


def _key(boot: str, namespace: str, pid: int) -> str:
    return f"{boot}-{''.join(c for c in namespace if c.isdigit())}-{pid}"


def record(pid: int) -> Optional[Path]:
    """Record that the `pulumi` with `pid` runs in this PID namespace (called by the provider, its descendant)."""
    boot, namespace, ticks = _boot_id(), _pid_namespace(), _start_ticks(pid)
    if not boot or not namespace or ticks is None or _pid_namespace(pid) != namespace:
        return None  # not provable from here (another namespace, no /proc): recover will not lift its lock
    started = _started_at(ticks)
    entry = {"pid": pid, "hostname": socket.gethostname(), "bootId": boot, "pidNamespace": namespace,
             "startTicks": ticks, "started": started, "seen": time.time()}
    folder = runs_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_key(boot, namespace, pid)}-{ticks}.json"
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(entry))
        partial.replace(path)
        for old in folder.glob("*.json"):
            if time.time() - old.stat().st_mtime > KEEP_SECONDS:
                old.unlink(missing_ok=True)
    except OSError:
        return None
    return path


def owner_state(lock: dict[str, Any]) -> tuple[str, str]:
    """("dead" | "live" | "unknown", why) for the `pulumi` that wrote a file-backend lock."""
    pid, host = lock.get("pid"), lock.get("hostname")
    if not isinstance(pid, int) or not isinstance(host, str):
        return "unknown", "the lock names no pid and hostname"
    if host != socket.gethostname():
        return "unknown", f"it was taken on another machine or container, {host!r}"
    boot, namespace = _boot_id(), _pid_namespace()
    parsed = ownership.parse_time(lock.get("timestamp"))
    taken = parsed.timestamp() if parsed else None
    if boot and namespace and taken is not None:
        for path in runs_dir().glob(f"{_key(boot, namespace, pid)}-*.json"):
            try:
                run = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            started, seen = run.get("started"), run.get("seen")
            if (run.get("hostname") != host or run.get("pidNamespace") != namespace or not isinstance(started, float)
                    or not isinstance(seen, float) or not started - SLACK_SECONDS <= taken <= seen + SLACK_SECONDS):
                continue
            if _start_ticks(pid) == run.get("startTicks"):
                return "live", f"the `pulumi` that took it (pid {pid}) is still running"
            return "dead", f"the `pulumi` that took it (pid {pid}, in this PID namespace) has ended"
    exe = None
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        pass
    if exe and os.path.basename(exe) == "pulumi":
        return "live", f"a running `pulumi` (pid {pid}) holds it"
    return "unknown", (f"no record shows that pid {pid} ran in this PID namespace, and a container that shares the "
                       f"hostname {host!r} has its own pids")

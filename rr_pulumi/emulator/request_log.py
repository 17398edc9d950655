"""The control-plane request log (`GET /_emulator/requests`): every contract request the emulator received, in
order, with what became of it, so a test can tell who wrote what (the ownership campaign reads it).

`--log-requests` prints answered requests for a person; this log also keeps the requests an injected fault
refused (nothing was written) and those answered by a dropped connection after their write was committed, and the
id each create made. It keeps no body, no header and no token: nothing secret.
"""
from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any, Optional

LIMIT = 100_000  # the newest requests kept; older ones are forgotten (their `seq` numbers are not reused)
# Characters kept of a path: anyone, unauthenticated too, can send one as long as the server reads. With the ASCII
# marker below a clipped path is an all-ASCII string (1 byte a character in CPython; a non-ASCII `…` would make it 2),
# so LIMIT entries of clipped paths stay well within the emulator's 300 MiB bound.
PATH_MAX = 256


def created_id(method: str, status: Optional[int], answer: Any) -> Optional[str]:
    """The id a successful create made: `sKey` (or a client's `clientId`) of the one item it answers."""
    if method != "POST" or status != 201 or not isinstance(answer, str):
        return None
    try:
        body = json.loads(answer)
    except ValueError:
        return None
    for value in body.values() if isinstance(body, dict) else ():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            found = value[0].get("sKey") or value[0].get("clientId")
            return found if isinstance(found, str) else None
    return None


class RequestLog:
    def __init__(self, limit: int = LIMIT) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self._next = 1
        self._lock = threading.Lock()

    def record(self, method: str, path: str, status: Optional[int] = None, fault: Optional[str] = None,
               answer: Any = None) -> None:
        """One request: its answer's status, or the fault injected instead (`err500`, ...), or `drop_after` with
        the status the dropped answer would have had (the write was committed)."""
        with self._lock:
            if len(path) > PATH_MAX:
                path = f"{path[:PATH_MAX]}...[+{len(path) - PATH_MAX}]"
            self._entries.append({"seq": self._next, "method": method, "path": path, "status": status,
                                  "fault": fault, "created": created_id(method, status, answer)})
            self._next += 1

    def since(self, seq: int = 0) -> dict[str, Any]:
        with self._lock:
            return {"requests": [e for e in self._entries if e["seq"] > seq], "last": self._next - 1}

"""A fault-injecting front for the emulator, for tests that need one exact request to fail in one exact way.

The emulator's own faults (`PUT /_emulator/faults`) are drawn at random for every request; a test that must fail
*the* POST of one target, before or after it applies, and nothing else, puts this front between one stack and the
emulator (that stack's `requestrocket:apiUrl`). Every other request passes through unchanged, over real HTTP.

    front.arm("POST", "/targets", "500-before")   # answer 500, the emulator never sees it (nothing applied)
    front.arm("POST", "/targets", "500-after")    # forward it (applied), then answer 500
    front.arm("POST", "/targets", "hold-before")  # hold it unsent until release(); `held` is set meanwhile
    front.arm("POST", "/targets", "hold-after")   # forward it (applied), then hold the answer until release()

`after_forward` (optional) runs once the armed request was forwarded: another stack writing at that very moment.
`log` holds (method, path) of every request the front received, for "who wrote what" checks.
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from urllib.parse import urlsplit


@dataclass
class Armed:
    method: str
    path_suffix: str
    mode: str
    after_forward: Optional[Callable[[], None]] = None
    fired: threading.Event = field(default_factory=threading.Event)


class FaultFront:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.log: list[tuple[str, str]] = []
        self.armed: Optional[Armed] = None
        self.held = threading.Event()  # a held request is waiting
        self.released = threading.Event()
        self._lock = threading.Lock()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                front._handle(self)

            do_POST = do_PUT = do_DELETE = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def arm(self, method: str, path_suffix: str, mode: str,
            after_forward: Optional[Callable[[], None]] = None) -> Armed:
        assert mode in ("500-before", "500-after", "hold-before", "hold-after"), mode
        self.armed = Armed(method, path_suffix, mode, after_forward)
        return self.armed

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.log if m != "GET"]

    # -- serving ---------------------------------------------------------------------------------------------------

    def _take(self, method: str, path: str) -> Optional[Armed]:
        with self._lock:
            armed = self.armed
            if armed and armed.method == method and path.split("?")[0].endswith(armed.path_suffix):
                self.armed = None
                return armed
            return None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        self.log.append((handler.command, handler.path.split("?")[0]))
        armed = self._take(handler.command, handler.path)
        if armed and armed.mode == "500-before":
            armed.fired.set()
            return self._answer(handler, 500, {"error": "injected by the test front", "code": "INTERNAL_ERROR",
                                               "status": 500})
        if armed and armed.mode == "hold-before":
            armed.fired.set()
            self.held.set()
            self.released.wait()
            handler.close_connection = True
            return
        status, headers, content = self._forward(handler, body)
        if armed:
            if armed.after_forward:
                armed.after_forward()
            armed.fired.set()
            if armed.mode == "500-after":
                return self._answer(handler, 500, {"error": "injected by the test front", "code": "INTERNAL_ERROR",
                                                   "status": 500})
            self.held.set()  # hold-after: applied, the answer withheld until released, then never given
            self.released.wait()
            handler.close_connection = True
            return
        handler.send_response(status)
        for name, value in headers:
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes):
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
            connection.request(handler.command, handler.path, body=body or None, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
        content = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

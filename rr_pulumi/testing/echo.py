"""A small upstream for rule tests: it answers every request with what it received (never the header values:
an injected credential must not travel back to the caller) and keeps the full requests for the test to inspect.

    with EchoServer() as echo:
        echo.url                          # http://127.0.0.1:<port>
        echo.requests[-1].headers         # what the last request carried, credential included
        echo.route("POST", "/oauth/token", {"access_token": "t-1", "expires_in": 3600})   # a canned JSON answer
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes = field(repr=False)

    def header(self, name: str) -> Optional[str]:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class EchoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.requests: list[Received] = []
        self._routes: dict[tuple[str, str], tuple[int, Any]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]  # an IPv4 (host, port): never bytes
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, body: Any, status: int = 200) -> None:
        """Answer `method path` with this JSON body instead of the echo (token endpoints, JWKS documents)."""
        self._routes[(method.upper(), path)] = (status, body)

    def received(self, path_prefix: str = "") -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def start(self) -> "EchoServer":
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "EchoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _handler(self):
        echo = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args) -> None:  # quiet: tests read `requests`, not stderr
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                received = Received(self.command, parts.path, parse_qsl(parts.query, keep_blank_values=True),
                                    dict(self.headers.items()), body)
                with echo._lock:
                    echo.requests.append(received)
                canned = echo._routes.get((self.command, parts.path))
                if canned is not None:
                    status, answer = canned
                else:
                    status, answer = 200, {"method": received.method, "path": received.path,
                                           "query": dict(received.query), "headerNames": sorted(received.headers),
                                           "bodyBytes": len(body)}
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        return Handler

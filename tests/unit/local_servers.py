"""Small real servers on 127.0.0.1 for the transport tests: an HTTP(S) API that counts connections, and a CONNECT
proxy. Both join every thread they started when closed, so a test leaves none running."""

from __future__ import annotations

import base64
import datetime
import http.server
import ipaddress
import json
import select
import socket
import socketserver
import ssl
import threading
from pathlib import Path
from typing import Any, Callable, Optional

Answer = Callable[["ApiHandler"], None]


def answer_json(handler: "ApiHandler", status: int = 200, body: Any = None, headers: Optional[dict] = None) -> None:
    content = json.dumps({"path": handler.path} if body is None else body).encode()
    handler.send_response(status)
    for name, value in {"Content-Type": "application/json", "Content-Length": str(len(content)),
                        **(headers or {})}.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(content)


class ApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise
    server: "ApiServer"

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.seen.append((self.command, self.path, dict(self.headers), self.body))
        self.server.answer(self)

    do_GET = do_POST = do_PUT = do_DELETE = _any

    def log_message(self, *args: Any) -> None:
        pass


class ThreadedServer(socketserver.ThreadingMixIn):
    daemon_threads = False  # server_close() joins every handler thread
    block_on_close = True

    def start(self) -> None:
        self._serving = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        self._serving.start()

    def stop(self) -> None:
        self.shutdown()
        self._serving.join()
        self.server_close()


class ApiServer(ThreadedServer, http.server.HTTPServer):
    """Answers with `answer(handler)` (default: 200 and the path as JSON); counts the connections it accepted."""

    def __init__(self, answer: Answer = answer_json, tls: Optional[ssl.SSLContext] = None) -> None:
        super().__init__(("127.0.0.1", 0), ApiHandler)
        self.answer, self.tls = answer, tls
        self.lock = threading.Lock()
        self.accepted = 0
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.hung_up = threading.Semaphore(0)  # released each time the server has closed a connection
        self.release = threading.Event()  # for answers that hold a connection until the test lets go

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server_address[1]}"

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        with self.lock:
            self.accepted += 1
        if self.tls:
            sock = self.tls.wrap_socket(sock, server_side=True)  # a failed handshake is an OSError: dropped
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.hung_up.release()

    def stop(self) -> None:
        self.release.set()
        super().stop()


class ProxyHandler(socketserver.StreamRequestHandler):
    server: "ConnectProxy"

    def handle(self) -> None:
        request_line = self.rfile.readline().decode("latin-1").strip()
        headers = {}
        while (line := self.rfile.readline().decode("latin-1").strip()):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        with self.server.lock:
            self.server.seen.append((request_line, headers))
        method, target, _ = request_line.split(" ", 2)
        if self.server.credentials and headers.get("proxy-authorization") != self.server.expected_authorization():
            self.wfile.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
            return
        host, _, port = target.rpartition(":")
        with socket.create_connection((host, int(port))) as upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            pipe(self.connection, upstream)


def pipe(one: socket.socket, other: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    peers = {one: other, other: one}
    while True:
        readable, _, _ = select.select(list(peers), [], [])
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)


class ConnectProxy(ThreadedServer, socketserver.TCPServer):
    """An HTTP proxy that only tunnels (CONNECT); with `credentials` it wants them as Basic Proxy-Authorization."""

    allow_reuse_address = True

    def __init__(self, credentials: Optional[tuple[str, str]] = None) -> None:
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.credentials = credentials
        self.lock = threading.Lock()
        self.seen: list[tuple[str, dict[str, str]]] = []

    @property
    def port(self) -> int:
        return self.server_address[1]

    def expected_authorization(self) -> str:
        assert self.credentials
        return "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()


def self_signed(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"rr-pulumi test {name}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def tls_server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context

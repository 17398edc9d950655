"""HTTP for the API client over the standard library (`http.client`), which the Pulumi SDK has loaded already: the
provider process never imports `requests` or `urllib3` (about 40 ms of CPU per process, see docs/performance.md).

* Keep-alive: one pool of idle connections per (scheme, host, port, proxy), keeping at most `pool_size` of them
  (more are opened when more threads send at once, as `requests` does, and closed when they come back). A pooled
  connection the server has closed is seen before reuse (its socket reads EOF while idle) and replaced; a
  connection goes back to the pool only when its response was read whole and the server did not say
  `Connection: close`.
* TLS: verified, against `REQUESTS_CA_BUNDLE`, else `CURL_CA_BUNDLE`, else certifi's bundle when certifi is
  installed, else the system's (the bundles `requests` would use).
* Proxies: from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, as `urllib.request` reads
  them): https through a CONNECT tunnel, http by absolute URL; `user:password@` in the proxy URL is sent as Basic
  `Proxy-Authorization`.
* Failures: `NotSent` when the request certainly never reached the server (refused, DNS, connect timeout, TLS
  handshake, proxy tunnel refused), so resending it cannot duplicate anything; `MaybeSent` when it may have (reset,
  broken pipe, read timeout, a malformed answer). Their texts name the host, never a header or a body.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json as jsonlib
import os
import select
import ssl
import threading
import urllib.request
from typing import Any, Iterable, Iterator, Mapping, Optional
from urllib.parse import unquote, urlencode, urlsplit


class TransportError(Exception):
    """The request got no HTTP answer."""


class NotSent(TransportError):
    """The request certainly never reached the server: sending it again cannot do anything twice."""


class MaybeSent(TransportError):
    """The request may have reached the server (and been applied): the connection broke or timed out after it left."""


class Headers(Mapping[str, str]):
    """Response headers, looked up whatever the case of the name."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._by_name = {name.lower(): value for name, value in pairs}

    def __getitem__(self, name: str) -> str:
        return self._by_name[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


class Response:
    """An HTTP answer read whole: status, headers, body."""

    def __init__(
        self, status_code: int, headers: Mapping[str, str] | Iterable[tuple[str, str]], content: bytes
    ) -> None:
        self.status_code, self.headers, self.content = status_code, Headers(headers), content

    @property
    def text(self) -> str:
        return self.content.decode(self._charset(), errors="replace")

    def json(self) -> Any:
        """The body as JSON (ValueError when it is not)."""
        return jsonlib.loads(self.content)

    def _charset(self) -> str:
        for param in self.headers.get("Content-Type", "").split(";")[1:]:
            name, _, value = param.strip().partition("=")
            if name.lower() == "charset" and value:
                return value.strip('"')
        return "utf-8"

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


class Transport:
    """Thread-safe HTTP/1.1 with keep-alive connection pools."""

    def __init__(self, pool_size: int) -> None:
        self.pool_size = pool_size
        self._idle: dict[tuple[Any, ...], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        json: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: tuple[float, float],
    ) -> Response:
        """Send one request and read its answer whole (no retries: the caller decides what may be sent again)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = (parts.path or "/") + _query(parts.query, params)
        sent = dict(headers or {})
        body = None
        if json is not None:
            body = jsonlib.dumps(json, allow_nan=False).encode()
            sent["Content-Type"] = "application/json"
        proxy = _proxy_for(parts.scheme, parts.hostname, port)
        if proxy is not None and parts.scheme == "http":
            target = f"http://{parts.netloc}{target}"  # a plain-http proxy is asked for the absolute URL
            sent.update(_proxy_authorization(proxy))
        key = (parts.scheme, parts.hostname, port, proxy, _ca_bundle() if parts.scheme == "https" else None)
        connection = self._take(key)
        if connection is None:
            connection = self._connect(key, timeout[0])
        connection.sock.settimeout(timeout[1])
        where = f"{parts.hostname}:{port}"
        try:
            connection.request(method, target, body=body, headers=sent)
            answer = connection.getresponse()
            content = answer.read()
        except TimeoutError:
            connection.close()
            raise MaybeSent(f"no answer from {where} within {timeout[1]:g} s (read timeout)") from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise MaybeSent(f"the connection to {where} broke: {_reason(exc)}") from None
        if answer.will_close:  # `Connection: close`, or HTTP/1.0
            connection.close()
        else:
            self._give_back(key, connection)
        return Response(answer.status, answer.getheaders(), content)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle = [c for pool in self._idle.values() for c in pool]
            self._idle.clear()
        for connection in idle:
            connection.close()

    def idle_connections(self) -> int:
        with self._lock:
            return sum(len(pool) for pool in self._idle.values())

    # -- the pool --------------------------------------------------------------------------------------------------

    def _take(self, key: tuple[Any, ...]) -> Optional[http.client.HTTPConnection]:
        """The most recently used idle connection that the server has not closed, if any."""
        while True:
            with self._lock:
                pool = self._idle.get(key)
                if not pool:
                    return None
                connection = pool.pop()
            if _still_open(connection):
                return connection
            connection.close()

    def _give_back(self, key: tuple[Any, ...], connection: http.client.HTTPConnection) -> None:
        with self._lock:
            pool = self._idle.setdefault(key, [])
            if len(pool) < self.pool_size:
                pool.append(connection)
                return
        connection.close()

    @staticmethod
    def _connect(key: tuple[Any, ...], connect_timeout: float) -> http.client.HTTPConnection:
        """A new connection, connected (and tunnelled, and past the TLS handshake): NotSent when that fails."""
        scheme, host, port, proxy, ca_bundle = key
        proxy_parts = urlsplit(proxy) if proxy else None
        if proxy_parts is not None and proxy_parts.scheme != "http":
            raise NotSent(f"the proxy {proxy_parts.hostname} is not a plain-http proxy ({proxy_parts.scheme}://): "
                          "only http:// proxies are supported")
        address = (proxy_parts.hostname, proxy_parts.port or 80) if proxy_parts else (host, port)
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = http.client.HTTPSConnection(*address, timeout=connect_timeout, context=_tls(ca_bundle))
            if proxy:
                connection.set_tunnel(host, port, headers=_proxy_authorization(proxy))
        else:
            connection = http.client.HTTPConnection(*address, timeout=connect_timeout)
        where = f"{host}:{port}" + (f" through the proxy {address[0]}:{address[1]}" if proxy else "")
        try:
            connection.connect()
        except TimeoutError:
            connection.close()
            raise NotSent(f"could not connect to {where} within {connect_timeout:g} s (connect timeout)") from None
        except ssl.SSLError as exc:
            connection.close()
            raise NotSent(f"the TLS handshake with {where} failed: {_reason(exc)}") from None
        except OSError as exc:
            connection.close()
            raise NotSent(f"could not connect to {where}: {_reason(exc)}") from None
        return connection


def _still_open(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection can be reused: an idle socket that reads (EOF, or bytes nobody asked for) is done."""
    sock = connection.sock
    if sock is None:
        return False
    if not hasattr(select, "poll"):  # Windows
        return not select.select([sock], [], [], 0)[0]
    poller = select.poll()  # not select() where poll() exists: select() fails on descriptors above 1023
    poller.register(sock, select.POLLIN)
    return not poller.poll(0)


def _query(existing: str, params: Optional[Mapping[str, Any]]) -> str:
    """`?...`: the URL's own query, then `params` (None values left out, others as `str()`), as `requests` does."""
    added = urlencode([(k, str(v)) for k, v in (params or {}).items() if v is not None])
    query = "&".join(q for q in (existing, added) if q)
    return f"?{query}" if query else ""


def _proxy_for(scheme: str, host: str, port: int) -> Optional[str]:
    """The proxy URL the environment gives for this scheme and host, None when there is none or NO_PROXY skips it."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(f"{host}:{port}"):  # NO_PROXY names a host, or a host:port
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _proxy_authorization(proxy: str) -> dict[str, str]:
    """Basic `Proxy-Authorization` from `user:password@` in the proxy URL (none without)."""
    parts = urlsplit(proxy)
    if parts.username is None:
        return {}
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def _ca_bundle() -> str:
    """The CA bundle `requests` would use: $REQUESTS_CA_BUNDLE, $CURL_CA_BUNDLE, else certifi's (a core dependency, so
    https does not hang on whether this Python has a system CA store)."""
    chosen = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if chosen:
        return chosen
    import certifi  # only for https: plain-http commands never load it

    return certifi.where()


@functools.lru_cache(maxsize=None)
def _tls(ca_bundle: Optional[str]) -> ssl.SSLContext:
    """A verifying TLS context (made once per bundle: loading a bundle costs milliseconds)."""
    if ca_bundle and os.path.isdir(ca_bundle):
        return ssl.create_default_context(capath=ca_bundle)
    return ssl.create_default_context(cafile=ca_bundle)


def _reason(exc: BaseException) -> str:
    """An exception as `Type: text`, the text being the OS's or the library's own (no request data in it)."""
    text = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

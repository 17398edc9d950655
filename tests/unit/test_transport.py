"""The HTTP transport over real sockets: keep-alive, stale connections, failures that were or may have been sent,
TLS verification, proxies from the environment. Servers are local (tests/unit/local_servers.py)."""

from __future__ import annotations

import json
import select
import socket
import struct
import threading

import pytest

from rr_pulumi.api.client import AmbiguousFailure, RequestRocketClient
from rr_pulumi.api.errors import ConnectionFailed
from rr_pulumi.api.transport import MaybeSent, NotSent, Response, Transport

from .fake_api import TOKEN
from .local_servers import ApiServer, ConnectProxy, answer_json, self_signed, tls_server_context

TIMEOUT = (5.0, 10.0)
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_thread_left_and_no_proxy_set(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    before = set(threading.enumerate())
    yield
    assert set(threading.enumerate()) - before == set()


@pytest.fixture
def transport():
    transport = Transport(pool_size=4)
    yield transport
    transport.close()


def serve(*servers):
    """Start the servers; the test stops them (after closing its transport, whose idle connections they serve)."""
    for server in servers:
        server.start()
    return servers[0] if len(servers) == 1 else servers


def get(transport, url, **kw):
    return transport.request("GET", url, timeout=kw.pop("timeout", TIMEOUT), **kw)


def idle_sockets(transport):
    return [c.sock for pool in transport._idle.values() for c in pool]


# -- requests and answers --------------------------------------------------------------------------------------------

def test_the_client_sends_its_headers_params_and_json_body():
    api = serve(ApiServer(lambda h: answer_json(h, 201, {"clients": [{"sKey": "c1", "clientName": "a"}]})))
    client = RequestRocketClient(api.url, TOKEN, timeout=TIMEOUT)
    try:
        assert client.create("/api/clients", {"clientName": "a"}, lambda i: False) == {"sKey": "c1", "clientName": "a"}
        client.list("/api/clients/c1/credentials", {"includeTemporary": "true"})
    finally:
        client._transport.close()
        api.stop()
    (before, _, _, _), (post, path, headers, body), (_, listed, _, _) = api.seen
    assert before == "GET"  # a create lists its collection first (see rr_pulumi.api.ownership)
    assert (post, path, json.loads(body)) == ("POST", "/api/clients", {"clientName": "a"})
    assert headers["Content-Type"] == "application/json" and headers["Accept"] == "application/json"
    assert headers["User-Agent"] == "rr-pulumi" and headers["Authorization"] == TOKEN  # raw, no "Bearer"
    assert listed == "/api/clients/c1/credentials?includeTemporary=true&page=1&limit=100"


def test_params_join_the_urls_own_query_and_leave_out_none(transport):
    api = serve(ApiServer())
    try:
        answer = get(transport, api.url + "/x?a=1", params={"b": 2, "c": None, "d": "x y&z", "e": True})
    finally:
        transport.close()
        api.stop()
    assert answer.json() == {"path": "/x?a=1&b=2&d=x+y%26z&e=True"}


def test_the_response_has_status_headers_in_any_case_body_and_text(transport):
    def teapot(handler):
        content = "caf\u00e9".encode("latin-1")
        handler.send_response(418)
        handler.send_header("Content-Type", "text/plain; charset=latin-1")
        handler.send_header("Retry-After", "3")
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

    api = serve(ApiServer(teapot))
    try:
        answer = get(transport, api.url + "/")
    finally:
        transport.close()
        api.stop()
    assert answer.status_code == 418 and answer.headers["retry-after"] == answer.headers.get("RETRY-AFTER") == "3"
    assert answer.content == b"caf\xe9" and answer.text == "caf\u00e9"
    with pytest.raises(ValueError):
        answer.json()


def test_a_response_without_charset_is_utf8():
    assert Response(200, [("content-type", "application/json")], '{"n": "\u00e9"}'.encode()).json() == {"n": "\u00e9"}
    assert Response(200, {}, "\u00e9".encode()).text == "\u00e9"


# -- keep-alive --------------------------------------------------------------------------------------------------------

def test_requests_on_one_thread_share_one_keep_alive_connection(transport):
    api = serve(ApiServer())
    try:
        for n in range(5):
            assert get(transport, f"{api.url}/{n}").json() == {"path": f"/{n}"}
        transport.request("POST", api.url + "/p", json={"a": 1}, timeout=TIMEOUT)
    finally:
        transport.close()
        api.stop()
    assert api.accepted == 1 and len(api.seen) == 6


def test_the_pool_keeps_at_most_pool_size_idle_connections():
    all_in = threading.Barrier(3)

    def together(handler):
        if handler.path != "/again":
            all_in.wait(timeout=10)  # three connections open at once
        answer_json(handler)

    api = serve(ApiServer(together))
    transport = Transport(pool_size=2)
    senders = [threading.Thread(target=get, args=(transport, f"{api.url}/{n}")) for n in range(3)]
    try:
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        assert api.accepted == 3 and transport.idle_connections() == 2
        get(transport, api.url + "/again")
        assert api.accepted == 3  # one of the kept ones
    finally:
        transport.close()
        api.stop()


def test_a_connection_the_server_closed_while_idle_is_replaced_without_error(transport):
    def then_hang_up(handler):
        answer_json(handler)
        handler.close_connection = True  # closes after answering, without saying `Connection: close`

    api = serve(ApiServer(then_hang_up))
    try:
        get(transport, api.url + "/first")
        assert api.hung_up.acquire(timeout=10)
        assert select.select(idle_sockets(transport), [], [], 10)[0]  # its end of file has reached this side
        assert get(transport, api.url + "/second").json() == {"path": "/second"}
    finally:
        transport.close()
        api.stop()
    assert api.accepted == 2


def test_a_connection_the_server_said_it_closes_is_not_kept(transport):
    api = serve(ApiServer(lambda h: answer_json(h, headers={"Connection": "close"})))
    try:
        get(transport, api.url + "/first")
        assert transport.idle_connections() == 0
        get(transport, api.url + "/second")
    finally:
        transport.close()
        api.stop()
    assert api.accepted == 2


def test_a_response_cut_short_is_ambiguous_and_its_connection_is_not_kept(transport):
    def short(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b'{"partial"')
        handler.close_connection = True

    api = serve(ApiServer(short))
    try:
        with pytest.raises(MaybeSent, match=r"the connection to 127\.0\.0\.1:\d+ broke: IncompleteRead"):
            get(transport, api.url + "/")
        assert transport.idle_connections() == 0
    finally:
        transport.close()
        api.stop()


# -- failures: not sent, or maybe sent ---------------------------------------------------------------------------------

def test_connection_refused_is_not_sent(transport):
    with socket.socket() as bound_not_listening:
        bound_not_listening.bind(("127.0.0.1", 0))
        port = bound_not_listening.getsockname()[1]
        with pytest.raises(NotSent, match=rf"could not connect to 127\.0\.0\.1:{port}: ConnectionRefusedError"):
            get(transport, f"http://127.0.0.1:{port}/")


@pytest.mark.parametrize("failure, text", [
    (TimeoutError("timed out"), r"within 5 s \(connect timeout\)"),
    (socket.gaierror(-2, "Name or service not known"), r"gaierror: Name or service not known"),
])
def test_connect_timeouts_and_unknown_hosts_are_not_sent(monkeypatch, transport, failure, text):
    def fail(*args, **kw):
        raise failure

    monkeypatch.setattr(socket, "create_connection", fail)
    with pytest.raises(NotSent, match=r"could not connect to api\.example\.test:443.*" + text):
        get(transport, "https://api.example.test/")


def test_a_reset_after_the_request_is_ambiguous(transport):
    def reset(handler):
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()  # an RST, not an answer
        handler.close_connection = True

    api = serve(ApiServer(reset))
    try:
        with pytest.raises(MaybeSent, match=r"the connection to 127\.0\.0\.1:\d+ broke"):
            transport.request("POST", api.url + "/api/clients", json={"clientName": "a"}, timeout=TIMEOUT)
    finally:
        transport.close()
        api.stop()
    assert [m for m, *_ in api.seen] == ["POST"]  # it had arrived


def test_no_answer_within_the_read_timeout_is_ambiguous(transport):
    def hang(handler):
        handler.server.release.wait(timeout=30)
        handler.close_connection = True

    api = serve(ApiServer(hang))
    try:
        with pytest.raises(MaybeSent, match=r"no answer from 127\.0\.0\.1:\d+ within 0\.2 s \(read timeout\)"):
            get(transport, api.url + "/", timeout=(5.0, 0.2))
        assert transport.idle_connections() == 0
    finally:
        transport.close()
        api.stop()


def test_the_client_reports_an_ambiguous_failure_without_its_token():
    def reset(handler):
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
        handler.close_connection = True

    api = serve(ApiServer(reset))
    client = RequestRocketClient(api.url, TOKEN, timeout=TIMEOUT, max_attempts=1)
    try:
        with pytest.raises(AmbiguousFailure) as failure:
            client.request("POST", "/api/clients", body={"clientName": "a"})
    finally:
        client._transport.close()
        api.stop()
    assert str(failure.value).startswith("POST /api/clients failed: could not reach the RequestRocket API (the conn")
    assert TOKEN not in str(failure.value)


def test_the_client_reports_a_refused_connection_as_not_sent():
    with socket.socket() as bound_not_listening:
        bound_not_listening.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d" % bound_not_listening.getsockname()[1]
        with pytest.raises(ConnectionFailed) as failure:
            RequestRocketClient(url, TOKEN, max_attempts=1).request("POST", "/api/clients", body={})
    assert type(failure.value) is ConnectionFailed and "ConnectionRefusedError" in str(failure.value)


# -- TLS ---------------------------------------------------------------------------------------------------------------

@pytest.fixture
def tls_api(tmp_path):
    cert_file, key_file = self_signed(tmp_path)
    api = serve(ApiServer(tls=tls_server_context(cert_file, key_file)))
    yield api, cert_file
    api.stop()


def test_https_is_verified_against_requests_ca_bundle(monkeypatch, transport, tls_api):
    api, cert_file = tls_api
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))
    try:
        assert get(transport, api.url + "/a").json() == {"path": "/a"}
        assert get(transport, api.url.replace("127.0.0.1", "localhost") + "/b").json() == {"path": "/b"}
    finally:
        transport.close()


def test_curl_ca_bundle_is_used_when_requests_ca_bundle_is_not_set(monkeypatch, transport, tls_api):
    api, cert_file = tls_api
    monkeypatch.setenv("CURL_CA_BUNDLE", str(cert_file))
    try:
        assert get(transport, api.url + "/a").status_code == 200
    finally:
        transport.close()


def test_an_untrusted_certificate_fails_the_handshake_not_sent(monkeypatch, tmp_path, transport, tls_api):
    api, _ = tls_api
    with pytest.raises(NotSent, match=r"the TLS handshake with 127\.0\.0\.1:\d+ failed: .*CERTIFICATE_VERIFY_FAILED"):
        get(transport, api.url + "/")  # certifi's bundle (or the system's) does not know a self-signed certificate
    other_cert, _ = self_signed(tmp_path, "other")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other_cert))
    with pytest.raises(NotSent, match="CERTIFICATE_VERIFY_FAILED"):
        get(transport, api.url + "/")
    assert api.seen == []


# -- proxies -----------------------------------------------------------------------------------------------------------

def test_https_goes_through_a_connect_tunnel_given_in_https_proxy(monkeypatch, transport, tls_api):
    api, cert_file = tls_api
    proxy = serve(ConnectProxy())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    try:
        for n in range(3):
            assert get(transport, f"{api.url}/{n}").json() == {"path": f"/{n}"}
    finally:
        transport.close()
        proxy.stop()
    port = api.server_address[1]
    assert [line.rsplit(" ", 1)[0] for line, _ in proxy.seen] == [f"CONNECT 127.0.0.1:{port}"]  # one, kept alive
    assert "proxy-authorization" not in proxy.seen[0][1] and api.accepted == 1


def test_the_proxy_gets_basic_credentials_from_the_proxy_url(monkeypatch, transport, tls_api):
    api, cert_file = tls_api
    proxy = serve(ConnectProxy(credentials=("rr user", "p@ss:word")))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))
    monkeypatch.setenv("HTTPS_PROXY", f"http://rr%20user:p%40ss%3Aword@127.0.0.1:{proxy.port}")
    try:
        assert get(transport, api.url + "/a").json() == {"path": "/a"}
    finally:
        transport.close()
        proxy.stop()
    assert proxy.seen[0][1]["proxy-authorization"] == proxy.expected_authorization()


def test_a_proxy_that_refuses_the_tunnel_is_not_sent_and_its_password_is_not_shown(monkeypatch, transport, tls_api):
    api, cert_file = tls_api
    proxy = serve(ConnectProxy(credentials=("rr", "right")))
    monkeypatch.setenv("HTTPS_PROXY", f"http://rr:wrong-password@127.0.0.1:{proxy.port}")
    try:
        with pytest.raises(NotSent, match=r"through the proxy 127\.0\.0\.1:\d+: .*407 Proxy Authentication Required"
                           ) as failure:
            get(transport, api.url + "/")
    finally:
        transport.close()
        proxy.stop()
    assert "wrong-password" not in str(failure.value) and api.accepted == 0


def test_no_proxy_bypasses_the_proxy(monkeypatch, transport, tls_api):
    api, cert_file = tls_api
    proxy = serve(ConnectProxy())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "example.test,127.0.0.1")
    try:
        assert get(transport, api.url + "/a").status_code == 200
    finally:
        transport.close()
        proxy.stop()
    assert proxy.seen == [] and api.accepted == 1


def test_http_goes_to_the_proxy_by_absolute_url_with_its_credentials(monkeypatch, transport):
    proxy = serve(ApiServer())  # a plain-http proxy is asked for the absolute URL: this one just answers
    monkeypatch.setenv("HTTP_PROXY", f"http://rr:secret@127.0.0.1:{proxy.server_address[1]}")
    try:
        assert get(transport, "http://api.example.test:8080/x", params={"page": 1}).status_code == 200
    finally:
        transport.close()
        proxy.stop()
    (method, target, headers, _), = proxy.seen
    assert target == "http://api.example.test:8080/x?page=1" and headers["Host"] == "api.example.test:8080"
    assert headers["Proxy-Authorization"] == "Basic cnI6c2VjcmV0"


def test_only_plain_http_proxies_are_supported(monkeypatch, transport):
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.example.test:3128")
    with pytest.raises(NotSent, match=r"the proxy proxy\.example\.test is not a plain-http proxy \(https://\)"):
        get(transport, "https://api.example.test/")

"""Sample requests for `rr-pulumi rules diff`, read from the files a team has: its own JSON Lines file, the
emulator's request records, or a HAR file as a browser saves it. The format is told from the content.

JSON Lines (one request per line; `#` lines and blank lines are skipped):

    {"proxy": "partners", "method": "GET", "path": "/invoices/7"}
    {"proxy": "partners", "method": "POST", "path": "/invoices", "query": {"dryRun": "1"},
     "headers": {"Content-Type": "application/json"}, "body": {"amount": 10}, "claims": {"scope": "invoices:write"},
     "name": "partner creates an invoice"}

`proxy` is the Proxy's Pulumi resource name, its URN or its RequestRocket id; a query written in `path` counts
too; `query` and `headers` are objects (or lists of [name, value] pairs); `body` is the JSON body; `claims` the
caller's JWT claims (or `jwt`, a token whose claims are read, not verified).

Emulator records: the answer of `GET /_emulator/dataplane/requests` (`{"requests": [...]}`), or one record per line.
The data plane keeps neither bodies nor JWT claims in its records: a rule that checks them cannot be judged on a
record, and the diff says so instead of guessing.

HAR: `log.entries[].request` (`method`, `url`, `headers`, `postData.text`); the proxy is the `/api/{proxyId}` part of
the data-plane URL (`<data plane>/api/{proxyId}/<path>`); entries to other hosts are skipped.

Recorded traffic (records, HAR) may hold requests to proxies of other stacks sharing the account: those are
skipped and counted, never judged. A JSON Lines request names its proxy on purpose: one the stack does not have is
reported.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, get_args
from urllib.parse import parse_qsl, unquote, urlsplit

from rr_pulumi.api.errors import RequestRocketError
from rr_pulumi.schema.common import HttpMethod
from rr_pulumi.schema.rule_evaluation import NO_BODY, Request

PROXY_IN_URL = re.compile(r"/api/([^/?#]+)(/[^?#]*)?")


class RequestFileError(RequestRocketError):
    """A request file cannot be read; the message names the file, the line or entry, and the field."""


@dataclass
class SampleRequest:
    """One request to judge: which proxy it goes to, what the rules see, and where it came from."""

    proxy: str  # a Pulumi resource name, URN or RequestRocket id
    request: Request
    source: str  # `file:line` or `file#entry`
    name: Optional[str] = None
    unknown: frozenset[str] = field(default_factory=frozenset)  # parts the file does not hold: "body", "claims"
    captured: bool = False  # recorded traffic (records, HAR): a request to a proxy of another stack is not ours

    def label(self) -> str:
        return self.name or f"{self.request.method} {self.request.path}"


def _pairs(value: Any, where: str, what: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list) and all(isinstance(p, list) and len(p) == 2 for p in value):
        items = [tuple(p) for p in value]
    else:
        raise RequestFileError(f"{where}: {what}: must be an object of name: value, or a list of [name, value] pairs")
    for name, item in items:
        if not isinstance(name, str) or not isinstance(item, (str, int, float)) or isinstance(item, bool):
            raise RequestFileError(f"{where}: {what}: {name!r}: values must be strings")
    return [(str(n), str(v)) for n, v in items]


def claims_of_jwt(token: str) -> Optional[dict[str, Any]]:
    """The (unverified) payload of a JWT, None when the text is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def _path(text: str) -> str:
    path = text.split("?", 1)[0]
    return path if path.startswith("/") else "/" + path


def from_line(document: Any, where: str) -> SampleRequest:
    """One request of the team's JSON Lines format."""
    if not isinstance(document, dict):
        raise RequestFileError(f"{where}: must be a JSON object with proxy, method and path")
    known = {"proxy", "method", "path", "query", "headers", "body", "claims", "jwt", "name"}
    unknown = sorted(set(document) - known)
    if unknown:
        raise RequestFileError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
    for required in ("proxy", "method", "path"):
        if not isinstance(document.get(required), str) or not document[required]:
            raise RequestFileError(f"{where}: {required}: is required (a string)")
    method = document["method"].upper()
    if method not in get_args(HttpMethod):
        raise RequestFileError(f"{where}: method: must be one of: {', '.join(get_args(HttpMethod))} "
                               f"(got {document['method']!r})")
    claims = document.get("claims")
    if claims is not None and not isinstance(claims, dict):
        raise RequestFileError(f"{where}: claims: must be a JSON object")
    if claims is None and document.get("jwt") is not None:
        claims = claims_of_jwt(str(document["jwt"]))
        if claims is None:
            raise RequestFileError(f"{where}: jwt: not a JWT (header.payload.signature)")
    in_path = parse_qsl(urlsplit(document["path"]).query, keep_blank_values=True)  # `/invoices?dryRun=1`
    request = Request(method, _path(document["path"]), _pairs(document.get("headers"), where, "headers"),
                      in_path + _pairs(document.get("query"), where, "query"), document.get("body", NO_BODY), claims)
    name = document.get("name")
    return SampleRequest(document["proxy"], request, where, str(name) if name is not None else None)


def from_record(record: dict[str, Any], where: str) -> Optional[SampleRequest]:
    """One request of the emulator's data-plane records (None for a request to no proxy)."""
    if record.get("outcome") == "unknown_proxy" or not record.get("proxyId"):
        return None
    request = Request(str(record.get("method", "GET")).upper(), _path(str(record.get("path") or "/")),
                      _pairs(record.get("headers"), where, "headers"), _pairs(record.get("query"), where, "query"))
    return SampleRequest(str(record["proxyId"]), request, where, unknown=frozenset({"body", "claims"}), captured=True)


def from_har_entry(entry: dict[str, Any], where: str) -> Optional[SampleRequest]:
    """One request of a HAR file, None when its URL is not a data-plane URL `.../api/{proxyId}/...`."""
    har = entry.get("request")
    if not isinstance(har, dict) or not isinstance(har.get("postData") or {}, dict):
        raise RequestFileError(f"{where}: request: must be a HAR request object (method, url, headers, postData)")
    url = urlsplit(str(har.get("url") or ""))
    found = PROXY_IN_URL.search(url.path)
    if found is None:
        return None
    headers = [(str(h.get("name")), str(h.get("value", ""))) for h in har.get("headers") or []
               if isinstance(h, dict) and not str(h.get("name", "")).startswith(":")]  # HTTP/2 pseudo-headers
    text = (har.get("postData") or {}).get("text")
    body: Any = NO_BODY
    if isinstance(text, str) and text:  # HAR's postData.text is a string; anything else carries no body
        try:
            body = json.loads(text)
        except ValueError:
            body = NO_BODY  # the data plane judges a body that is not JSON as having none
    claims = None
    for header, value in headers:
        if header.lower() == "authorization":
            claims = claims_of_jwt(value.split(" ", 1)[-1].strip())
    path = unquote(found.group(2) or "/")
    request = Request(str(har.get("method", "GET")).upper(), path, headers,
                      parse_qsl(url.query, keep_blank_values=True), body, claims)
    return SampleRequest(unquote(found.group(1)), request, where, captured=True)


def read(path: Path) -> list[SampleRequest]:
    """The requests of a file, in its order; the format (JSON Lines, records, HAR) is told from the content."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Notepad, PowerShell) is not content
    except OSError as exc:
        raise RequestFileError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise RequestFileError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    name = path.name
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict) and isinstance(whole.get("log"), dict):
        entries = whole["log"].get("entries") or []
        if not isinstance(entries, list):
            raise RequestFileError(f"{name}: log.entries must be a list of HAR entries, got {type(entries).__name__}")
        found = (from_har_entry(e, f"{name}#entry{i + 1}") for i, e in enumerate(entries) if isinstance(e, dict))
        return [r for r in found if r is not None]
    if isinstance(whole, dict) and isinstance(whole.get("requests"), list):
        return _records(whole["requests"], name)
    if isinstance(whole, list):
        return _records(whole, name)
    return _lines(text.splitlines(), name)


def _records(records: Iterable[Any], name: str) -> list[SampleRequest]:
    found = []
    for index, record in enumerate(records):
        where = f"{name}#record{index + 1}"
        if not isinstance(record, dict) or "requestId" not in record:  # skipped, it would pass a check unseen
            raise RequestFileError(f"{where}: not an emulator request record (requestId, proxyId, method, path); "
                                   "the team's requests are JSON Lines: one object a line, not a JSON array")
        sample = from_record(record, where)
        if sample is not None:
            found.append(sample)
    return found


def _lines(lines: list[str], name: str) -> list[SampleRequest]:
    found = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{name}:{number}"
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RequestFileError(f"{where}: not JSON ({exc.msg})") from None
        if isinstance(document, dict) and "requestId" in document and "proxyId" in document:
            record = from_record(document, where)  # a record exported one per line
            if record is not None:
                found.append(record)
            continue
        found.append(from_line(document, where))
    return found

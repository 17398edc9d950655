"""The baseline users would otherwise write: RequestRocket dynamic providers "the usual way".

Each call is one plain `requests` call (no shared session, no rate budget, no retries, no read cache), so `refresh`
sends one GET per resource (a rule, which has no get-one endpoint, lists its parent's rules), and a 429 or a 5xx
fails the resource. Request bodies and outputs reuse rr-pulumi's provider classes (their schema mapping), so the
two stacks differ only in how they talk to the API; the token comes from the same stack configuration.

The naive stack program (shape.py) swaps these classes in for rr-pulumi's five providers, like the floor.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import requests

from rr_pulumi.api.client import item_id, items_of, plural_of
from rr_pulumi.provider import base as _base
from rr_pulumi.provider.client import ClientProvider
from rr_pulumi.provider.credential import CredentialProvider
from rr_pulumi.provider.proxy import ProxyProvider
from rr_pulumi.provider.rule import RuleProvider
from rr_pulumi.provider.target import TargetProvider

_base.connection_failures = lambda *args, **kwargs: []  # a usual provider checks no token before it writes


class NaiveClient:
    """One HTTP request per call; any status >= 400 is an error."""

    def __init__(self, settings: Any) -> None:
        self.api_url, self.token = settings.api_url, settings.require_token()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, self.api_url + path, json=body, timeout=30,
                                    headers={"Authorization": self.token})
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} returned {response.status_code}: {response.text[:200]}")
        return response.json() if response.content else {}

    def create(self, collection: str, body: dict, matches: Callable, *, secrets: Any = ()) -> dict:
        return items_of(self._call("POST", collection, body), plural_of(collection))[0]

    def update(self, collection: str, id_: str, body: dict, *, secrets: Any = ()) -> dict:
        return items_of(self._call("PUT", f"{collection}/{id_}", body), plural_of(collection))[0]

    def delete(self, collection: str, id_: str, body: Optional[dict] = None) -> bool:
        self._call("DELETE", f"{collection}/{id_}", body)
        return True

    def list(self, collection: str, params: Optional[dict] = None) -> list[dict]:
        return items_of(self._call("GET", collection), plural_of(collection))

    def prefetch(self, collections: Any) -> None:
        """A usual provider reads nothing ahead."""

    def find(self, collection: str, id_: str) -> Optional[dict]:
        plural = plural_of(collection)
        if plural == "rules":  # no get-one for rules: list the parent's rules for each rule
            return next((i for i in self.list(collection) if item_id(i, plural) == id_), None)
        try:
            return items_of(self._call("GET", f"{collection}/{id_}"), plural)[0]
        except RuntimeError as exc:
            if " returned 404" in str(exc):
                return None
            raise


def _naive_api(props: Optional[dict] = None) -> NaiveClient:
    return NaiveClient(_base.SchemaProvider.settings())  # the stack's top-level apiUrl and token


class NaiveClientProvider(ClientProvider):
    api = staticmethod(_naive_api)


class NaiveCredentialProvider(CredentialProvider):
    api = staticmethod(_naive_api)


class NaiveTargetProvider(TargetProvider):
    api = staticmethod(_naive_api)


class NaiveProxyProvider(ProxyProvider):
    api = staticmethod(_naive_api)


class NaiveRuleProvider(RuleProvider):
    api = staticmethod(_naive_api)

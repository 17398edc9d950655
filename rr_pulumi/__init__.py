"""rr-pulumi: RequestRocket as code, reconciled by Pulumi dynamic providers.

    from rr_pulumi import Client, Credential, Target, Proxy, Rule

The resource classes load on first use, so importing a submodule (the emulator, the engine helpers) does not pull
in the Pulumi SDK.
"""

from importlib import metadata as _metadata
from typing import Any

try:
    __version__ = _metadata.version("rr-pulumi")
except _metadata.PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"

_PUBLIC = {
    "Client", "ClientArgs", "Credential", "CredentialArgs", "Target", "TargetArgs", "Proxy", "ProxyArgs",
    "Rule", "RuleArgs", "HeaderCheck", "QueryCheck", "BodyCheck", "TokenCheck",
    "ApiKeySecret", "BearerSecret", "JwtSecret", "BasicAuthSecret", "OAuth2Secret", "CustomTokenSecret",
    "CustomSecret", "NoneSecret", "JwtVerifySecret",
}  # fmt: skip

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        from . import resources

        return getattr(resources, name)
    raise AttributeError(f"module 'rr_pulumi' has no attribute {name!r}")

"""rr-pulumi: RequestRocket as code, reconciled by Pulumi dynamic providers.

    from rr_pulumi import Client, Credential, Target, Proxy, Rule

The resource classes load on first use, so importing a submodule (the emulator, the engine helpers) does not pull
in the Pulumi SDK. Type checkers see them directly (the package ships `py.typed`).
"""

from typing import TYPE_CHECKING, Any

from rr_pulumi import _moved
from rr_pulumi.schema import kinds as _kinds

_moved.install()  # the flat layout's module paths still import (docs/architecture.md)

if TYPE_CHECKING:
    from rr_pulumi.resources import *  # noqa: F403

    __version__: str

# rr_pulumi.resources.__all__ (a unit test keeps the two equal), known without importing it: each kind's class and
# its *Args from the registry of kinds (no pydantic, no Pulumi SDK), and the names that are not kinds.
_PUBLIC = {
    *(kind.name for kind in _kinds.KINDS), *(f"{kind.name}Args" for kind in _kinds.KINDS),
    "AdoptionConflict", "ApiKeySecret", "ApiKeySecretDict", "BasicAuthSecret", "BasicAuthSecretDict", "BearerSecret",
    "BearerSecretDict", "BodyCheck", "BodyCheckDict", "ClientMember", "CredentialSecretDict", "CredentialSecretInput",
    "CustomSecret", "CustomSecretDict", "CustomTokenSecret", "CustomTokenSecretDict", "HeaderCheck",
    "HeaderCheckDict", "JwtSecret", "JwtSecretDict", "JwtVerifySecret", "JwtVerifySecretDict", "NoneSecret",
    "NoneSecretDict", "OAuth2Secret", "OAuth2SecretDict", "ProgramError", "QueryCheck", "QueryCheckDict",
    "SecretValue", "TokenCheck", "TokenCheckDict", "forget_declarations",
}  # fmt: skip

__all__ = sorted(_PUBLIC)  # noqa: PLE0605 (derived from the registry; checkers read the star import above)


def _version() -> str:
    """The installed distribution's version (looked up on first use: `importlib.metadata` costs every process that
    imports a submodule, such as the provider, about 6 ms)."""
    from importlib import metadata

    try:
        return metadata.version("rr-pulumi")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        from rr_pulumi import resources

        return getattr(resources, name)
    if name == "__version__":
        globals()["__version__"] = version = _version()
        return version
    raise AttributeError(f"module 'rr_pulumi' has no attribute {name!r}")

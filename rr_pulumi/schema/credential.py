"""Credential: `/api/clients/{clientId}/credentials/{credentialId}`, with its write-only secret.

`credential_type` says who uses it: `proxy` (callers authenticate to RequestRocket) or `target` (RequestRocket
authenticates to the upstream). The auth types allowed for each type and the shape of `credential_secret` per auth
type follow section 0 and the table of section 4 of the contract. Extra secret keys are kept, as the API keeps them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rr_pulumi.schema.model import Failure, KindFacts, SchemaModel, _argument, _reason, prop
from rr_pulumi.schema.common import TEXT_MAX, HttpMethod, HttpUrl, Region, client_id_prop, name_prop, timestamp_prop

CredentialType = Literal["proxy", "target"]
GrantType = Literal["authorization_code", "client_credentials", "pkce"]
AuthType = Literal["apiKey", "bearer", "jwt", "basicAuth", "oauth2", "customToken", "custom", "none", "jwtVerify"]

# Section 4: which auth types each credential type accepts (the API answers 400 otherwise).
ALLOWED_AUTH_TYPES: dict[str, tuple[str, ...]] = {
    "proxy": ("apiKey", "bearer", "jwt", "basicAuth", "jwtVerify"),
    "target": ("apiKey", "bearer", "jwt", "basicAuth", "oauth2", "customToken", "custom", "none"),
}
# The proxy auth types whose callers present a JWT, so a rule's `token_checks` have claims to read.
CLAIM_AUTH_TYPES: tuple[str, ...] = ("jwt", "jwtVerify")


class _Shape(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, loc_by_alias=False, extra="allow")


def _text(wire: str, required: bool = True, **kw: Any) -> Any:
    kw.setdefault("max_length", TEXT_MAX)
    return Field(... if required else None, alias=wire, min_length=1 if required else 0, **kw)


class ApiKeyShape(_Shape):
    """apiKey: the key, and the header it travels in (e.g. X-API-Key)."""

    api_key: str = _text("apiKey", description="The API key.")
    header_name: Optional[str] = _text("headerName", required=False, description="Header carrying the key.")


class BearerShape(_Shape):
    """bearer: a token and an optional prefix (`Bearer `, `Token `, ...)."""

    token: str = _text("token", description="The bearer token.")
    prefix: Optional[str] = _text("prefix", required=False, max_length=100, description="Text before the token.")


class JwtShape(_Shape):
    """jwt: a JWT that you supply."""

    token: str = _text("token", description="The JWT.")


class BasicAuthShape(_Shape):
    """basicAuth: username and password."""

    username: str = _text("username", description="The user name.")
    password: str = _text("password", description="The password.")


class OAuth2Shape(_Shape):
    """oauth2 (target only): client credentials and endpoints."""

    grant_type: GrantType = Field(
        alias="grantType", description="authorization_code, client_credentials or pkce."
    )
    client_id: str = _text("clientId", description="OAuth client id.")
    client_secret: str = _text("clientSecret", description="OAuth client secret.")
    token_url: HttpUrl = Field(alias="tokenUrl", description="Token endpoint (absolute http(s) URL).")
    authorization_url: Optional[HttpUrl] = Field(
        None, alias="authorizationUrl", description="Authorization endpoint (absolute http(s) URL)."
    )
    scope: Optional[str] = _text("scope", required=False, description="Scopes requested.")


class CustomTokenShape(_Shape):
    """customToken (target only): RequestRocket fetches the token with this HTTP request."""

    url: HttpUrl = Field(alias="url", description="URL of the token request.")
    method: HttpMethod = Field(alias="method", description="HTTP method of the token request.")
    headers: Optional[dict[str, str]] = Field(None, alias="headers", description="Headers of the token request.")
    body: Optional[Union[str, dict[str, Any]]] = Field(None, alias="body", description="Body of the token request.")
    token_path: str = _text("tokenPath", description="JSONPath of the token in the response.")


class CustomShape(_Shape):
    """custom (target only): headers sent as they are."""

    headers: dict[str, str] = Field(alias="headers", min_length=1, description="Headers sent upstream.")


class NoneShape(_Shape):
    """none (target only): no upstream authentication."""


class JwtVerifyShape(_Shape):
    """jwtVerify (proxy only): verify callers' JWTs with a JWKS endpoint or a shared secret (exactly one)."""

    jwks_uri: Optional[HttpUrl] = Field(None, alias="jwksUri", description="JWKS endpoint of the issuer.")
    shared_secret: Optional[str] = Field(
        None, alias="sharedSecret", min_length=1, description="Shared HMAC secret."
    )
    audience: Optional[str] = _text("audience", required=False, description="Expected audience.")
    issuer: Optional[str] = _text("issuer", required=False, description="Expected issuer.")

    @model_validator(mode="after")
    def _one_key_source(self) -> "JwtVerifyShape":
        if (self.jwks_uri is None) == (self.shared_secret is None):
            raise ValueError("needs exactly one of jwks_uri or shared_secret")
        return self


SECRET_SHAPES: dict[str, type[_Shape]] = {
    "apiKey": ApiKeyShape,
    "bearer": BearerShape,
    "jwt": JwtShape,
    "basicAuth": BasicAuthShape,
    "oauth2": OAuth2Shape,
    "customToken": CustomTokenShape,
    "custom": CustomShape,
    "none": NoneShape,
    "jwtVerify": JwtVerifyShape,
}


def secret_shape_failures(auth_type: str, secret: Optional[dict[str, Any]]) -> list[Failure]:
    """Why a secret does not fit its auth type; values are never quoted (they are secret)."""
    shape = SECRET_SHAPES.get(auth_type)
    if shape is None:
        return []
    if secret is None:
        if auth_type == "none":
            return []
        return [Failure("credential_secret", f"is required for credential_auth_type {auth_type!r}")]
    try:
        shape.model_validate(secret)
    except ValidationError as exc:
        return [
            Failure(
                _argument(("credential_secret",) + tuple(e["loc"])),
                _reason(CredentialSchema, e, secret=True) + f" (secret shape for {auth_type!r})",
            )
            for e in exc.errors()
        ]
    return []


def canonical_secret(auth_type: str, secret: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """The secret with Python key names (wire names accepted on input), unset optional keys dropped."""
    shape = SECRET_SHAPES.get(auth_type)
    if secret is None or shape is None:
        return secret
    return shape.model_validate(secret).model_dump(by_alias=False, exclude_none=True)


def secret_to_wire(auth_type: str, secret: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    shape = SECRET_SHAPES.get(auth_type)
    if secret is None or shape is None:
        return secret
    return shape.model_validate(secret).model_dump(by_alias=True, exclude_none=True)


class CredentialSchema(SchemaModel):
    """A credential: `proxy` (callers authenticate to RequestRocket) or `target` (RequestRocket authenticates
    upstream). Its secret is always a Pulumi secret in the state and outputs, and write-only on the API; changing it
    rotates it in place."""

    kind_facts: ClassVar[KindFacts] = KindFacts(plural="credentials", word="credential", name_field="credential_name")

    client_id: Optional[str] = client_id_prop("credential")
    credential_name: Optional[str] = name_prop("credentialName", "credential")
    credential_type: Optional[CredentialType] = prop(
        "credentialType",
        required=True,
        immutable=True,
        description="proxy (callers authenticate to RequestRocket) or target (RequestRocket authenticates upstream).",
    )
    credential_auth_type: Optional[AuthType] = prop(
        "credentialAuthType",
        required=True,
        immutable=True,
        description="How the credential authenticates; "
        + "; ".join(f"{ctype}: {', '.join(types)}" for ctype, types in ALLOWED_AUTH_TYPES.items())
        + ".",
    )
    credential_region: Optional[Region] = prop(
        "credentialRegion", required=True, immutable=True, description="AWS region code where the secret is stored."
    )
    credential_secret: Optional[dict[str, Any]] = prop(
        "credentialSecret",
        secret=True,
        description="The secret, shaped by the auth type; write-only on the API; changing it rotates in place.",
    )
    credential_secret_hash: Optional[str] = prop(
        None, computed=True, description="Fingerprint of the last secret sent, to detect a change."
    )
    credential_created_at: Optional[str] = timestamp_prop("credentialCreatedAt", "credential was created")
    credential_updated_at: Optional[str] = timestamp_prop(
        "credentialUpdatedAt", "credential (or its secret) was last updated"
    )

    @classmethod
    def cross_check(cls, values: dict[str, Any], unknown: frozenset[str] = frozenset()) -> list[Failure]:
        ctype, auth = values.get("credential_type"), values.get("credential_auth_type")
        if ctype and auth and auth not in ALLOWED_AUTH_TYPES[ctype]:
            allowed = ", ".join(ALLOWED_AUTH_TYPES[ctype])
            return [
                Failure(
                    "credential_auth_type",
                    f"{auth!r} is not allowed for credential_type {ctype!r}; allowed: {allowed}",
                )
            ]
        if auth and "credential_secret" not in unknown:
            return secret_shape_failures(auth, values.get("credential_secret"))
        return []

    @classmethod
    def canonicalize(cls, values: dict[str, Any]) -> dict[str, Any]:
        auth = values.get("credential_auth_type")
        if auth and values.get("credential_secret") is not None:
            return {**values, "credential_secret": canonical_secret(auth, values["credential_secret"])}
        return values

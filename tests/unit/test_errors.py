"""Error messages: method, path, status, code and the API's text; never the token, never a secret."""

from rr_pulumi.api.errors import (
    ApiError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
    error_from_response,
    secret_strings,
)

TOKEN = "u-abcdef123456"


def test_status_maps_to_class():
    cases = {400: InvalidRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
             413: PayloadTooLarge, 429: RateLimited, 500: ServerError, 503: ServerError, 418: ApiError}
    for status, cls in cases.items():
        assert type(error_from_response("GET", "/api/clients", status, {})) is cls


def test_message_names_method_path_status_code_and_text():
    exc = error_from_response(
        "POST", "/api/clients/c1/proxies", 400,
        {"error": "Bad Request", "code": "VALIDATION_ERROR", "status": 400,
         "message": "proxyRegion: must be one of us-east-1, eu-west-1"},
    )
    assert str(exc) == (
        "POST /api/clients/c1/proxies returned 400 VALIDATION_ERROR: Bad Request; "
        "proxyRegion: must be one of us-east-1, eu-west-1"
    )
    assert exc.code == "VALIDATION_ERROR" and exc.status == 400


def test_conflict_in_use():
    exc = error_from_response("DELETE", "/api/clients/c/credentials/k", 409,
                              {"error": "Credential is used by proxy p1", "code": "RESOURCE_IN_USE", "status": 409})
    assert isinstance(exc, Conflict) and "409 RESOURCE_IN_USE: Credential is used by proxy p1" in str(exc)


def test_token_and_echoed_secrets_are_redacted():
    secret = {"api_key": "sk-live-SUPERSECRET", "header_name": "X-Key"}
    exc = error_from_response(
        "POST", "/api/clients/c/credentials", 400,
        {"error": f"bad token {TOKEN}", "code": "VALIDATION_ERROR",
         "message": 'credentialSecret: {"apiKey": "sk-live-SUPERSECRET", "x": {"y": 1}} is invalid'},
        secrets=[TOKEN, *secret_strings(secret)],
    )
    text = str(exc)
    assert TOKEN not in text and "SUPERSECRET" not in text
    assert "credentialSecret" in text and "[redacted]" in text


def test_non_json_body_still_gives_a_message():
    exc = error_from_response("GET", "/api/clients", 502, "<html>Bad gateway</html>")
    assert isinstance(exc, ServerError) and "GET /api/clients returned 502" in str(exc)


def test_rate_limited_carries_retry_after():
    exc = error_from_response("GET", "/api/clients", 429, {"error": "Too many", "code": "RATE_LIMITED"}, retry_after=3)
    assert exc.retry_after == 3

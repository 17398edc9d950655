"""The gateway's rules, proved against the local emulator before anything reaches production.

`requestrocket` (a fixture of rr-pulumi's pytest plugin) runs the Core API emulator, its data plane and an echo
upstream; `deploy` runs `pulumi up` of this project in a throw-away backend.
"""
import time
from pathlib import Path

import pytest

from rr_pulumi.testing import api_key, signed_jwt

PROJECT = Path(__file__).resolve().parent.parent
PARTNER_KEY = "pk-test-partner-0001"
UPSTREAM_TOKEN = "upstream-test-token-0001"
JWT_SECRET = "internal-jwt-secret-for-tests-0123456789"


def internal_token(scope: str = "invoices:read") -> str:
    return signed_jwt({"sub": "billing-service", "scope": scope, "iss": "https://auth.payments.example",
                       "aud": "payments-api", "exp": int(time.time()) + 600}, JWT_SECRET)


@pytest.fixture(scope="session")
def deployment(requestrocket):
    return requestrocket.deploy(PROJECT, config={"upstreamUrl": requestrocket.upstream_url + "/payments"},
                                secrets={"partnerKey": PARTNER_KEY, "upstreamToken": UPSTREAM_TOKEN,
                                         "internalJwtSecret": JWT_SECRET})


@pytest.fixture
def partners(deployment):
    return deployment.gateway("partners")


@pytest.fixture
def internal(deployment):
    return deployment.gateway("internal")


def test_partners_read_invoices_and_the_upstream_gets_its_own_credential(partners):
    call = partners.call("GET", "/invoices/42", as_=api_key(PARTNER_KEY))
    assert call.status == 200 and call.forwarded
    assert call.upstream.path == "/payments/invoices/42"
    assert call.forwarded_with_header("Authorization", f"Bearer {UPSTREAM_TOKEN}")
    assert PARTNER_KEY not in str(call.upstream.headers)          # the partner's key stays at the gateway


def test_partners_cannot_write(partners):
    call = partners.call("POST", "/invoices", as_=api_key(PARTNER_KEY), json={"amount": 10})
    assert call.status == 403 and call.denied_by == "default:proxy"
    assert call.upstream is None


def test_nobody_deletes(partners, internal):
    assert partners.call("DELETE", "/invoices/1", as_=api_key(PARTNER_KEY)).denied_by == "partners-no-deletes"
    writer = internal_token("invoices:read invoices:write")
    assert internal.call("DELETE", "/invoices/1", as_=writer).denied_by == "internal-no-deletes"


def test_internal_callers_write_only_with_the_claim(internal):
    assert internal.call("POST", "/invoices", as_=internal_token("invoices:read invoices:write"),
                         json={"amount": 10}).forwarded
    assert internal.call("POST", "/invoices", as_=internal_token("invoices:read")).denied_by == "default:proxy"
    assert internal.call("GET", "/invoices", as_=internal_token()).forwarded


def test_wrong_or_missing_credentials_are_401(partners, internal):
    assert partners.call("GET", "/invoices").status == 401
    assert partners.call("GET", "/invoices", as_=api_key("not-the-key")).status == 401
    assert internal.call("GET", "/invoices", as_=signed_jwt({"scope": "invoices:write"}, "wrong-secret-0123456789-0123456789")).status == 401
    assert internal.call("GET", "/invoices", as_=api_key(PARTNER_KEY)).status == 401


def test_partners_over_their_limit_get_429(requestrocket, partners):
    requestrocket.reset_limits()
    answers = [partners.call("GET", "/invoices", as_=api_key(PARTNER_KEY)) for _ in range(61)]
    assert [a.status for a in answers[:60]] == [200] * 60
    assert answers[60].status == 429 and answers[60].code == "RATE_LIMITED"
    assert int(answers[60].headers["Retry-After"]) > 0

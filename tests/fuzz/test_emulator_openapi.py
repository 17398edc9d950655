"""Schema-based fuzzing of the emulator (schemathesis) from its own `/openapi.json`: no 5xx, and every response
matches the document (status code, content type, headers, body schema). Bounded to a few examples per operation."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from rr_pulumi.emulator.openapi import openapi_document
from rr_pulumi.emulator.process import EmulatorProcess

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def emulator():
    with EmulatorProcess(users=("fuzz:team",), rate_limit=0) as emu:
        yield emu


@pytest.fixture(scope="module")
def client_id(emulator):
    """A real client, so that generated requests also reach the handlers behind the client lookup."""
    response = requests.post(emulator.url + "/api/clients", json={"clientName": "fuzz"},
                             headers={"Authorization": emulator.token("fuzz")}, timeout=10)
    return response.json()["clients"][0]["clientId"]


# Built in-process so that the cases exist at collection time; the test below checks the served one is the same.
schema = schemathesis.openapi.from_dict(openapi_document())


def test_the_served_document_is_the_one_fuzzed(emulator):
    assert requests.get(emulator.url + "/openapi.json", timeout=10).json() == openapi_document()


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_per_the_document(case, emulator, client_id):
    case.headers = {**(case.headers or {}), "Authorization": emulator.token("fuzz")}
    if "clientId" in (case.path_parameters or {}) and hash(str(case.body)) % 2:
        case.path_parameters["clientId"] = client_id  # half the cases inside a real client
    case.call_and_validate(base_url=emulator.url, checks=CHECKS)

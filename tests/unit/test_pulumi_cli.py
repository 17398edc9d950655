"""The one-line reasons `rr_pulumi.tools.pulumi_cli` extracts from a failed `pulumi` run, and the child's environment."""

from pathlib import Path

from rr_pulumi.tools.pulumi_cli import child_env, diagnostics_error, error_line

TRACEBACK = """error: Preview failed: Traceback (most recent call last):
  File "/x/pulumi/dynamic/__main__.py", line 84, in wrapper
    return fn(self, request, context)
  File "/x/rr_pulumi/client.py", line 219, in request
    raise gave_up(error, attempt + limited, failing)
rr_pulumi.api.errors.ServerError: GET /api/clients/c1/credentials returned 503 SERVICE_UNAVAILABLE: injected fault

"""


def test_the_engine_error_line_is_kept_and_the_rest_dropped():
    assert error_line("warning: x\nerror: no stack named 'nope' found\n") == "no stack named 'nope' found"
    assert error_line(TRACEBACK) == "GET /api/clients/c1/credentials returned 503 SERVICE_UNAVAILABLE: injected fault"
    assert error_line("error: Preview failed: the token was rejected\n") == "the token was rejected"
    assert error_line("") == "no error message"


def test_the_first_error_diagnostic_names_its_resource():
    urn = "urn:pulumi:prod::p::pulumi-python:dynamic/requestrocket:Credential::callers"
    document = {"diagnostics": [
        {"urn": urn, "message": TRACEBACK, "severity": "error"},
        {"urn": urn, "message": "warning: slow", "severity": "warning"},
        {"urn": "urn:pulumi:prod::p::pulumi:pulumi:Stack::p-prod", "message": "error: update failed",
         "severity": "error"},
    ]}
    assert diagnostics_error(document) == ("Credential callers: GET /api/clients/c1/credentials returned 503 "
                                           "SERVICE_UNAVAILABLE: injected fault (and 1 more error)")
    assert diagnostics_error({"steps": []}) is None and diagnostics_error(None) is None


def test_the_child_gets_the_engine_first_on_path_and_nothing_else_of_ours():
    base = {"PATH": "/usr/bin", "PULUMI_CONFIG_PASSPHRASE": "users-own", "PULUMI_HOME": "/home/u/.pulumi"}
    env = child_env(Path("/cache/engine/bin/pulumi"), base)
    assert env["PATH"] == "/cache/engine/bin:/usr/bin"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "users-own" and env["PULUMI_HOME"] == "/home/u/.pulumi"
    assert "PULUMI_BACKEND_URL" not in env and base["PATH"] == "/usr/bin"

"""`rr-pulumi rules diff` through the real CLI: a stack with rules is up, the program changes a rule's pattern and
another's pattern and priority, the diff lists exactly the requests that flip (from a JSON Lines file, a HAR file
and the emulator's exported records), and after `up` the data plane agrees with every line: each listed request,
sent for real, gets the new decision, each unlisted one keeps its old decision. A second stack of another project,
with the same names on the same account, is beside it: its requests in the records are never judged as ours."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from e2e_helpers import rr_pulumi
from rr_pulumi.emulator.dataplane import data_plane_url
from rr_pulumi.testing import EchoServer, Gateway, api_key

CALLER_KEY = "diff-caller-key-0001"

PROGRAM = """
import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target

c = pulumi.Config()
changed = c.get_bool("changed") or False
region = c.get("region") or "us-east-1"
org = Client("org", client_name=c.require("clientName"))
callers = Credential("callers", client_id=org.id, credential_name="callers", credential_type="proxy",
                     credential_region=region, credential_secret=ApiKeySecret(api_key="%s"))
upstream_auth = Credential("upstream-auth", client_id=org.id, credential_name="upstream-auth",
                           credential_type="target", credential_region=region,
                           credential_secret=BearerSecret(token="diff-upstream-token-0001"))
api = Target("api", client_id=org.id, target_name="api", target_base_url=c.require("upstreamUrl"),
             target_region=region)
gateway = Proxy("gateway", client_id=org.id, proxy_name="gateway", proxy_region=region,
                proxy_credential_id=callers.id, target_id=api.id, target_credential_id=upstream_auth.id,
                proxy_default_rule_effect="deny")
Rule("reads", client_id=org.id, proxy_id=gateway.id, effect="allow", priority=10, methods=["GET"],
     path_pattern="^/v1/(invoices|orders)/.*$" if changed else "^/v1/.*$")
Rule("no-admin", client_id=org.id, proxy_id=gateway.id, effect="deny", priority=100 if changed else 900,
     path_pattern="^/v1/(admin|internal)" if changed else "^/v1/admin")
Rule("no-deletes", client_id=org.id, proxy_id=gateway.id, effect="deny", priority=500, methods=["DELETE"])
Rule("writes", client_id=org.id, proxy_id=gateway.id, effect="allow", priority=20, methods=["POST"],
     path_pattern="^/v1/invoices$")
if c.get_bool("extraProxy"):
    extra = Proxy("extra", client_id=org.id, proxy_name="extra", proxy_region=region, proxy_credential_id=callers.id,
                  target_id=api.id, target_credential_id=upstream_auth.id, proxy_default_rule_effect="deny")
    Rule("extra-reads", client_id=org.id, proxy_id=extra.id, effect="allow", priority=10, methods=["GET"])
pulumi.export("url", gateway.url)
""" % CALLER_KEY

REQUESTS = [  # (method, path): the decision before and after the change
    ("GET", "/v1/invoices/1"),    # allowed by reads, both
    ("GET", "/v1/users/1"),       # allowed by reads -> denied by the proxy's default (reads narrowed)
    ("GET", "/v1/admin/keys"),    # denied by no-admin, both
    ("GET", "/v1/internal/x"),    # allowed by reads -> denied by no-admin (its new pattern)
    ("DELETE", "/v1/admin/x"),    # denied by no-admin (900) -> denied by no-deletes (no-admin now 100)
    ("POST", "/v1/invoices"),     # allowed by writes, both
    ("DELETE", "/v1/invoices/1"), # denied by no-deletes, both
    ("GET", "/health"),           # denied by the proxy's default, both
]
FLIPS = {("GET", "/v1/users/1"), ("GET", "/v1/internal/x"), ("DELETE", "/v1/admin/x")}


@pytest.fixture
def upstream():
    with EchoServer() as echo:
        yield echo


def deploy(rr_stack, emulator, upstream, project: str):
    stack = rr_stack(PROGRAM, name=project)
    stack.set_config("clientName", f"diff-{uuid.uuid4().hex[:8]}")
    stack.set_config("upstreamUrl", upstream.url)
    stack.set_config("requestrocket:dataPlaneUrl", data_plane_url(emulator.url))
    stack.up()
    return stack


def gateway_of(stack, emulator, upstream) -> Gateway:
    rules = {r["id"]: r["urn"].rsplit("::", 1)[1] for r in stack.resources() if r["type"].endswith(":Rule")}

    def records(proxy_id: str) -> list[dict]:
        return emulator.admin("GET", f"/_emulator/dataplane/requests?proxyId={proxy_id}").json()["requests"]

    return Gateway(stack.outputs()["url"], upstream, records, rules, name="gateway")


def decision(call) -> tuple[str, str | None]:
    """What the data plane did: ("allowed", None) or ("denied", the deny rule's name or `default:<scope>`)."""
    assert call.status in (200, 403), call.body
    return ("allowed", None) if call.forwarded else ("denied", str(call.denied_by))


def listed(result) -> dict[tuple[str, str], dict]:
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return {(line["method"], line["path"]): line for line in report["changed"]}


def side(verdict: dict) -> tuple[str, str | None]:
    if verdict["outcome"] == "allowed":
        return ("allowed", None)
    return ("denied", verdict["rule"] or f"default:{verdict['scope']}")


def test_rules_diff_lists_exactly_the_requests_the_change_flips(rr_stack, emulator, upstream, tmp_path,
                                                                monkeypatch):
    stack = deploy(rr_stack, emulator, upstream, "e2e")
    from_rule_tests = tmp_path / "rule-tests.jsonl"  # what the team's rr_pulumi.testing calls write
    neighbour = deploy(rr_stack, emulator, upstream, "e2e-neighbour")  # same names, same account, its own stack
    try:
        gateway, other = gateway_of(stack, emulator, upstream), gateway_of(neighbour, emulator, upstream)
        monkeypatch.setenv("RR_PULUMI_RULES_REQUESTS", str(from_rule_tests))
        before = {(m, p): decision(gateway.call(m, p, as_=api_key(CALLER_KEY))) for m, p in REQUESTS}
        monkeypatch.delenv("RR_PULUMI_RULES_REQUESTS")
        assert CALLER_KEY not in from_rule_tests.read_text()
        for m, p in REQUESTS:
            other.call(m, p, as_=api_key(CALLER_KEY))  # traffic of another stack's proxy, in the same records

        requests_file = tmp_path / "requests.jsonl"
        requests_file.write_text("# the team's requests\n" + "\n".join(
            json.dumps({"proxy": "gateway", "method": m, "path": p, "headers": {"Authorization": "[key]"}})
            for m, p in REQUESTS) + "\n")
        records_file = tmp_path / "records.json"
        records_file.write_text(json.dumps(emulator.admin("GET", "/_emulator/dataplane/requests").json()))
        har_file = tmp_path / "traffic.har"
        har_file.write_text(json.dumps({"log": {"version": "1.2", "entries": [
            {"request": {"method": m, "url": gateway.url + p, "httpVersion": "HTTP/1.1",
                         "headers": [{"name": "Authorization", "value": "[key]"}], "queryString": []}}
            for m, p in REQUESTS] + [
            {"request": {"method": "GET", "url": "https://example.com/other", "headers": []}}]}}))

        # Nothing changed yet: nothing flips, whatever the input.
        unchanged = rr_pulumi(stack, "rules", "diff", "--json", str(requests_file), str(har_file), str(records_file))
        assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
        assert json.loads(unchanged.stdout)["checked"] == 3 * len(REQUESTS)

        stack.set_config("changed", "true")
        for source in (requests_file, har_file, records_file, from_rule_tests):
            result = rr_pulumi(stack, "rules", "diff", "--json", str(source))
            assert result.returncode == 1, result.stdout + result.stderr
            lines = listed(result)
            assert set(lines) == FLIPS, (source.name, sorted(lines))
            for key, line in lines.items():
                assert side(line["before"]) == before[key], (source.name, key)
            report = json.loads(result.stdout)
            assert report["undetermined"] == []
            if source is records_file:
                assert report["skipped"] == len(REQUESTS)  # the neighbour's requests are not judged as ours
        text = rr_pulumi(stack, "rules", "diff", str(requests_file))
        assert text.returncode == 1
        assert "GET /v1/users/1" in text.stdout and "before: allowed (by reads)" in text.stdout
        assert "after:  denied by the proxy's default effect" in text.stdout
        assert "before: denied by rule no-admin (proxy scope)" in text.stdout
        assert "after:  denied by rule no-deletes (proxy scope)" in text.stdout

        stack.up()
        gateway = gateway_of(stack, emulator, upstream)  # the replaced rules' new ids
        for m, p in REQUESTS:
            now = decision(gateway.call(m, p, as_=api_key(CALLER_KEY)))
            if (m, p) in lines:
                assert now == side(lines[(m, p)]["after"]), (m, p)
            else:
                assert now == before[(m, p)], (m, p)
        after_up = rr_pulumi(stack, "rules", "diff", str(requests_file))
        assert after_up.returncode == 0 and "no request changes decision" in after_up.stdout, after_up.stdout
    finally:
        stack.destroy(check=False)
        neighbour.destroy(check=False)


def test_rules_diff_cannot_check_says_why(rr_stack, emulator, upstream, tmp_path):
    stack = deploy(rr_stack, emulator, upstream, "e2e")
    try:
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"proxy": "gateway", "method": "FETCH", "path": "/"}\n')
        result = rr_pulumi(stack, "rules", "diff", str(bad))
        assert result.returncode == 2
        assert "bad.jsonl:1: method: must be one of: GET" in result.stderr
        unknown = tmp_path / "unknown.jsonl"
        unknown.write_text('{"proxy": "nope", "method": "GET", "path": "/"}\n')
        result = rr_pulumi(stack, "rules", "diff", str(unknown))
        assert result.returncode == 2, result.stdout
        assert "no proxy 'nope' in the stack or the program" in result.stdout

        clean = rr_pulumi(stack, "rules", "lint", "--deployed")
        assert (clean.returncode, clean.stdout) == (0, "rule lint: 0 finding(s)\n"), clean.stderr
        program = stack.project_dir / "__main__.py"
        program.write_text(program.read_text() + '\nRule("admin-twice", client_id=org.id, proxy_id=gateway.id, '
                           'effect="deny", priority=900, path_pattern="^/v1/admin")\n')
        found = rr_pulumi(stack, "rules", "lint")  # the declared rules: a preview
        assert found.returncode == 1, found.stdout + found.stderr
        assert found.stdout.splitlines() == [
            "rule lint: 1 finding(s)",
            "  duplicate: rule admin-twice on proxy gateway duplicates rule no-admin: same effect, priority, methods, "
            "path and checks"]
    finally:
        stack.destroy(check=False)


def test_rules_of_objects_not_created_yet_are_judged_by_their_urn(rr_stack, emulator, upstream, tmp_path):
    """A region change replaces every object (each id is unknown at preview) and a new proxy appears: the rules
    are placed by their parents' URNs, so nothing is undetermined, the same rules flip nothing, and the new
    proxy's requests go from no proxy to its rules' decision."""
    stack = deploy(rr_stack, emulator, upstream, "e2e")
    try:
        requests_file = tmp_path / "requests.jsonl"
        requests_file.write_text("\n".join(json.dumps({"proxy": proxy, "method": m, "path": p})
                                           for proxy in ("gateway", "extra") for m, p in REQUESTS[:3]) + "\n")
        stack.set_config("region", "eu-west-1")
        stack.set_config("extraProxy", "true")
        preview = stack.run("preview", "--json", "--stack", stack.stack).stdout
        steps = {step["urn"].rsplit("::", 1)[1]: step for step in json.loads(preview)["steps"]}
        assert steps["gateway"]["op"] == "replace" and steps["reads"]["op"] == "replace"
        assert steps["reads"]["newState"]["inputs"]["proxy_id"] == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
        saved = tmp_path / "preview.json"
        saved.write_text(preview)

        result = rr_pulumi(stack, "rules", "diff", "--json", "--preview-json", str(saved), str(requests_file))
        assert result.returncode == 1, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["undetermined"] == []
        assert [(line["proxy"], line["method"], line["path"], line["before"]["outcome"], side(line["after"]))
                for line in report["changed"]] == [
            ("extra", "GET", "/v1/invoices/1", "no proxy", ("allowed", None)),
            ("extra", "GET", "/v1/users/1", "no proxy", ("allowed", None)),
            ("extra", "GET", "/v1/admin/keys", "no proxy", ("allowed", None))]
        lint = rr_pulumi(stack, "rules", "lint", "--json", "--preview-json", str(saved))
        assert lint.returncode == 0, lint.stdout + lint.stderr
        assert json.loads(lint.stdout)["lint"] == []
    finally:
        stack.destroy(check=False)


LOOKED_UP = """
from rr_pulumi import Client, Proxy, Rule, Target
org = Client.get("org", "{client_id}")
gateway = Proxy.get("gateway", "{proxy_id}", client_id=org)
api = Target.get("api", "{target_id}", client_id=org)
Rule("no-puts", client_id=org, proxy_id=gateway, effect="deny", priority=500, methods=["PUT"])
Rule("invoices", client_id=org, target_id=api, effect="allow", priority=5, path_pattern="^/v1/invoices")
"""


def test_lookups_of_another_projects_objects_flip_nothing_when_nothing_changed(rr_stack, emulator, upstream,
                                                                                tmp_path):
    """A second project looks up the first one's proxy and its target (default deny) and adds rules under them:
    with its program unchanged, its rules diff lists nothing and its lint finds nothing (a lookup's preview step
    holds only `client_id`, never read as "allow by default")."""
    owner = deploy(rr_stack, emulator, upstream, "e2e")
    program = owner.project_dir / "__main__.py"
    program.write_text(program.read_text().replace('target_region=region)',
                                                   'target_region=region, target_default_rule_effect="deny")'))
    owner.up()
    ids = {r["urn"].rsplit("::", 1)[1]: r["id"] for r in owner.resources()}
    other = rr_stack(LOOKED_UP.format(client_id=ids["org"], proxy_id=ids["gateway"], target_id=ids["api"]),
                     name="e2e-lookups")
    try:
        other.up()
        requests_file = tmp_path / "requests.jsonl"
        requests_file.write_text("\n".join(json.dumps({"proxy": "gateway", "method": m, "path": p})
                                           for m, p in REQUESTS) + "\n")
        result = rr_pulumi(other, "rules", "diff", "--json", str(requests_file))
        assert result.returncode == 0, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert (report["checked"], report["changed"], report["undetermined"], report["lint"]) == (
            len(REQUESTS), [], [], [])
        lint = rr_pulumi(other, "rules", "lint")
        assert (lint.returncode, lint.stdout) == (0, "rule lint: 0 finding(s)\n"), lint.stderr
    finally:
        other.destroy(check=False)
        owner.destroy(check=False)


def workflow_steps(names: list[str]) -> list[dict]:
    import yaml

    from rr_pulumi.tools.scaffold import TEMPLATES

    workflow = yaml.safe_load((TEMPLATES / "github" / "workflows" / "rr-preview.yml").read_text())
    steps = {step.get("name"): step for step in workflow["jobs"]["preview"]["steps"]}
    return [steps[name] for name in names]


def run_step(step: dict, repo, env: dict, outputs: dict) -> None:
    """One `run:` step as the runner runs it (bash -e), the `${{ steps... }}` expressions of its script and its env
    filled in, in the repo."""
    import re
    import subprocess

    def filled(text: str) -> str:
        return re.sub(r"\$\{\{ steps\.(\w+)\.outputs\.(\w+) \}\}", lambda m: outputs[m.group(1)][m.group(2)],
                      str(text))

    script = filled(step["run"])
    step_env = {name: filled(value) for name, value in (step.get("env") or {}).items()}
    output_file = repo / f"output-{step.get('id', 'step')}.txt"
    output_file.write_text("")
    cwd = repo / step.get("working-directory", ".").replace("${{ env.PROJECT_DIR }}", ".")
    done = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**env, **step_env, "GITHUB_OUTPUT": str(output_file)})
    assert done.returncode == 0, done.stdout + done.stderr
    if step.get("id"):
        outputs[step["id"]] = dict(line.split("=", 1) for line in output_file.read_text().splitlines())


def test_the_pull_request_comment_shows_the_flipped_requests_and_the_lint(rr_stack, emulator, upstream, tmp_path):
    """The generated workflow's rule-review steps, run on a real preview: the comment has Pulumi's diff, the table
    of flipped requests and the lint findings."""
    import os
    import shutil
    import sys

    from rr_pulumi.tools.scaffold import TEMPLATES

    stack = deploy(rr_stack, emulator, upstream, "e2e")
    try:
        repo = stack.project_dir
        (repo / ".github" / "scripts").mkdir(parents=True)
        shutil.copy(TEMPLATES / "github" / "scripts" / "preview_comment.py", repo / ".github" / "scripts")
        (repo / "rules-requests.jsonl").write_text("\n".join(
            json.dumps({"proxy": "gateway", "method": m, "path": p}) for m, p in REQUESTS) + "\n")
        stack.set_config("changed", "true")
        runner_temp = tmp_path / "runner"
        runner_temp.mkdir()
        env = {**stack.env, "RUNNER_TEMP": str(runner_temp), "STACK": stack.stack,
               "PATH": os.pathsep.join([str(Path(sys.executable).parent), stack.env.get("PATH", os.environ["PATH"])])}
        preview = stack.preview("--diff")
        (runner_temp / "preview.txt").write_text(preview.output)
        outputs = {"preview": {"code": "0"}}
        for step in workflow_steps(["Write the comment", "rr-pulumi rules diff", "Add the rule review to the comment"]):
            run_step(step, repo, env, outputs)
        assert outputs["rules"]["code"] == "1"
        comment = (runner_temp / "comment.md").read_text()
        assert comment.startswith("<!-- rr-pulumi-preview -->")
        assert "+-pulumi-python:dynamic/requestrocket:Rule: (replace)" in comment  # Pulumi's own diff
        assert "### Rule review (`rr-pulumi rules diff`): some requests change decision" in comment
        assert "#### Requests whose decision changes: 3 of 8" in comment
        assert ("| gateway | `GET /v1/users/1` | allowed (by reads) | **denied by the proxy's default effect** | "
                "rules-requests.jsonl:2 |") in comment
        assert "| gateway | `DELETE /v1/admin/x` | denied by rule no-admin (proxy scope) | " \
               "**denied by rule no-deletes (proxy scope)** |" in comment
        assert "#### Rule lint: 0 finding(s)" in comment
        assert "diff-caller-key-0001" not in comment and "diff-upstream-token-0001" not in comment

        # Without a request file the lint alone; a lint finding shows up in the comment.
        (repo / "rules-requests.jsonl").unlink()
        stack.set_config("changed", "false")
        program = (repo / "__main__.py").read_text()
        (repo / "__main__.py").write_text(program + '\nRule("admin-twice", client_id=org.id, proxy_id=gateway.id, '
                                          'effect="deny", priority=900, path_pattern="^/v1/admin")\n')
        run_step(workflow_steps(["Write the comment"])[0], repo, env, outputs)
        for step in workflow_steps(["rr-pulumi rules diff", "Add the rule review to the comment"]):
            run_step(step, repo, env, outputs)
        assert outputs["rules"]["code"] == "0"
        comment = (runner_temp / "comment.md").read_text()
        assert "#### Requests whose decision changes: 0 of 0" in comment
        assert "- **duplicate**: rule admin-twice on proxy gateway duplicates rule no-admin" in comment
    finally:
        stack.destroy(check=False)

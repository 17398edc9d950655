"""rules diff on a checkpoint and a preview document built here: what flips, what is undetermined and why, the
three request file formats, and the Markdown a pull-request comment shows."""
from __future__ import annotations

import json

import pytest

from rr_pulumi.tools import rules_diff
from rr_pulumi.tools.request_files import RequestFileError, read
from rr_pulumi.schema.rule_evaluation import NO_BODY
from rr_pulumi.schema.wire import UNKNOWN

PREFIX = "urn:pulumi:dev::shop::"
T = "pulumi-python:dynamic/requestrocket:"


def res(kind: str, name: str, id_: str, values: dict, deps: dict | None = None) -> dict:
    return {"urn": f"{PREFIX}{T}{kind}::{name}", "type": f"{T}{kind}", "id": id_, "outputs": values,
            "inputs": values, "propertyDependencies": deps or {}}


def urn(kind: str, name: str) -> str:
    return f"{PREFIX}{T}{kind}::{name}"


STATE = [
    res("Credential", "callers", "c1", {}),
    res("Credential", "upstream", "c2", {}),
    res("Target", "api", "t1", {"target_default_rule_effect": "allow"}),
    res("Proxy", "gateway", "p1", {"proxy_credential_id": "c1", "target_id": "t1", "target_credential_id": "c2",
                                   "proxy_default_rule_effect": "deny",
                                   "url": "https://dp.example.com/api/p1"}),
    res("Rule", "reads", "r1", {"proxy_id": "p1", "effect": "allow", "priority": 10, "methods": ["GET"],
                                "path_pattern": "^/v1/.*$"}),
    res("Rule", "no-admin", "r2", {"proxy_id": "p1", "effect": "deny", "priority": 900, "path_pattern": "^/v1/admin"}),
]


def step(op: str, kind: str, name: str, inputs: dict, deps: dict | None = None) -> dict:
    return {"op": op, "urn": urn(kind, name), "newState": {
        "urn": urn(kind, name), "type": f"{T}{kind}", "inputs": {"__provider": "pickled", **inputs},
        "propertyDependencies": deps or {}}}


def write(tmp_path, name: str, lines: list[dict]) -> str:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


def test_a_narrowed_pattern_flips_exactly_the_requests_it_no_longer_allows(tmp_path):
    preview = {"steps": [step("replace", "Rule", "reads", {"proxy_id": UNKNOWN, "effect": "allow", "priority": 10,
                                                           "methods": ["GET"], "path_pattern": "^/v1/invoices/.*$"},
                              {"proxy_id": [urn("Proxy", "gateway")]})]}
    samples = read(write(tmp_path, "r.jsonl", [{"proxy": "gateway", "method": "GET", "path": "/v1/invoices/1"},
                                               {"proxy": "p1", "method": "GET", "path": "/v1/users/1"},
                                               {"proxy": urn("Proxy", "gateway"), "method": "GET",
                                                "path": "/v1/admin/x"}]))
    report = rules_diff.diff(STATE, preview, samples, "dev")
    assert [(x.sample.request.path, x.before.text(report.names), x.after.text(report.names))
            for x in report.changed] == [("/v1/users/1", "allowed (by reads)", "denied by the proxy's default effect")]
    assert report.exit_code == rules_diff.CHANGED
    markdown = rules_diff.render_markdown(report)
    assert "| gateway | `GET /v1/users/1` | allowed (by reads) | **denied by the proxy's default effect** |" in markdown
    assert "#### Rule lint: 0 finding(s)" in markdown


def test_an_unknown_rule_value_is_reported_not_guessed(tmp_path):
    preview = {"steps": [step("replace", "Rule", "no-admin", {"proxy_id": "p1", "effect": "deny",
                                                              "priority": UNKNOWN, "path_pattern": "^/v1/admin"})]}
    samples = read(write(tmp_path, "r.jsonl", [{"proxy": "gateway", "method": "GET", "path": "/v1/admin"}]))
    report = rules_diff.diff(STATE, preview, samples)
    assert report.changed == [] and report.exit_code == rules_diff.CANNOT_CHECK
    assert report.undetermined[0].undetermined == "Rule no-admin: priority not known until `pulumi up`"


def test_records_without_bodies_cannot_judge_a_body_check(tmp_path):
    preview = {"steps": [step("create", "Rule", "big", {"proxy_id": "p1", "effect": "deny", "priority": 5,
                                                        "body_checks": [{"json_path": "$.amount"}]})]}
    records = tmp_path / "records.json"
    records.write_text(json.dumps({"requests": [
        {"requestId": "q1", "proxyId": "p1", "method": "POST", "path": "/v1/x", "headers": {}, "query": {}},
        {"requestId": "q2", "proxyId": "elsewhere", "method": "GET", "path": "/", "headers": {}, "query": {}},
        {"requestId": "q3", "outcome": "unknown_proxy", "path": "/"}]}))
    report = rules_diff.diff(STATE, preview, read(records))
    assert report.skipped == 1  # another stack's proxy: not ours to judge
    [line] = report.undetermined
    assert line.undetermined == "rule big checks the request's body, which records.json does not hold"


def test_a_har_file_maps_data_plane_urls_to_proxies(tmp_path):
    har = tmp_path / "t.har"
    har.write_text(json.dumps({"log": {"entries": [
        {"request": {"method": "GET", "url": "https://dp.example.com/api/p1/v1/a%20b?x=1&y=",
                     "headers": [{"name": ":authority", "value": "dp"}, {"name": "X-Tenant", "value": "acme"}],
                     "postData": {"text": "{\"n\": 1}"}}},
        {"request": {"method": "GET", "url": "https://example.com/static/app.js", "headers": []}}]}}))
    [sample] = read(har)
    assert (sample.proxy, sample.request.method, sample.request.path) == ("p1", "GET", "/v1/a b")
    assert sample.request.query == [("x", "1"), ("y", "")] and sample.request.headers == [("X-Tenant", "acme")]
    assert sample.request.body == {"n": 1} and sample.captured and sample.source == "t.har#entry1"


@pytest.mark.parametrize("line, message", [
    ({"proxy": "g", "method": "GET"}, "r.jsonl:1: path: is required (a string)"),
    ({"proxy": "g", "method": "FETCH", "path": "/"}, "r.jsonl:1: method: must be one of: GET"),
    ({"proxy": "g", "method": "GET", "path": "/", "verb": 1}, "r.jsonl:1: unknown field(s) verb; allowed:"),
    ({"proxy": "g", "method": "GET", "path": "/", "headers": "x"}, "r.jsonl:1: headers: must be an object"),
    ({"proxy": "g", "method": "GET", "path": "/", "jwt": "nope"}, "r.jsonl:1: jwt: not a JWT"),
])
def test_a_bad_request_line_names_the_line_and_the_field(tmp_path, line, message):
    with pytest.raises(RequestFileError) as error:
        read(write(tmp_path, "r.jsonl", [line]))
    assert str(error.value).startswith(message)


def test_a_request_to_a_proxy_the_stack_lacks_is_reported(tmp_path):
    samples = read(write(tmp_path, "r.jsonl", [{"proxy": "nope", "method": "GET", "path": "/"}]))
    report = rules_diff.diff(STATE, {"steps": []}, samples)
    assert report.exit_code == rules_diff.CANNOT_CHECK
    assert "no proxy 'nope' in the stack or the program" in report.undetermined[0].undetermined


def test_a_deleted_rule_and_a_deleted_proxy(tmp_path):
    preview = {"steps": [{"op": "delete", "urn": urn("Rule", "no-admin"), "oldState": {}},
                         {"op": "delete-replaced", "urn": urn("Rule", "reads"), "oldState": {}}]}
    samples = read(write(tmp_path, "r.jsonl", [{"proxy": "gateway", "method": "GET", "path": "/v1/admin"}]))
    report = rules_diff.diff(STATE, preview, samples)
    [line] = report.changed
    assert (line.before.text(report.names), line.after.text(report.names)) == (
        "denied by rule no-admin (proxy scope)", "allowed (by reads)")  # the old half of a replacement stays
    gone = rules_diff.diff(STATE, {"steps": [{"op": "delete", "urn": urn("Proxy", "gateway")}]}, samples)
    assert gone.changed[0].after.text(gone.names) == "no such proxy (404)"


def test_rule_test_calls_never_write_a_header_or_parameter_that_carries_a_credential(tmp_path, monkeypatch):
    from rr_pulumi.testing import EchoServer, Gateway, bearer

    target = tmp_path / "from-tests.jsonl"
    monkeypatch.setenv("RR_PULUMI_RULES_REQUESTS", str(target))
    with EchoServer() as echo:
        gateway = Gateway(echo.url + "/api/p1", echo, lambda proxy_id: [], name="gateway")
        gateway.call("GET", "/v1/x", as_=bearer("tok-0123456789"), query={"api_key": "qk-1", "page": "2"},
                     headers={"X-API-Key": "k-1", "Cookie": "sid=s-1", "X-Forward": "Basic dXNlcjpwdw==",
                              "X-Copy": "tok-0123456789", "X-Tenant": "acme"})
    [sample] = read(target)
    assert sample.request.headers == [("X-Tenant", "acme")] and sample.request.query == [("page", "2")]
    assert not any(s in target.read_text() for s in ("k-1", "s-1", "dXNlcjpwdw", "tok-0123456789", "qk-1"))


def test_rule_test_calls_are_written_as_requests_without_the_credential(tmp_path, monkeypatch):
    from rr_pulumi.testing import EchoServer, Gateway, signed_jwt

    target = tmp_path / "from-tests.jsonl"
    monkeypatch.setenv("RR_PULUMI_RULES_REQUESTS", str(target))
    with EchoServer() as echo:
        gateway = Gateway(echo.url + "/api/p1", echo, lambda proxy_id: [], name="gateway")
        gateway.call("post", "/v1/x", as_=signed_jwt({"scope": "w"}, "s" * 32), query={"a": "1"},
                     headers={"X-Tenant": "acme"}, json={"n": 1})
    [sample] = read(target)
    assert (sample.proxy, sample.request.method, sample.request.path) == ("gateway", "POST", "/v1/x")
    assert sample.request.headers == [("X-Tenant", "acme")] and sample.request.query == [("a", "1")]
    assert sample.request.body == {"n": 1} and sample.request.claims == {"scope": "w"}
    assert sample.name.endswith("test_rule_test_calls_are_written_as_requests_without_the_credential")
    assert "eyJ" not in target.read_text()  # the token itself is never written


def test_a_default_effect_unknown_at_preview_makes_the_proxys_requests_undetermined(tmp_path):
    proxy = next(r for r in STATE if r["urn"].endswith("::gateway"))
    preview = {"steps": [step("update", "Proxy", "gateway",
                              {**proxy["outputs"], "proxy_default_rule_effect": UNKNOWN})]}
    samples = read(write(tmp_path, "r.jsonl", [{"proxy": "gateway", "method": "GET", "path": "/"}]))
    [line] = rules_diff.diff(STATE, preview, samples).undetermined
    assert line.undetermined == "the proxy's default effect is not known until `pulumi up`"


def lookup_step(kind: str, name: str, id_: str, inputs: dict) -> dict:
    """A lookup (`Kind.get`) as `pulumi preview --json` shows it: a read step whose new state holds only the
    inputs the program gave, not what the read found."""
    read_step = step("read", kind, name, inputs)
    read_step["newState"].update(id=id_, external=True)
    return read_step


def test_an_unchanged_program_with_lookups_flips_nothing(tmp_path):
    """A looked-up target (another stack's, default deny) keeps what its recorded read found: the read step of the
    preview does not make it `allow` by default, so nothing flips and no allow rule on it is called redundant."""
    shared = {"client_id": "k1", "target_default_rule_effect": "deny"}
    state = [{**r, "external": True} if r["urn"].endswith("::api") else r for r in STATE]
    state[2] = {**state[2], "outputs": shared, "inputs": {"client_id": "k1"}}
    state[3] = {**state[3], "propertyDependencies": {"target_id": [urn("Target", "api")]}}  # target_id=api
    state.append(res("Rule", "invoices", "r3", {"target_id": "t1", "effect": "allow", "priority": 5,
                                                "path_pattern": "^/v1/invoices"}))
    preview = {"steps": [lookup_step("Target", "api", "t1", {"client_id": "k1"})]}
    samples = read(write(tmp_path, "r.jsonl", [{"proxy": "gateway", "method": "GET", "path": p}
                                               for p in ("/v1/invoices/1", "/v1/users/1")]))
    report = rules_diff.diff(state, preview, samples)
    assert (report.changed, report.findings, report.exit_code) == ([], [], 0)
    assert [line.before.text(report.names) for line in report.lines] == [
        "allowed (by reads, invoices)", "denied by the target's default effect"]

    new_lookup = {"steps": [lookup_step("Target", "api", "t9", {"client_id": "k1"})]}  # another id: not read yet
    report = rules_diff.diff(state, new_lookup, samples)
    assert [line.undetermined for line in report.lines] == [
        "the target's default effect is not known until `pulumi up`"] * 2


def test_only_undetermined_requests_exit_2_with_the_reason_on_stderr(tmp_path, monkeypatch, capsys):
    """Exit 2 always says why on stderr: the pull-request workflow shows stderr in the comment for exit 2."""
    from rr_pulumi.tools import explain
    from rr_pulumi.tools.cli import main

    proxy = next(r for r in STATE if r["urn"].endswith("::gateway"))
    preview = tmp_path / "preview.json"
    preview.write_text(json.dumps({"steps": [step("update", "Proxy", "gateway",
                                                  {**proxy["outputs"], "proxy_default_rule_effect": UNKNOWN})]}))
    requests = write(tmp_path, "r.jsonl", [{"proxy": "gateway", "method": "GET", "path": "/"}])
    monkeypatch.setattr(explain, "stack_resources", lambda cwd, stack: STATE)
    assert main(["rules", "diff", "--preview-json", str(preview), "--markdown", str(requests)]) == 2
    out, err = capsys.readouterr()
    assert "1 request(s) undetermined" in out
    assert err == ("COULD NOT CHECK: 1 request(s) undetermined, none changes; the first (r.jsonl:1): the proxy's "
                   "default effect is not known until `pulumi up`\n")


@pytest.mark.parametrize("document", [[], "steps", {"steps": {"op": "same"}}])
def test_a_saved_preview_that_is_not_one_is_exit_2_in_one_line(document, tmp_path, monkeypatch, capsys):
    """Not a traceback's exit 1, which CI would read as "some request changes"."""
    from rr_pulumi.tools import explain
    from rr_pulumi.tools.cli import main

    preview = tmp_path / "preview.json"
    preview.write_text(json.dumps(document))
    monkeypatch.setattr(explain, "stack_resources", lambda cwd, stack: STATE)
    for command in (["diff", str(write(tmp_path, "r.jsonl", []))], ["lint"]):
        assert main(["rules", *command, "--preview-json", str(preview)]) == 2
        assert capsys.readouterr().err == (f"COULD NOT CHECK: --preview-json {preview}: not what `pulumi preview "
                                           "--json` prints (an object with a list of steps)\n")


@pytest.mark.parametrize("document", [[{"proxy": "gateway", "method": "GET", "path": "/v1/users/1"}],
                                      {"requests": [{"proxy": "gateway", "method": "GET", "path": "/"}]}])
def test_requests_written_as_a_json_array_are_refused_not_skipped(document, tmp_path):
    """Skipped, they would be checked by nothing and pass as "no request changes"."""
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(document))
    with pytest.raises(RequestFileError, match=r"^requests.json#record1: not an emulator request record "):
        read(path)


def test_a_query_written_in_the_path_is_kept(tmp_path):
    [sample] = read(write(tmp_path, "r.jsonl", [{"proxy": "gateway", "method": "GET", "path": "/v1/x?dryRun=1&a=",
                                                 "query": {"b": "2"}}]))
    assert (sample.request.path, sample.request.query) == ("/v1/x", [("dryRun", "1"), ("a", ""), ("b", "2")])


def test_a_credential_given_as_a_header_is_not_written_and_a_raw_body_is(tmp_path, monkeypatch):
    from rr_pulumi.testing import EchoServer, Gateway, bearer, signed_jwt

    target = tmp_path / "from-tests.jsonl"
    monkeypatch.setenv("RR_PULUMI_RULES_REQUESTS", str(target))
    token = signed_jwt({"scope": "r"}, "s" * 32)
    with EchoServer() as echo:
        gateway = Gateway(echo.url + "/api/p1", echo, lambda proxy_id: [], name="gateway")
        gateway.call("POST", "/v1/x", headers={"authorization": bearer(token), "X-Tenant": "acme"},
                     body=b'{"n": 2}')
        gateway.call("GET", "/v1/y", query={"Authorization": "raw-api-key-123", "v": "1"}, body=b"not json")
    first, second = read(target)
    assert first.request.headers == [("X-Tenant", "acme")] and first.request.claims == {"scope": "r"}
    assert first.request.body == {"n": 2}
    assert second.request.query == [("v", "1")] and second.request.body is NO_BODY
    assert token not in target.read_text() and "raw-api-key-123" not in target.read_text()


def test_a_rule_given_its_target_through_a_proxy_output_is_on_the_target(tmp_path):
    """`Rule(..., target_id=gateway.target_id)` depends on the proxy, but its parent is the target: its deny is the
    target scope's, and an allow there does not open the proxy scope (default deny)."""
    gateway = urn("Proxy", "gateway")
    rules = [res("Rule", "target-no-deletes", "r3", {"target_id": "t1", "effect": "deny", "priority": 1,
                                                     "methods": ["DELETE"]}, {"target_id": [gateway]}),
             res("Rule", "target-posts", "r4", {"target_id": "t1", "effect": "allow", "priority": 1,
                                                "methods": ["POST"]}, {"target_id": [gateway]})]
    preview = {"steps": [step("delete", "Rule", "reads", {})]}
    samples = read(write(tmp_path, "r.jsonl", [{"proxy": "gateway", "method": m, "path": "/v1/x"}
                                               for m in ("DELETE", "POST")]))
    report = rules_diff.diff(STATE + rules, preview, samples)
    assert [line.before.text(report.names) for line in report.lines] == [
        "denied by rule target-no-deletes (target scope)", "denied by the proxy's default effect"]


def test_a_file_that_is_not_utf8_is_one_error_and_a_byte_order_mark_is_read(tmp_path):
    """PowerShell's `>` writes UTF-16: one line naming the file, not a traceback (whose exit 1 means "changes")."""
    line = json.dumps({"proxy": "gateway", "method": "GET", "path": "/"}) + "\n"
    utf16 = tmp_path / "records.json"
    utf16.write_text(line, encoding="utf-16")
    with pytest.raises(RequestFileError, match=r"records.json: not UTF-8 text \(byte 0\); save it as UTF-8$"):
        read(utf16)
    marked = tmp_path / "r.jsonl"
    marked.write_text(line, encoding="utf-8-sig")
    assert [sample.proxy for sample in read(marked)] == ["gateway"]


@pytest.mark.parametrize("entry", [{"request": "GET /api/p1/"}, {"request": {"url": "https://dp/api/p1/x",
                                                                             "postData": "{}"}}])
def test_a_malformed_har_entry_is_one_error(entry, tmp_path):
    har = tmp_path / "t.har"
    har.write_text(json.dumps({"log": {"entries": [entry]}}))
    with pytest.raises(RequestFileError, match=r"^t.har#entry1: request: must be a HAR request object"):
        read(har)


def test_a_proxy_whose_rules_do_not_change_flips_nothing_even_where_a_file_lacks_the_body(tmp_path):
    """Records hold no body: a body-check rule the change leaves alone must not make every PR's check exit 2."""
    state = STATE + [res("Rule", "big", "r3", {"proxy_id": "p1", "effect": "deny", "priority": 5,
                                               "body_checks": [{"json_path": "$.amount"}]})]
    records = tmp_path / "records.json"
    records.write_text(json.dumps({"requests": [
        {"requestId": "q1", "proxyId": "p1", "method": "POST", "path": "/v1/x", "headers": {}, "query": {}}]}))
    unchanged = rules_diff.diff(state, {"steps": []}, read(records))
    assert (unchanged.changed, unchanged.undetermined, unchanged.exit_code) == ([], [], rules_diff.NO_CHANGE)
    changed = {"steps": [step("update", "Rule", "reads", {"proxy_id": "p1", "effect": "allow", "priority": 10,
                                                          "methods": ["GET"], "path_pattern": "^/v2/.*$"})]}
    report = rules_diff.diff(state, changed, read(records))  # the proxy's rules change: the body matters again
    assert report.exit_code == rules_diff.CANNOT_CHECK
    assert report.undetermined[0].undetermined == "rule big checks the request's body, which records.json does not hold"


def test_a_har_post_text_that_is_not_text_is_no_body_and_entries_that_are_not_a_list_are_refused(tmp_path):
    har = tmp_path / "t.har"
    har.write_text(json.dumps({"log": {"entries": [
        {"request": {"method": "POST", "url": "https://dp/api/p1/x", "headers": [], "postData": {"text": 5}}}]}}))
    [sample] = read(har)
    assert sample.request.body is NO_BODY
    har.write_text(json.dumps({"log": {"entries": 5}}))
    with pytest.raises(RequestFileError, match=r"^t.har: log.entries must be a list of HAR entries, got int$"):
        read(har)


def test_an_unforeseen_failure_is_exit_2_in_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    """A traceback exits 1, which the PR workflow reads as "requests flip" (diff) or "findings" (lint)."""
    from rr_pulumi.tools import explain
    from rr_pulumi.tools.cli import main

    def broken(cwd, stack):
        raise TypeError("the JSON object must be str\nsecond line")

    monkeypatch.setattr(explain, "stack_resources", broken)
    preview = tmp_path / "preview.json"
    preview.write_text(json.dumps({"steps": []}))
    for command in (["diff", str(write(tmp_path, "r.jsonl", []))], ["lint"]):
        assert main(["rules", *command, "--preview-json", str(preview)]) == 2
        assert capsys.readouterr().err == "COULD NOT CHECK: TypeError: the JSON object must be str\n"

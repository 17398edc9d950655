"""Everything `rr-pulumi export` and `rr-pulumi new` write is built so that no value (read from the API, or given on
the command line) can become code: fuzzed names with quotes, triple quotes, line breaks, backslashes, NUL, Unicode
line separators, `#` and braces stay data in the Python program, the YAML files and the shell script."""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rr_pulumi.tools import export
from rr_pulumi.schema import kinds
from rr_pulumi.tools import scaffold
from rr_pulumi.api.client import RequestRocketClient

from .fake_api import TOKEN, FakeApi

HOSTILE = 'x""";print("INJECTED");"""'
PIECES = ['"""', "'''", '"', "'", "\\", "\n", "\r", "\r\n", "\x00", "\x0b", "\x0c", "\x1b[31m", "\u2028", "\u2029",
          "\x85", "#", "{", "}", "{0}", "%s", "$(touch /tmp/rr-injected)", "`id`", "$HOME", ";", "&&", "|", "../",
          "/", "-rf", " ", "\t", "é", "名", "\U0001f680", "print('INJECTED')", "\\N{BELL}", "\\u2028", "true", "1e3"]
names = st.lists(st.one_of(st.sampled_from(PIECES), st.text(min_size=1, max_size=4)), min_size=1, max_size=6).map(
    "".join).filter(lambda s: s.strip() != "")
CASES = [HOSTILE, "x'''\nimport os; os.system('id')\n'''", "a\u2028print('INJECTED')", "\\", "\r\nprint(1)#",
         "{client_name}", "--all", "../../etc", "-", "true", "\x00\x85"]
KIND_NAMES = {k.name for k in kinds.KINDS}
ALLOWED_CALLS = {("pulumi", "Config"), ("pulumi", "export"), ("config", "get_secret_object")}


def hostile_account(name: str) -> export.Account:
    """A client, credentials, a target, a proxy and a rule, every name (and a rule pattern) `name`."""
    api = FakeApi()
    cid = api.put("/api/clients", {"clientName": name})["sKey"]
    base = f"/api/clients/{cid}"
    callers = api.put(f"{base}/credentials", {"credentialName": name, "credentialType": "proxy",
                                              "credentialAuthType": "apiKey", "credentialRegion": "us-east-1"})
    open_ = api.put(f"{base}/credentials", {"credentialName": name + "2", "credentialType": "target",
                                            "credentialAuthType": "none", "credentialRegion": "us-east-1"})
    target = api.put(f"{base}/targets", {"targetName": name, "targetBaseURL": "https://a.example.com",
                                         "targetRegion": "us-east-1"})
    proxy = api.put(f"{base}/proxies", {"proxyName": name, "proxyRegion": "us-east-1",
                                        "proxyProxyCredentialId": callers["sKey"], "proxyTargetId": target["sKey"],
                                        "proxyTargetCredentialId": open_["sKey"], "proxyActive": True})
    api.put(f"{base}/proxies/{proxy['sKey']}/rules", {"effect": "deny", "priority": 900, "methods": ["GET"],
                                                      "headerChecks": [{"namePattern": name, "presence": "absent"}]})
    return export.read_account(RequestRocketClient("http://api.test", TOKEN, transport=api), cid)


def _is_data(node: ast.AST) -> bool:
    """A literal, or a reference to another resource's id (`var.id`), or an optional secret from the config."""
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name) and node.attr == "id"
    if isinstance(node, ast.Call):
        return _call_name(node) == ("config", "get_secret_object") and all(_is_data(a) for a in node.args)
    try:
        ast.literal_eval(node)
        return True
    except ValueError:
        return False


def _call_name(call: ast.Call) -> tuple[str, ...]:
    func = call.func
    if isinstance(func, ast.Name):
        return (func.id,)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return (func.value.id, func.attr)
    return ("?",)


def check_program(source: str, name: str) -> None:
    tree = ast.parse(source)
    body = tree.body
    # The module's top level: its docstring, the imports, `config = pulumi.Config()`, one `var = Kind(...)` per
    # object, and `pulumi.export("client_id", ...)`: nothing else, in particular no other expression statement.
    assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    assert name not in body[0].value.value or name in export.HEADER
    assert isinstance(body[1], ast.Import) and [a.name for a in body[1].names] == ["pulumi"]
    assert isinstance(body[2], ast.ImportFrom) and body[2].module == "rr_pulumi"
    assert ast.unparse(body[3]) == "config = pulumi.Config()"
    *resources, last = body[4:]
    assert isinstance(last, ast.Expr) and _call_name(last.value) == ("pulumi", "export")
    assert [ast.literal_eval(a) for a in last.value.args[:1]] == ["client_id"] and _is_data(last.value.args[1])
    declared: dict[str, list[ast.Call]] = {}
    for statement in resources:
        assert isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call), ast.unparse(statement)
        call = statement.value
        assert _call_name(call)[0] in KIND_NAMES
        assert all(_is_data(a) for a in call.args) and all(_is_data(k.value) for k in call.keywords)
        declared.setdefault(_call_name(call)[0], []).append(call)
    for node in ast.walk(tree):  # no call anywhere but the generated ones
        if isinstance(node, ast.Call):
            assert _call_name(node) in ALLOWED_CALLS or _call_name(node)[0] in KIND_NAMES, ast.unparse(node)
    # The names read back as the very same strings.
    kwargs = {kind: [{k.arg: k.value for k in c.keywords} for c in calls] for kind, calls in declared.items()}
    assert ast.literal_eval(kwargs["Client"][0]["client_name"]) == name
    assert ast.literal_eval(kwargs["Target"][0]["target_name"]) == name
    assert ast.literal_eval(kwargs["Proxy"][0]["proxy_name"]) == name
    assert ast.literal_eval(kwargs["Rule"][0]["header_checks"])[0]["name_pattern"] == name


def shell_calls(tmp_path: Path, script: str) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    """Run set-secrets.sh with a stand-in `pulumi` that records each call's arguments exactly (NUL-separated)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "calls"
    calls.write_bytes(b"")
    (bin_dir / "pulumi").write_text(f"#!/bin/bash\nprintf '%s\\0' \"$@\" >> {calls}\nprintf '\\0' >> {calls}\n")
    (bin_dir / "pulumi").chmod(0o755)
    (tmp_path / "set-secrets.sh").write_text(script)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "REQUESTROCKET_TOKEN": "u-token"}
    done = subprocess.run(["sh", "set-secrets.sh"], cwd=tmp_path, env=env, capture_output=True, text=True)
    recorded = [call.split(b"\0") for call in calls.read_bytes().split(b"\0\0") if call]  # no argument is empty
    return done, [[a.decode() for a in args] for args in recorded]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names)
@example(HOSTILE)
def test_the_exported_program_holds_every_name_as_data(name):
    program = export.program_for(hostile_account(name), profile="acme")
    check_program(program.main, name)
    files = export.project_files(program, "https://api.example.com", "acme", requirement_line="rr-pulumi==0.1")
    assert yaml.safe_load(files["Pulumi.yaml"])["name"] == program.project
    assert export.SAFE_FOLDER.fullmatch(program.project) and "/" not in program.project
    for line in files["set-secrets.sh"].splitlines():  # each comment is one line that reads back as the name
        if line.startswith(("# credential '", "# credential \"")):
            shown = line[len("# credential "):].rsplit(" (", 1)[0]
            assert ast.literal_eval(shown) in (name, name + "2")


@pytest.mark.parametrize("name", CASES)
def test_the_set_secrets_script_is_valid_shell_and_passes_values_back_unchanged(tmp_path, name):
    program = export.program_for(hostile_account(name))
    api_url = "https://api.example.com/" + name.replace("\x00", "")  # no command-line argument holds a NUL
    script = export.set_secrets_script(program, api_url, profile=None)
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    done, calls = shell_calls(tmp_path, script)
    assert done.returncode == 0, done.stderr
    assert calls == [["config", "set", "requestrocket:apiUrl", api_url],
                     ["config", "set", "--secret", "requestrocket:token", "u-token"]]
    # A profile's keys are single shell words too.
    script = export.set_secrets_script(program, "https://api.example.com", profile="o'brien")
    done, calls = shell_calls(tmp_path, script)
    assert calls[0] == ["config", "set", "--path", "requestrocket:profiles.o'brien.apiUrl", "https://api.example.com"]


@settings(max_examples=150, deadline=None)
@given(names)
@example(HOSTILE)
@example("..")
@example("-rf")
def test_folder_names_from_client_names_are_plain_words(name):
    folder = export.project_name(name)
    assert export.SAFE_FOLDER.fullmatch(folder) and folder not in (".", "..")
    assert not folder.startswith(("-", ".")) and "/" not in folder and "\\" not in folder


def test_export_all_writes_one_plain_folder_per_client(tmp_path, monkeypatch):
    api = FakeApi()
    for name in (HOSTILE, "../../escape", "-rf", "/etc/passwd", "名前"):
        api.put("/api/clients", {"clientName": name})
    monkeypatch.setattr("rr_pulumi.tools.pulumi_cli.api_client",
                        lambda settings: RequestRocketClient("http://api.test", TOKEN, transport=api))
    from rr_pulumi.api.config import settings_from

    out = tmp_path / "out"
    written = export.export(settings_from({"requestrocket:token": TOKEN}.get, {}), out, every_client=True,
                            requirement_line="rr-pulumi==0.1")
    folders = {p.parent for p in written if p.name == "Pulumi.yaml"}  # the projects (a project has subfolders)
    assert all(folders & set(p.parents) for p in written)  # every file is inside one of them
    assert len(folders) == 5 and {f.parent for f in folders} == {out}  # one folder per client, each right in out
    assert all(export.SAFE_FOLDER.fullmatch(f.name) for f in folders)
    assert {f.name for f in folders} >= {"escape", "rf", "etc-passwd", "requestrocket"}
    for path in written:
        if path.name == "__main__.py":
            ast.parse(path.read_text())


@settings(max_examples=100, deadline=None)
@given(names)
@example("http://h/#x: y\n  evil: 1")
@example("../\n")
def test_new_writes_yaml_that_reads_back_the_values_given(name):
    api_url = f"https://api.example.com/{name}"
    files = scaffold.project_files(name="true", stack="dev", api_url=api_url, emulator=False,
                                   requirement_line="rr-pulumi==0.1")
    assert yaml.safe_load(files["Pulumi.yaml"])["name"] == "true"
    assert yaml.safe_load(files["Pulumi.dev.yaml"])["config"] == {"requestrocket:apiUrl": api_url}
    ast.parse(files["__main__.py"])


@pytest.mark.parametrize("value", ["http://127.0.0.1:8787", "yes", "1e3", "a: b", "x#y", "", "null", "on", "a\u2028b",
                                   "a\n", "http://h/\n",
                                   "\x85\ufeff\U0001f680\\\"'\n\r\t\x00"])
def test_yaml_scalars_read_back_as_the_same_string(value):
    assert yaml.safe_load(f"k: {scaffold.yaml_scalar(value)}\n") == {"k": value}



def test_a_stack_name_with_a_final_newline_is_refused(tmp_path):
    with pytest.raises(scaffold.ScaffoldError, match="--stack"):
        scaffold.create(tmp_path / "p", stack="dev\n", requirement_line="rr-pulumi==0.1")
    assert not (tmp_path / "p").exists()

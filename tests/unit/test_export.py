"""`rr-pulumi export`: names, references, adoption markers and the secrets to set, from a fake account."""

import ast

from rr_pulumi.tools import export
from rr_pulumi.tools.cli import main

from .fake_api import TOKEN, FakeApi


def account(api: FakeApi) -> tuple[str, export.Account]:
    client = api.put("/api/clients", {"clientName": "Acme Payments"})
    cid = client["sKey"]
    base = f"/api/clients/{cid}"
    callers = api.put(f"{base}/credentials", {"credentialName": "callers", "credentialType": "proxy",
                                              "credentialAuthType": "apiKey", "credentialRegion": "us-east-1"})
    none = api.put(f"{base}/credentials", {"credentialName": "open", "credentialType": "target",
                                           "credentialAuthType": "none", "credentialRegion": "us-east-1"})
    target = api.put(f"{base}/targets", {"targetName": "class", "targetBaseURL": "https://a.example.com",
                                         "targetRegion": "us-east-1", "targetTestPath": None})
    proxy = api.put(f"{base}/proxies", {"proxyName": "class", "proxyRegion": "us-east-1",
                                        "proxyProxyCredentialId": callers["sKey"], "proxyTargetId": target["sKey"],
                                        "proxyTargetCredentialId": none["sKey"], "proxyActive": True})
    api.put(f"{base}/proxies/{proxy['sKey']}/rules", {"effect": "deny", "priority": 900, "methods": ["DELETE"],
                                                      "headerChecks": [{"namePattern": "^X$", "presence": "absent",
                                                                        "valuePattern": None}]})
    from rr_pulumi.api.client import RequestRocketClient

    return cid, export.read_account(RequestRocketClient("http://api.test", TOKEN, transport=api), cid)


def test_program_declares_each_object_once_with_references_and_markers():
    api = FakeApi()
    cid, acct = account(api)
    program = export.program_for(acct)
    tree = ast.parse(program.main)  # valid Python
    calls = [n.value.func.id for n in tree.body
             if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call) and isinstance(n.value.func, ast.Name)]
    assert calls == ["Client", "Credential", "Credential", "Target", "Proxy", "Rule"]
    assert "acme_payments = Client(\n    'acme-payments',\n    client_name='Acme Payments',\n" in program.main
    assert "target_class = Target(\n    'class',\n" in program.main  # keywords and builtins are not names
    assert "proxy_class = Proxy(\n    'class-2'," in program.main  # resource names stay unique
    assert "proxy_credential_id=callers.id,\n    target_id=target_class.id,\n" \
        "    target_credential_id=credential_open.id," in program.main
    assert "proxy_id=proxy_class.id" in program.main and "'value_pattern'" not in program.main
    assert "target_test_path" not in program.main  # empty values are not declared
    assert program.main.count("adopt_id='") == 6
    assert program.secrets == [("callersSecret", "callers", "apiKey")]  # auth type none needs no secret
    assert "credential_secret=config.get_secret_object('callersSecret')," in program.main  # optional
    assert "profile=" not in program.main
    assert program.project == "acme-payments"


def test_a_profile_is_declared_by_every_resource_and_set_under_its_name():
    _, acct = account(FakeApi())
    program = export.program_for(acct, profile="acme")
    assert program.main.count("    profile='acme',\n") == program.main.count("adopt_id='") == 6
    script = export.set_secrets_script(program, "https://api.example.com", profile="acme")
    assert "pulumi config set --path 'requestrocket:profiles.acme.apiUrl' 'https://api.example.com'" in script
    assert "pulumi config set --path --secret 'requestrocket:profiles.acme.token' \"$REQUESTROCKET_TOKEN\"" in script


def test_the_project_is_ready_to_commit(tmp_path):
    _, acct = account(FakeApi())
    files = export.project_files(export.program_for(acct), "https://api.example.com",
                                 requirement_line="rr-pulumi @ git+https://github.com/requestrocket/rr-pulumi@v1")
    assert "    virtualenv: venv\n" in files["Pulumi.yaml"]  # relative: works wherever the folder is checked out
    assert "    - name: pulumi-python\n      path: rr-provider\n" in files["Pulumi.yaml"]  # rr-pulumi's provider server
    assert files["requirements.txt"].splitlines()[-1] == "rr-pulumi @ git+https://github.com/requestrocket/rr-pulumi@v1"
    assert "venv/" in files[".gitignore"]


def test_set_secrets_script_lists_each_secret_with_its_shape():
    _, acct = account(FakeApi())
    script = export.set_secrets_script(export.program_for(acct), "https://api.requestrocket.com")
    assert "pulumi config set requestrocket:apiUrl 'https://api.requestrocket.com'" in script
    assert "# credential 'callers' (apiKey); optional keys: headerName" in script
    assert "# set_secret callersSecret '{\"apiKey\": \"<apiKey>\"}'" in script  # optional: commented out


def test_cli_export_needs_a_token(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("REQUESTROCKET_TOKEN", raising=False)
    assert main(["export", "--client-id", "c1", "--out", str(tmp_path)]) == 2
    assert "No RequestRocket API token is configured" in capsys.readouterr().err


def test_every_page_is_read():
    api = FakeApi()
    cid = api.put("/api/clients", {"clientName": "Big"})["sKey"]
    for n in range(130):
        api.put(f"/api/clients/{cid}/targets", {"targetName": f"t{n:03d}", "targetBaseURL": "https://a.example.com",
                                                "targetRegion": "us-east-1"})
    from rr_pulumi.api.client import RequestRocketClient

    acct = export.read_account(RequestRocketClient("http://api.test", TOKEN, transport=api), cid)
    program = export.program_for(acct)
    assert len(acct.objects["targets"]) == 130 and program.main.count(" = Target(") == 130
    assert "t129 = Target(" in program.main


def run_script(tmp_path, script: str):
    """set-secrets.sh with a stand-in `pulumi` that records its arguments."""
    import os
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "pulumi").write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/calls\n')
    (bin_dir / "pulumi").chmod(0o755)
    (tmp_path / "set-secrets.sh").write_text(script)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "REQUESTROCKET_TOKEN": "u-token"}
    done = subprocess.run(["sh", "set-secrets.sh"], cwd=tmp_path, env=env, capture_output=True, text=True)
    calls = (tmp_path / "calls").read_text().splitlines() if (tmp_path / "calls").exists() else []
    return done, calls


def test_set_secrets_refuses_unfilled_placeholders_before_setting_anything(tmp_path):
    _, acct = account(FakeApi())
    script = export.set_secrets_script(export.program_for(acct), "https://api.example.com")
    done, calls = run_script(tmp_path, script)  # as written: connection settings only, no secret
    assert done.returncode == 0 and calls == [
        "config set requestrocket:apiUrl https://api.example.com", "config set --secret requestrocket:token u-token"]

    (tmp_path / "calls").unlink()
    uncommented = script.replace("# set_secret callersSecret", "set_secret callersSecret")
    done, calls = run_script(tmp_path, uncommented)
    assert done.returncode == 1 and calls == []
    assert "fill in every <placeholder> first; nothing was set" in done.stderr and ": callersSecret" in done.stderr

    filled = uncommented.replace('"<apiKey>"', '"k-live-0001"')
    done, calls = run_script(tmp_path, filled)
    assert done.returncode == 0 and calls[-1] == 'config set --secret callersSecret {"apiKey": "k-live-0001"}'


def test_a_reference_names_the_object_of_its_kind_when_ids_repeat_across_kinds():
    """Ids are unique within a collection only: a credential and a target may share one, and the proxy's
    references must still name each by its own kind."""
    from rr_pulumi.schema import kinds

    same = "0001"
    acct = export.Account({"sKey": "c1", "clientName": "Acme"})
    acct.objects[kinds.CREDENTIAL.plural] = [{"sKey": same, "credentialName": "callers", "credentialType": "proxy",
                                              "credentialAuthType": "none", "credentialRegion": "us-east-1"}]
    acct.objects[kinds.TARGET.plural] = [{"sKey": same, "targetName": "upstream", "targetRegion": "us-east-1",
                                          "targetBaseURL": "https://a.example.com"}]
    acct.objects[kinds.PROXY.plural] = [{"sKey": "p1", "proxyName": "edge", "proxyRegion": "us-east-1",
                                         "proxyProxyCredentialId": same, "proxyTargetId": same}]
    main = export.program_for(acct).main
    assert "proxy_credential_id=callers.id,\n    target_id=upstream.id,\n" in main, main

"""A state written by an older rr-pulumi still refreshes, previews clean and destroys with this code (issue 25).

Pulumi keeps each dynamic resource's provider in its state as a dill pickle of the provider *by reference*: module
path and class name (`rr_pulumi/provider/base.py`). `refresh` and `destroy` unpickle that recorded blob, never the
program's, so every class path a state names must stay importable however the package is laid out.

The fixture (`data/old_state/`, made by its `make_fixture.py` at the commit `fixture.json` names) is a real
`pulumi up` of the five kinds against the emulator: the file backend's checkpoint, the stack config and the
emulator's store holding the same objects. The test copies it, starts the emulator on the copied store and, through
the real `pulumi` CLI, refreshes (no change), previews the same program (no change) and destroys (the API no longer
holds the objects). The pickled blobs are never rewritten, and the test checks they are still the frozen ones
when `destroy` reads them.

Nothing in the frozen state names the emulator's address: its run took the API URL from `REQUESTROCKET_API_URL`
(the stack config holds the token and the secrets). The emulator now listens on another port, and the test tells
the stack so the two ways a user who moved the stack to another machine would, rewriting nothing else:

- `environment`: `REQUESTROCKET_API_URL` names the new address; plain `pulumi refresh` and `pulumi destroy`, whose
  default provider is configured with the stack config recorded at the last `up`;
- `config`: `pulumi config set requestrocket:apiUrl` (the environment still names the old address, where nothing
  listens). A plain `refresh` or `destroy` would still use the recorded config, so they run with `--run-program`,
  Pulumi's way to take the current one; the resources read and deleted are still the recorded ones, with their
  pickled providers (pulumi/dynamic/__main__.py: `Read` and `Delete` unpickle the recorded properties).
"""

from __future__ import annotations

import base64
import json
import pickletools
import re
import shutil
import sys
from pathlib import Path

import pytest
import requests

from rr_pulumi.emulator.process import EmulatorProcess
from rr_pulumi.engine.stack import LocalStack

FIXTURE = Path(__file__).parent / "data" / "old_state"
PROVIDER_KEY = "__provider"

# The class paths the fixture's pickled providers name, compared with what its checkpoint holds: a fixture frozen
# again with a later layout would no longer test the old paths, and this test would fail saying so.
FROZEN_CLASS_PATHS = {
    "org": "rr_pulumi.provider.client.ClientProvider",
    "callers": "rr_pulumi.provider.credential.CredentialProvider",
    "upstream-auth": "rr_pulumi.provider.credential.CredentialProvider",
    "upstream": "rr_pulumi.provider.target.TargetProvider",
    "gateway": "rr_pulumi.provider.proxy.ProxyProvider",
    "no-deletes": "rr_pulumi.provider.rule.RuleProvider",
    "gateway-activation": "rr_pulumi.provider.activation.ActivationProvider",
}
NOWHERE = "http://127.0.0.1:9"  # the old machine's API address: nothing listens there (discard port)
STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}


def pickled_classes(blob: str) -> list[str]:
    """The `module.Name` of every global a pickle refers to, read from its opcodes (nothing is unpickled)."""
    found, strings, memo, last = [], [], {}, None   # `last`: the string on top of the stack, if any
    for op, arg, _ in pickletools.genops(base64.b64decode(blob)):
        if op.name in STRING_OPS:
            last = arg
            strings.append(arg)
        elif op.name == "MEMOIZE":
            memo[len(memo)] = last
        elif op.name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(arg)] = last
        elif op.name in ("BINGET", "LONG_BINGET", "GET"):
            last = memo.get(int(arg))
            strings.append(last)
        else:
            if op.name == "STACK_GLOBAL":
                found.append(f"{strings[-2]}.{strings[-1]}")
            elif op.name in ("GLOBAL", "INST"):
                found.append(arg.replace(" ", "."))
            last = None
    return found


def providers_of(resources: list[dict]) -> dict[str, tuple[str, str]]:
    """Resource name -> (its input's `__provider`, its output's), for the dynamic resources of a checkpoint."""
    return {r["urn"].rsplit("::", 1)[1]: ((r.get("inputs") or {}).get(PROVIDER_KEY),
                                          (r.get("outputs") or {}).get(PROVIDER_KEY))
            for r in resources if r["type"].startswith("pulumi-python:dynamic")}


def recorded(stack: LocalStack) -> dict[str, tuple]:
    """Resource name -> (id, inputs) of every dynamic resource, secrets shown (their ciphertext changes per write)."""
    deployment = json.loads(stack.run("stack", "export", "--show-secrets").stdout)["deployment"]
    return {r["urn"].rsplit("::", 1)[1]: (r.get("id"), r.get("inputs"))
            for r in deployment.get("resources") or [] if r["type"].startswith("pulumi-python:dynamic")}


def object_paths(ids: dict[str, str]) -> dict[str, str]:
    """The Core API path of each object the stack holds but its rule (rules have no GET of their own)."""
    client = f"/clients/{ids['client_id']}"
    return {"client": client, "callers": f"{client}/credentials/{ids['callers_id']}",
            "upstream-auth": f"{client}/credentials/{ids['upstream_auth_id']}",
            "target": f"{client}/targets/{ids['target_id']}", "proxy": f"{client}/proxies/{ids['proxy_id']}"}


def rule_ids(api: requests.Session, url: str, path: str) -> list[str] | None:
    """The ids of a proxy's rules, or None when the API has no such proxy."""
    response = api.get(url + path, params={"limit": 100})
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return [rule["sKey"] for rule in response.json()["rules"]]


@pytest.fixture
def old_stack(tmp_path, engine_bin):
    """The fixture copied to tmp_path, with the project run by this test's Python (the `virtualenv` of a project is
    the machine's, never part of what was frozen)."""
    manifest = json.loads((FIXTURE / "fixture.json").read_text())
    for folder in ("project", "state", "emulator"):
        shutil.copytree(FIXTURE / folder, tmp_path / folder)
    project_file = tmp_path / "project" / "Pulumi.yaml"
    project_file.write_text(project_file.read_text()
                            + f"  options:\n    virtualenv: {Path(sys.prefix).resolve()}\n")
    return tmp_path, manifest


@pytest.mark.parametrize("move", ["environment", "config"])
def test_a_state_written_by_the_frozen_version_refreshes_previews_and_destroys(old_stack, move):
    work, manifest = old_stack
    checkpoint = work / "state" / ".pulumi" / "stacks" / manifest["project"] / f"{manifest['stack']}.json"
    frozen = providers_of(json.loads(checkpoint.read_text())["checkpoint"]["latest"]["resources"])
    assert {name: [pickled_classes(blob) for blob in blobs] for name, blobs in frozen.items()} == {
        name: [[path], [path]] for name, path in FROZEN_CLASS_PATHS.items()}

    users = (f"{manifest['emulator_user']}:team={manifest['emulator_token']}",)
    with EmulatorProcess(db=work / "emulator" / "emulator.db", users=users, rate_limit=100_000) as emulator, \
            requests.Session() as api:
        api_url = {"REQUESTROCKET_API_URL": emulator.url if move == "environment" else NOWHERE}
        stack = LocalStack(work / "project", stack=manifest["stack"], backend_dir=work / "state",
                           passphrase=manifest["passphrase"], env=api_url)
        stack.run("stack", "select", manifest["stack"])  # the frozen stack itself: no --create
        run_program = ()
        if move == "config":
            stack.set_config("requestrocket:apiUrl", emulator.url)
            run_program = ("--run-program",)

        api.headers["Authorization"] = manifest["emulator_token"]
        url = emulator.url + "/api"
        ids = stack.outputs()
        assert ids == manifest["ids"]
        paths = object_paths(ids)
        rules = f"{paths['proxy']}/rules"
        assert {name: api.get(url + path).status_code for name, path in paths.items()} == dict.fromkeys(paths, 200)
        assert rule_ids(api, url, rules) == [ids["rule_id"]]

        before = recorded(stack)
        refreshed = stack.refresh(*run_program, "--expect-no-changes")
        assert re.search(r"Resources:\s+8 unchanged\b", refreshed.output), refreshed.output
        assert not re.search(r"\b\d+ (created|updated|deleted|replaced)\b", refreshed.output), refreshed.output
        if not run_program:  # (with it, the engine lists the inputs the program leaves to defaults as `[diff: -...]`)
            assert "[diff:" not in refreshed.output, refreshed.output
        assert recorded(stack) == before
        assert providers_of(stack.resources()) == frozen  # what destroy will unpickle: still the frozen blobs

        previewed = stack.preview("--expect-no-changes")
        assert re.search(r"Resources:\s+8 unchanged\b", previewed.output), previewed.output

        destroyed = stack.destroy(*run_program)
        assert re.search(r"Resources:\s+- 8 deleted\b", destroyed.output), destroyed.output
        assert stack.resources("") == []
        assert {name: api.get(url + path).status_code for name, path in paths.items()} == dict.fromkeys(paths, 404)
        assert rule_ids(api, url, rules) is None
        clients = api.get(url + "/clients", params={"limit": 100})
        clients.raise_for_status()
        assert ids["client_id"] not in [client["clientId"] for client in clients.json()["clients"]]

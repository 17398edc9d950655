"""Secret-leak scan: a full lifecycle at the highest verbosity (`-v=9 --logtostderr --debug`) with distinctive secret
values and token, then every place a secret could surface is searched: the CLI output and logs of every command
(including a failed one), the stack export without `--show-secrets`, every file of the file backend (checkpoints,
backups, history), the stack config file, the emulator's request log (`--log-requests`) and its error answers.

Known engine behaviour (pulumi 3.260.0): at `-v=9` the engine logs every RPC property in plaintext
(`Marshaling property for RPC[...]` / `Unmarshaling property for RPC[...]`, `logging.V(9)` in
sdk/go/common/resource/plugin/rpc.go); its secret filter covers only secret config values and is applied before
the arguments are formatted in, so it misses them. Those lines carry every input a provider receives, including the
stack configuration passed to `Configure` (the token, when it is in the config). Nothing else leaks; the token kept
in `REQUESTROCKET_TOKEN` instead of the config stays out of even those lines (second test). docs/reliability.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rr_pulumi.emulator.process import EmulatorProcess

TOKEN = "u-LEAKCANARY-token-7f3a9c"
SECRETS = {
    "token": TOKEN,
    "api key": "LEAKCANARY-api-key-5b21",
    "rotated api key": "LEAKCANARY-api-key-rotated-9e04",
    "password": "LEAKCANARY-password-c8d7",
    "literal bearer": "LEAKCANARY-literal-bearer-1a6f",
}
LOUD = ("-v=9", "--logtostderr", "--debug")
ENGINE_RPC_LOG = re.compile(r'"msg":"(Marshaling|Unmarshaling) property for RPC\[')

PROGRAM = """
import pulumi
from rr_pulumi import ApiKeySecret, BasicAuthSecret, BearerSecret, Client, Credential, Proxy, Target
c = pulumi.Config()
org = Client("org", client_name="leak-org")
key = Credential("key", client_id=org.id, credential_name="key", credential_type="proxy",
                 credential_region="us-east-1", credential_secret=ApiKeySecret(api_key=c.require_secret("apiKey")))
basic = Credential("basic", client_id=org.id, credential_name="basic", credential_type="target",
                   credential_region="us-east-1",
                   credential_secret=BasicAuthSecret(username="svc", password=c.require_secret("password")))
literal = Credential("literal", client_id=org.id, credential_name="literal", credential_type="target",
                     credential_region="us-east-1", credential_secret=BearerSecret(token="LEAKCANARY-literal-bearer-1a6f"))
target = Target("target", client_id=org.id, target_name="up", target_base_url="https://up.example.com",
                target_region="us-east-1")
proxy = Proxy("proxy", client_id=org.id, proxy_name="gw", proxy_region="us-east-1", proxy_credential_id=key.id,
              target_id=target.id, target_credential_id=basic.id)
pulumi.export("key_secret", key.credential_secret)
"""


@pytest.fixture
def loud_emulator():
    with EmulatorProcess(users=(f"leak:team={TOKEN}",), rate_limit=0, extra_args=("--log-requests",)) as emu:
        yield emu


def hits(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def outside_engine_rpc_log(output: str) -> str:
    """The output without the engine's -v=9 RPC property lines (the known engine behaviour above)."""
    return "\n".join(line for line in output.splitlines() if not ENGINE_RPC_LOG.search(line))


def test_no_secret_anywhere_at_full_verbosity(make_stack, loud_emulator, tmp_path):
    emu = loud_emulator
    stack = make_stack(PROGRAM, name="leaks")
    stack.set_config("requestrocket:apiUrl", emu.url)
    stack.set_config("requestrocket:token", TOKEN, secret=True)
    stack.set_config("apiKey", SECRETS["api key"], secret=True)
    stack.set_config("password", SECRETS["password"], secret=True)

    found: dict[str, list[str]] = {}

    def scan(where: str, text: str) -> None:
        leaked = hits(text)
        if leaked:
            found[where] = leaked

    def run(label: str, *args: str, check: bool = True) -> None:
        result = stack.run(*args, *LOUD, "--stack", stack.stack, check=check)
        scan(f"`pulumi {label}` output and logs", outside_engine_rpc_log(result.output))

    run("preview", "preview", "--diff")
    run("up", "up", "--yes", "--skip-preview")
    stack.set_config("apiKey", SECRETS["rotated api key"], secret=True)  # rotation in place
    run("up (rotation)", "up", "--yes", "--skip-preview", "--diff")
    run("refresh", "refresh", "--yes", "--skip-preview")
    run("preview --expect-no-changes", "preview", "--expect-no-changes")
    # A failing update: the API answers 500 to every call, so the error path (with the secret in the PUT body) runs.
    stack.set_config("apiKey", SECRETS["api key"], secret=True)
    emu.set_faults("err500=1")
    result = stack.run("up", "--yes", "--skip-preview", *LOUD, "--stack", stack.stack, check=False)
    emu.set_faults("")
    assert result.code != 0 and "returned 500 INTERNAL_ERROR" in result.output
    scan("failed `pulumi up` output and logs", outside_engine_rpc_log(result.output))
    run("up (recovered)", "up", "--yes", "--skip-preview")
    scan("stack export", json.dumps(stack.export()))
    scan("stack output", json.dumps(stack.outputs()))
    run("destroy", "destroy", "--yes", "--skip-preview")

    for folder in (stack.backend_dir, stack.project_dir):
        for path in Path(folder).rglob("*"):
            if path.is_file() and path.name != "__main__.py":  # the program's own source holds its literal
                scan(str(path.relative_to(tmp_path)), path.read_bytes().decode("utf-8", "replace"))
    log = Path(emu.log_path).read_text(errors="replace")
    assert "POST /api/clients" in log and "[REDACTED]" in log  # the request log really ran, with bodies
    scan("emulator request log", log)

    assert found == {}, f"secrets found: {found}"


def test_token_from_the_environment_stays_out_of_even_the_verbose_engine_log(make_stack, loud_emulator):
    stack = make_stack('from rr_pulumi import Client\nClient("org", client_name="leak-env-org")\n', name="leakenv")
    stack.set_config("requestrocket:apiUrl", loud_emulator.url)
    env = {"REQUESTROCKET_TOKEN": TOKEN}
    outputs = [stack.run("up", "--yes", "--skip-preview", *LOUD, "--stack", stack.stack, extra_env=env).output,
               stack.run("destroy", "--yes", "--skip-preview", *LOUD, "--stack", stack.stack, extra_env=env).output]
    assert any(ENGINE_RPC_LOG.search(o) for o in outputs), "no -v=9 engine lines: the test would prove nothing"
    assert not any(TOKEN in o for o in outputs)

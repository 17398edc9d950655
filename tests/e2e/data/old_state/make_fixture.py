"""Freeze a stack as the rr-pulumi of this checkout writes it: tests/e2e/test_old_state.py runs it with later code.

RUN IT ONLY WITH THE CODE OF THE VERSION BEING FROZEN (a checkout of that commit, its own venv and engine):

    .venv/bin/python tests/e2e/data/old_state/make_fixture.py

Running it again with newer code does not test anything old: it overwrites the fixture with a state that refers to
the newer class paths. `fixture.json` names the checkout that froze the committed fixture (`frozen_at`) and the
last commit of its library (`library_at`); the script refuses to run on uncommitted library changes.

What it does, all through the real `pulumi` CLI against the emulator over HTTP, in a temporary folder:
`pulumi up` of `project/` (the five kinds: a client, a proxy credential and a target credential with secrets, a
target, a proxy and a rule) on a file backend, against an emulator with a durable store. Then it keeps:

- `project/Pulumi.old.yaml`: the stack config (the token and the two credential secrets, encrypted with the test
  passphrase). The API URL is not in it: the run takes it from `REQUESTROCKET_API_URL`, so that nothing in the
  state names the emulator's port of that run (a default provider records the stack config it was configured
  with, and a plain `refresh` or `destroy` uses that record);
- `state/.pulumi/`: the file backend's `meta.yaml` and the stack's checkpoint (no history, backups or plugins).
  Its only paths are the source positions Pulumi records for display (files of the checkout that froze it);
- `emulator/emulator.db` (+ `.key`, the key of the emulator's at-rest encryption of credential secrets): the
  emulator's store holding the same objects, checkpointed into one file;
- `fixture.json`: the constants the test needs (stack, passphrase, emulator user and token) and the ids created.

The passphrase, the emulator token, the key file and the secrets are test constants that protect nothing.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]  # the checkout whose rr_pulumi/ is frozen
LIBRARY = ("rr_pulumi", "pyproject.toml")
STACK = "old"
PASSPHRASE = "old-state-fixture-only"
USER = "old-state"
TOKEN = "u-old-state-fixture-token"
SECRETS = {"callerKey": "old-state-caller-key-0001", "upstreamToken": "old-state-upstream-token-0001"}


def provider_references(checkpoint: dict) -> dict[str, str]:
    """URN -> the text of the pickled `__provider` of each dynamic resource (dill's bytes, decoded loosely)."""
    found = {}
    for resource in checkpoint["checkpoint"]["latest"]["resources"]:
        blob = (resource.get("inputs") or {}).get("__provider")
        if blob:
            found[resource["urn"]] = base64.b64decode(blob).decode("latin-1")
    return found


def compact(db: Path) -> None:
    """One self-contained file: the WAL folded in, rollback journal mode (the emulator turns WAL on again)."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("VACUUM")
    finally:
        conn.close()
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def main() -> None:
    if git("status", "--porcelain", "--", *LIBRARY):
        sys.exit("rr_pulumi/ has uncommitted changes: freeze a committed version only")
    # imported here: the constants above stay readable without this version's module layout
    from rr_pulumi.emulator.process import EmulatorProcess
    from rr_pulumi.engine.stack import LocalStack

    with tempfile.TemporaryDirectory(prefix="rr-old-state-") as tmp:
        work = Path(tmp)
        project = work / "project"
        project.mkdir()
        shutil.copy(HERE / "project" / "__main__.py", project / "__main__.py")
        (project / "Pulumi.yaml").write_text((HERE / "project" / "Pulumi.yaml").read_text()
                                             + f"  options:\n    virtualenv: {Path(sys.prefix).resolve()}\n")
        (work / "emulator").mkdir()
        db = work / "emulator" / "emulator.db"
        with EmulatorProcess(db=db, users=(f"{USER}:team={TOKEN}",), rate_limit=0) as emulator:
            stack = LocalStack(project, stack=STACK, backend_dir=work / "state", passphrase=PASSPHRASE,
                               env={"REQUESTROCKET_API_URL": emulator.url}).init()
            emulator_url = emulator.url
            stack.set_config("requestrocket:token", TOKEN, secret=True)
            for key, value in SECRETS.items():
                stack.set_config(key, value, secret=True)
            stack.up()
            outputs = stack.outputs()
            pulumi_version = stack.run("version").stdout.strip()
        compact(db)

        checkpoint_file = work / "state" / ".pulumi" / "stacks" / "old-state" / f"{STACK}.json"
        checkpoint = json.loads(checkpoint_file.read_text())
        assert emulator_url not in checkpoint_file.read_text(), "the state names the emulator's address"
        references = provider_references(checkpoint)
        # the five kinds (two credentials) and the proxy's ProxyActivation child: seven pickled providers
        assert len(references) == 7 and all("rr_pulumi." in text for text in references.values()), references

        for folder in ("state", "emulator"):
            shutil.rmtree(HERE / folder, ignore_errors=True)
        (HERE / "state" / ".pulumi" / "stacks" / "old-state").mkdir(parents=True)
        shutil.copy(work / "state" / ".pulumi" / "meta.yaml", HERE / "state" / ".pulumi" / "meta.yaml")
        shutil.copy(checkpoint_file, HERE / "state" / ".pulumi" / "stacks" / "old-state" / f"{STACK}.json")
        (HERE / "emulator").mkdir()
        for name in ("emulator.db", "emulator.db.key"):
            shutil.copy(work / "emulator" / name, HERE / "emulator" / name)
        shutil.copy(project / f"Pulumi.{STACK}.yaml", HERE / "project" / f"Pulumi.{STACK}.yaml")

    manifest = {
        "frozen_at": git("rev-parse", "HEAD"),  # the checkout that ran; its library is the last commit below
        "library_at": git("log", "-1", "--format=%H", "--", *LIBRARY),
        "pulumi": pulumi_version, "project": "old-state", "stack": STACK,
        "passphrase": PASSPHRASE, "emulator_user": USER, "emulator_token": TOKEN, "ids": outputs,
    }
    (HERE / "fixture.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for urn, text in sorted(references.items()):
        print(f"{urn.rsplit('::', 1)[1]}: {' '.join(re.findall(r'rr_pulumi[.][A-Za-z_.]+|[A-Za-z]+Provider', text))}")


if __name__ == "__main__":
    main()

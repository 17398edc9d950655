"""A throw-away RequestRocket for rule tests: the emulator (Core API and data plane), an echo upstream, and
`pulumi up` of the user's own project in a temporary copy with a temporary file backend.

    env = RulesTestEnvironment(tmp_dir)
    deployment = env.deploy("path/to/project", config={"upstreamUrl": env.upstream_url},
                            secrets={"partnerKey": "pk-test"})
    gateway = deployment.gateway("partners")            # a Proxy resource's name (or a component's proxy)
    env.close()
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml

from rr_pulumi.emulator.dataplane import data_plane_url
from rr_pulumi.emulator.process import EmulatorProcess
from rr_pulumi.engine import ensure_engine
from rr_pulumi.engine.stack import LocalStack
from rr_pulumi.schema.kinds import PROXY, RULE
from rr_pulumi.testing.echo import EchoServer
from rr_pulumi.testing.gateway import Gateway

USER = "rules-test"
NOT_COPIED = {".git", ".venv", "venv", "__pycache__", ".rr", ".pytest_cache", "node_modules"}


def copy_project(source: Path, destination: Path) -> Path:
    """The project without its stacks' config, state or environments, run with this test's Python."""
    shutil.copytree(source, destination, ignore=lambda folder, names: [
        n for n in names if n in NOT_COPIED or (n.startswith("Pulumi.") and n != "Pulumi.yaml")])
    project_file = destination / "Pulumi.yaml"
    project = yaml.safe_load(project_file.read_text())
    runtime = project.get("runtime")
    options = dict(runtime.get("options") or {}) if isinstance(runtime, dict) else {}
    options["virtualenv"] = str(Path(sys.prefix).resolve())
    project["runtime"] = {"name": "python", "options": options}
    project_file.write_text(yaml.safe_dump(project, sort_keys=False))
    return destination


class Deployment:
    """A deployed stack: its outputs, and a Gateway per proxy."""

    def __init__(self, env: "RulesTestEnvironment", stack: LocalStack):
        self.env, self.stack = env, stack
        self.resources = stack.resources()
        self.outputs = stack.outputs()

    def _named(self, kind) -> dict[str, dict[str, Any]]:
        return {r["urn"].rsplit("::", 1)[1]: r for r in self.resources if r.get("type") == kind.type_token}

    def ids(self, kind=RULE) -> dict[str, str]:
        """Pulumi resource name → RequestRocket id, for one kind (rules by default)."""
        return {name: r["id"] for name, r in self._named(kind).items()}

    def outputs_of(self, kind, name: str) -> dict[str, Any]:
        """The recorded outputs of one resource of a kind (`rr_pulumi.schema.kinds.PROXY`, ...) by its Pulumi name."""
        return self._named(kind)[name].get("outputs") or {}

    def gateway(self, proxy: str) -> Gateway:
        """The Gateway of a Proxy, by its Pulumi resource name."""
        proxies = self._named(PROXY)
        if proxy not in proxies:
            raise KeyError(f"no Proxy named {proxy!r} in the stack; proxies: {', '.join(sorted(proxies)) or 'none'}")
        rule_names = {rule_id: name for name, rule_id in self.ids(RULE).items()}
        return Gateway(proxies[proxy]["outputs"]["url"], self.env.upstream, self.env.records, rule_names, name=proxy)


class RulesTestEnvironment:
    def __init__(self, workdir: Path | str):
        self.workdir = Path(workdir)
        self.engine = ensure_engine(verbose=False)
        self.emulator = EmulatorProcess(users=(f"{USER}:team",), rate_limit=0).start()
        self.upstream = EchoServer().start()
        self._count = 0

    @property
    def upstream_url(self) -> str:
        return self.upstream.url

    @property
    def data_plane_url(self) -> str:
        return data_plane_url(self.emulator.api_url)

    def records(self, proxy_id: str) -> list[dict[str, Any]]:
        """The data plane's records of one proxy's requests (secrets redacted)."""
        return self.emulator.admin("GET", f"/_emulator/dataplane/requests?proxyId={proxy_id}").json()["requests"]

    def reset_limits(self) -> None:
        """Start every proxy's per-minute and per-day windows afresh (and forget the records)."""
        self.emulator.admin("POST", "/_emulator/dataplane/reset")

    def deploy(self, project: Path | str, config: Optional[Mapping[str, str]] = None,
               secrets: Optional[Mapping[str, str]] = None, stack: str = "rules-test") -> Deployment:
        """`pulumi up` of a copy of the project against the emulator; raises PulumiCommandError on failure."""
        self._count += 1
        folder = copy_project(Path(project), self.workdir / f"project-{self._count}")
        local = LocalStack(folder, stack=stack, backend_dir=self.workdir / f"state-{self._count}").init()
        settings = {"requestrocket:apiUrl": self.emulator.url, "requestrocket:dataPlaneUrl": self.data_plane_url,
                    **(config or {})}
        for key, value in settings.items():
            local.set_config(key, str(value))
        local.set_config("requestrocket:token", self.emulator.token(USER), secret=True)
        for key, value in (secrets or {}).items():
            local.set_config(key, str(value), secret=True)
        local.up()
        return Deployment(self, local)

    def close(self) -> None:
        self.upstream.stop()
        self.emulator.close()

    def __enter__(self) -> "RulesTestEnvironment":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""The benchmark stacks: N resources of all five kinds spread over several clients, as a Pulumi program.

Each client gets a share of N filled in dependency order from one sequence, so any cut is a valid stack:

    client, proxy credential, target credential, then (target, proxy, rule, rule) repeated

Clients: max(2, N // 25), each with at least 6 resources, so every stack has every kind. The same program runs
against the emulator (rr-pulumi's providers) or against the engine floor (floor_provider.FloorProvider swapped in
for each provider class: same type tokens, properties, secrets and dependencies). `rev` (stack config) is part of
every target's test path, so changing it updates every target in place. Proxies opt out of the staged activation
(`activate_after_rules=False`), so a stack holds exactly the five kinds the goals count, as before staging existed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

SEQUENCE_HEAD = ("client", "proxy_credential", "target_credential")
SEQUENCE_LOOP = ("target", "proxy", "rule", "rule")

HEADER = """\
import pulumi
import rr_pulumi.resources as resources
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target
"""

FLOOR_SWAP = """\
from floor_provider import FloorProvider
for _kind in ("Client", "Credential", "Target", "Proxy", "Rule"):
    getattr(resources, _kind).provider_class = FloorProvider  # each resource class names its provider class
"""

NAIVE_SWAP = """\
import naive_provider
for _kind in ("Client", "Credential", "Target", "Proxy", "Rule"):
    getattr(resources, _kind).provider_class = getattr(naive_provider, f"Naive{_kind}Provider")  # as users write it
"""

SHAPED_SWAP = FLOOR_SWAP.replace("FloorProvider", "ShapedFloorProvider")

SWAPS = {"rr": "", "floor": FLOOR_SWAP, "shaped": SHAPED_SWAP, "naive": NAIVE_SWAP}

BODY = """\
rev = pulumi.Config().get("rev") or "0"
region = "us-east-1"
"""


@dataclass(frozen=True)
class Shape:
    """How N resources are laid out: the kind of each, per client."""

    n: int

    @property
    def clients(self) -> int:
        return max(2, self.n // 25)

    def layout(self) -> list[list[str]]:
        """The kinds of each client's resources, in creation order."""
        per_client = max(6, math.ceil(self.n / self.clients))
        left, layout = self.n, []
        for _ in range(self.clients):
            take = min(per_client, left)
            if take <= 0:
                break
            kinds = list(SEQUENCE_HEAD)
            while len(kinds) < take:
                kinds.append(SEQUENCE_LOOP[(len(kinds) - len(SEQUENCE_HEAD)) % len(SEQUENCE_LOOP)])
            layout.append(kinds[:take])
            left -= take
        return layout

    def kinds(self) -> Counter:
        return Counter(kind.replace("proxy_credential", "credential").replace("target_credential", "credential")
                       for kinds in self.layout() for kind in kinds)

    def collections(self) -> int:
        """The Core API collections holding the stack's objects: a refresh needs one list of each (1 page here)."""
        count = 1  # /api/clients
        for kinds in self.layout():
            count += ("proxy_credential" in kinds) + ("target" in kinds) + ("proxy" in kinds)
            count += sum(1 for i, kind in enumerate(kinds) if kind == "proxy" and kinds[i + 1:i + 2] == ["rule"])
        return count

    def listed_collections(self) -> int:
        """The most lists a refresh may make with sibling prefetch: one per (parent read, kind the stack holds under
        any parent of that kind), so a client or proxy with none of a kind the others have costs one more list."""
        layout = self.layout()
        held = {"credential" if kind.endswith("_credential") else kind for kinds in layout for kind in kinds}
        per_client = held & {"credential", "target", "proxy"}
        proxies = sum(kinds.count("proxy") for kinds in layout)
        return 1 + len(layout) * len(per_client) + (proxies if "rule" in held else 0)

    def targets(self) -> int:
        return self.kinds()["target"]

    def program(self, provider: str = "rr") -> str:
        """The stack's program with rr-pulumi's providers ("rr"), the floor's ("floor"), the floor with rr-pulumi's
        state ("shaped") or the baseline ("naive")."""
        lines = [HEADER, SWAPS[provider], BODY]
        for c, kinds in enumerate(self.layout()):
            proxy = target = None
            rules = 0
            for i, kind in enumerate(kinds):
                name = f"c{c}-{kind.replace('_', '-')}-{i}"
                if kind == "client":
                    lines.append(f'c{c} = Client("{name}", client_name="bench-{c}")')
                elif kind == "proxy_credential":
                    lines.append(
                        f'c{c}_pc = Credential("{name}", client_id=c{c}.id, credential_name="{name}", '
                        f'credential_type="proxy", credential_region=region, '
                        f'credential_secret=ApiKeySecret(api_key=pulumi.Output.secret("key-{c}-{i}")))')
                elif kind == "target_credential":
                    lines.append(
                        f'c{c}_tc = Credential("{name}", client_id=c{c}.id, credential_name="{name}", '
                        f'credential_type="target", credential_region=region, '
                        f'credential_secret=BearerSecret(token=pulumi.Output.secret("token-{c}-{i}")))')
                elif kind == "target":
                    target = f"c{c}_t{i}"
                    lines.append(
                        f'{target} = Target("{name}", client_id=c{c}.id, target_name="{name}", '
                        f'target_base_url="https://upstream{c}.example.com", target_region=region, '
                        f'target_test_path=f"/health/{{rev}}")')
                elif kind == "proxy":
                    proxy = f"c{c}_p{i}"
                    lines.append(
                        f'{proxy} = Proxy("{name}", client_id=c{c}.id, proxy_name="{name}", proxy_region=region, '
                        f'proxy_credential_id=c{c}_pc.id, target_id={target}.id, '
                        f'target_credential_id=c{c}_tc.id, proxy_default_rule_effect="deny", '
                        f'activate_after_rules=False)')
                elif kind == "rule":
                    rules += 1
                    lines.append(
                        f'Rule("{name}", client_id=c{c}.id, proxy_id={proxy}.id, effect="allow", '
                        f'priority={100 + rules}, methods=["GET"], path_pattern="^/v{rules}/.*$")')
        lines.append('pulumi.export("count", %d)' % self.n)
        return "\n".join(lines) + "\n"

"""`rr-pulumi export`: an existing client, read through the API, written as a runnable Pulumi program.

The program declares one resource per object (client, credentials, targets, proxies, and the rules of each
credential, target and proxy), refers to other objects through Python variables, and adopts every object by id
(`adopt_id=`), so its first `pulumi up` creates nothing. The API never returns secrets: each credential's secret is
a required secret config value, and `set-secrets.sh` lists the `pulumi config set --secret` commands to fill in.
"""

from __future__ import annotations

import builtins
import json
import keyword
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .client import CLIENTS, RequestRocketClient, collection, item_id, rules_collection
from .schema import (
    PARENTS,
    SECRET_SHAPES,
    ClientSchema,
    CredentialSchema,
    ProxySchema,
    RuleSchema,
    TargetSchema,
    from_wire,
    input_fields,
)

KINDS = (("credentials", "Credential", CredentialSchema), ("targets", "Target", TargetSchema),
         ("proxies", "Proxy", ProxySchema))  # fmt: skip
RULE_PARENT_ARG = {segment: argument for argument, segment in PARENTS.items()}  # "proxies" -> "proxy_id"
PROXY_REFERENCES = ("proxy_credential_id", "target_id", "target_credential_id")


class ExportError(Exception):
    """The client cannot be exported (not found, or not visible to this token)."""


# ---------------------------------------------------------------------------------------------------------------
# Reading (I/O)


@dataclass
class Account:
    """One client and everything it owns, as the API returns it."""

    client: dict[str, Any]
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # plural -> items
    rules: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)  # (plural, parent id) -> rules


def read_account(api: RequestRocketClient, client_id: str) -> Account:
    client = next((c for c in api.list(CLIENTS) if item_id(c, "clients") == client_id), None)
    if client is None:
        raise ExportError(f"client {client_id!r} does not exist or this token is not one of its members")
    account = Account(client)
    for plural, _, _ in KINDS:
        params = {"includeTemporary": "true"} if plural == "credentials" else None
        account.objects[plural] = api.list(collection(client_id, plural), params)
        for item in account.objects[plural]:
            parent_id = item_id(item, plural)
            account.rules[(plural, parent_id)] = api.list(rules_collection(client_id, plural, parent_id))
    return account


# ---------------------------------------------------------------------------------------------------------------
# Writing (pure)


class Names:
    """Unique Python variable names and Pulumi resource names, derived from the objects' own names."""

    def __init__(self) -> None:
        self.used_vars: set[str] = {"pulumi", "config", "Client", "Credential", "Target", "Proxy", "Rule"}
        self.used_resources: set[str] = set()

    @staticmethod
    def _words(text: str) -> list[str]:
        return [w for w in re.split(r"[^0-9A-Za-z]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)) if w]

    def variable(self, text: str, fallback: str) -> str:
        words = [w.lower() for w in self._words(text)] or [fallback]
        base = "_".join(words)
        if base[0].isdigit() or keyword.iskeyword(base) or hasattr(builtins, base):
            base = f"{fallback}_{base}"
        name, n = base, 2
        while name in self.used_vars:
            name, n = f"{base}_{n}", n + 1
        self.used_vars.add(name)
        return name

    def resource(self, text: str, fallback: str) -> str:
        base = "-".join(w.lower() for w in self._words(text)) or fallback
        name, n = base, 2
        while name in self.used_resources:
            name, n = f"{base}-{n}", n + 1
        self.used_resources.add(name)
        return name


def _declared_values(schema: Any, item: dict[str, Any]) -> dict[str, Any]:
    """The input fields of a live item worth declaring: no computed, path or secret fields, no empty values."""
    values = from_wire(schema, item)
    specs = input_fields(schema)
    return {
        name: values[name]
        for name, spec in specs.items()
        if name in values and not spec.path and not spec.secret and values[name] not in (None, "", [], {})
    }


def secret_template(auth_type: str) -> tuple[dict[str, str], list[str]]:
    """A placeholder secret for an auth type (wire key names) and the names of its optional keys."""
    shape = SECRET_SHAPES.get(auth_type)
    if shape is None:
        return {}, []
    required = {info.alias or name: f"<{info.alias or name}>" for name, info in shape.model_fields.items()
                if info.is_required()}  # fmt: skip
    optional = [info.alias or name for name, info in shape.model_fields.items() if not info.is_required()]
    return required, optional


@dataclass
class Program:
    main: str
    secrets: list[tuple[str, str, str]]  # (config key, credential name, auth type)
    project: str


def _call(kind: str, var: str, resource: str, args: list[tuple[str, str]]) -> str:
    body = "".join(f"    {name}={code},\n" for name, code in args)
    return f"{var} = {kind}(\n    {resource!r},\n{body})\n"


def _literal(value: Any) -> str:
    return repr(value)


def program_for(account: Account) -> Program:
    names = Names()
    client = account.client
    client_id = item_id(client, "clients") or ""
    client_var = names.variable(client.get("clientName", ""), "client")
    blocks = [_call("Client", client_var, names.resource(client.get("clientName", ""), "client"), [
        *((k, _literal(v)) for k, v in _declared_values(ClientSchema, client).items()),
        ("adopt_id", _literal(client_id)),
    ])]  # fmt: skip
    ids_to_vars: dict[str, str] = {}
    secrets: list[tuple[str, str, str]] = []
    for plural, kind, schema in KINDS:
        for item in account.objects.get(plural, []):
            id_ = item_id(item, plural) or ""
            values = _declared_values(schema, item)
            label = values.get(f"{kind.lower()}_name", kind.lower())
            var = names.variable(label, kind.lower())
            ids_to_vars[id_] = var
            args = [("client_id", f"{client_var}.id")]
            for name, value in values.items():
                if kind == "Proxy" and name in PROXY_REFERENCES and value in ids_to_vars:
                    args.append((name, f"{ids_to_vars[value]}.id"))
                else:
                    args.append((name, _literal(value)))
            if kind == "Credential" and values.get("credential_auth_type") != "none":
                key = re.sub(r"_(\w)", lambda m: m.group(1).upper(), var) + "Secret"
                secrets.append((key, str(label), str(values.get("credential_auth_type"))))
                args.append(("credential_secret", f"config.require_secret_object({key!r})"))
            args.append(("adopt_id", _literal(id_)))
            blocks.append(_call(kind, var, names.resource(str(label), kind.lower()), args))
    for plural, kind, _ in KINDS:
        for parent in account.objects.get(plural, []):
            parent_id = item_id(parent, plural) or ""
            for n, rule in enumerate(account.rules.get((plural, parent_id), []), start=1):
                parent_var = ids_to_vars[parent_id]
                var = names.variable(f"{parent_var}_rule_{n}", "rule")
                args = [("client_id", f"{client_var}.id"), (RULE_PARENT_ARG[plural], f"{parent_var}.id")]
                args += [(k, _literal(v)) for k, v in _declared_values(RuleSchema, rule).items()]
                args.append(("adopt_id", _literal(item_id(rule, "rules") or "")))
                blocks.append(_call("Rule", var, names.resource(var.replace("_", "-"), "rule"), args))
    header = textwrap.dedent(f'''\
        """RequestRocket client {client.get("clientName")!r} ({client_id}), exported by `rr-pulumi export`.

        Every resource adopts the existing object (adopt_id=...), so `pulumi up` creates nothing; it applies the values
        below, and pushes each credential's secret from the stack configuration (the API never returns secrets: set
        them first, see set-secrets.sh). Once adopted, the adopt_id markers may stay or go: they are used only at
        creation.
        """

        import pulumi

        from rr_pulumi import Client, Credential, Proxy, Rule, Target

        config = pulumi.Config()

        ''')
    footer = f"\npulumi.export(\"client_id\", {client_var}.id)\n"
    project = "-".join(w.lower() for w in Names._words(client.get("clientName", ""))) or "requestrocket"
    return Program(header + "\n".join(blocks) + footer, secrets, project)


def set_secrets_script(program: Program, api_url: str) -> str:
    lines = [
        "#!/bin/sh",
        "# The secrets this program needs. The RequestRocket API never returns secrets, so fill in the values each",
        "# credential uses today (including the optional keys it uses): `pulumi up` sends them to the API.",
        "set -eu",
        f"pulumi config set requestrocket:apiUrl {api_url!r}",
        'pulumi config set --secret requestrocket:token "$REQUESTROCKET_TOKEN"',
    ]
    for key, name, auth_type in program.secrets:
        required, optional = secret_template(auth_type)
        lines.append(f"# credential {name!r} ({auth_type})" + (f"; optional keys: {', '.join(optional)}" if optional
                                                               else ""))
        lines.append(f"pulumi config set --secret {key} '{json.dumps(required)}'")
    return "\n".join(lines) + "\n"


def project_yaml(program: Program, virtualenv: Optional[str]) -> str:
    runtime = "runtime: python\n"
    if virtualenv:
        runtime = f"runtime:\n  name: python\n  options:\n    virtualenv: {virtualenv}\n"
    return f"name: {program.project}\ndescription: exported by rr-pulumi export\n{runtime}"


README = """\
# Exported RequestRocket client

Written by `rr-pulumi export`. To take the client over with Pulumi:

```sh
pulumi stack init dev          # any stack name and backend
sh set-secrets.sh              # after filling in every <placeholder> in it
pulumi preview                 # every resource shows as "create": each one adopts its existing object
pulumi up                      # adopts them: no new object; declared values and secrets are applied
pulumi preview --expect-no-changes
```

Then check for drift on a schedule with `rr-pulumi drift` (see docs/drift-adopt-export.md in rr-pulumi).
"""


def export_client(api_url: str, token: str, client_id: str, out: Path, virtualenv: Optional[str] = None) -> list[Path]:
    """Read the client and write Pulumi.yaml, __main__.py, set-secrets.sh and README.md into `out`."""
    account = read_account(RequestRocketClient(api_url, token), client_id)
    program = program_for(account)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "Pulumi.yaml": project_yaml(program, virtualenv),
        "__main__.py": program.main,
        "set-secrets.sh": set_secrets_script(program, api_url),
        "README.md": README,
    }
    written = []
    for name, text in files.items():
        (out / name).write_text(text)
        written.append(out / name)
    (out / "set-secrets.sh").chmod(0o755)
    return written

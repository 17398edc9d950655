"""`rr-pulumi export`: existing clients, read through the API, written as Pulumi projects ready to commit.

Each program declares one resource per object (client, credentials, targets, proxies, and the rules of each
credential, target and proxy), refers to other objects through Python variables, and adopts every object by id
(`adopt_id=`), so its first `pulumi up` creates nothing. The API never returns secrets, and none is needed: a
credential adopted without a declared secret keeps its live one, so the round trip export -> `pulumi up` writes
nothing. Each credential may declare its secret from an optional secret config value (`set-secrets.sh` lists the
commands, commented out, and refuses placeholders left unfilled); a declared secret is pushed only with
`rotate_on_adopt=True`.

`--all` writes one project folder per client the token can see (`<out>/<client-name>/`): each client is taken over,
reviewed and deployed on its own, like one `deck dump` per workspace. As `rr-pulumi new`, export refuses to write
into a folder that holds files (with `--all`: any client's folder) unless `force`, and then writes nothing at all.
"""

from __future__ import annotations

import ast
import builtins
import json
import keyword
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from rr_pulumi.schema import kinds
from rr_pulumi.tools import scaffold
from rr_pulumi.api.client import CLIENTS, RequestRocketClient, collection, item_id, listing_params, rules_collection
from rr_pulumi.api.config import Settings
from rr_pulumi.engine import PROJECT_PLUGINS_YAML, write_project_plugin
from rr_pulumi.api.errors import RequestRocketError
from rr_pulumi.tools.scaffold import ScaffoldError, requirement, requirements_txt
from rr_pulumi.schema import SECRET_SHAPES, from_wire, input_fields, schema_of

VIRTUALENV = "venv"  # relative to the project: the exported folder can be committed and used anywhere
PLACEHOLDER = r"<[A-Za-z][A-Za-z0-9_]*>"  # an unfilled value in set-secrets.sh, e.g. <apiKey>


class ExportError(RequestRocketError):
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
    client = next((c for c in api.list(CLIENTS) if item_id(c, kinds.CLIENT.plural) == client_id), None)
    if client is None:
        raise ExportError(f"client {client_id!r} does not exist or this token is not one of its members")
    return read_client(api, client)


def read_client(api: RequestRocketClient, client: dict[str, Any]) -> Account:
    client_id = item_id(client, kinds.CLIENT.plural) or ""
    account = Account(client)
    for kind in kinds.CLIENT_CHILDREN:
        listing = collection(client_id, kind.plural)
        account.objects[kind.plural] = api.list(listing, listing_params(listing))
        for item in account.objects[kind.plural]:
            parent_id = item_id(item, kind.plural) or ""
            if kind in kinds.RULE_PARENTS:
                account.rules[(kind.plural, parent_id)] = api.list(rules_collection(client_id, kind.plural,
                                                                                    parent_id))
    return account


def read_every_client(api: RequestRocketClient) -> list[Account]:
    """Every client the token can see, with everything it owns."""
    return [read_client(api, client) for client in api.list(CLIENTS)]


# ---------------------------------------------------------------------------------------------------------------
# Writing (pure)


class Names:
    """Unique Python variable names and Pulumi resource names, derived from the objects' own names."""

    def __init__(self) -> None:
        self.used_vars: set[str] = {"pulumi", "config", *(k.name for k in kinds.KINDS)}
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


def _literal(value: Any, what: str = "a value") -> str:
    """A value read from the API as Python source: a literal that reads back as the same value, never code.

    `repr` of the JSON types is such a literal (strings escape quotes, backslashes, line breaks and every
    non-printable character); the round trip proves it, and refuses what is not one (a NaN, an unexpected type)."""
    code = repr(value)
    try:
        same = ast.literal_eval(code) == value and not _has_nan(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        same = False
    if not same:
        raise ExportError(f"{what}: the API returned {type(value).__name__} {ascii(value)[:80]}, which cannot be "
                          "written as a Python literal; nothing was written")
    return code


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    return isinstance(value, list) and any(_has_nan(v) for v in value)


def _sh(value: str) -> str:
    """A shell word for any text: single-quoted, with each `'` written as `'"'"'` (shlex.quote, always quoted)."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _config_key(var: str) -> str:
    """`billing_token` -> `billingTokenSecret`: the stack config key of a credential's optional secret."""
    return re.sub(r"_(\w)", lambda m: m.group(1).upper(), var) + "Secret"


# No value read from the API goes into this docstring (a name could close it): the client's name and id are the
# first resource's literals below.
HEADER = '''\
"""A RequestRocket client, exported by `rr-pulumi export`: the Client resource below is its name and id.

Every resource adopts the existing object (adopt_id=...), so `pulumi up` creates nothing and, with nothing else
changed, writes nothing. Credentials keep their live secrets: the API never returns them, and a credential adopted
without a declared secret leaves its secret alone. To manage a secret in code, set its config value (see
set-secrets.sh): it is recorded at adoption (sent at adoption only with `rotate_on_adopt=True`) and sent when the
value changes later. Once adopted, the adopt_id markers may stay or go: they are used only at creation.
"""

import pulumi

from rr_pulumi import {kinds}

config = pulumi.Config()

'''


def program_for(account: Account, profile: Optional[str] = None) -> Program:
    """The program adopting one client; with a profile, every resource declares `profile=` (its connection)."""
    names = Names()
    client = account.client
    client_id = item_id(client, kinds.CLIENT.plural) or ""
    client_name = str(client.get(kinds.CLIENT.name_wire or "", ""))
    client_var = names.variable(client_name, kinds.CLIENT.word)
    common = [("profile", _literal(profile))] if profile else []
    blocks = [_call(kinds.CLIENT.name, client_var, names.resource(client_name, kinds.CLIENT.word), [
        *((k, _literal(v, f"client {k}")) for k, v in _declared_values(schema_of(kinds.CLIENT), client).items()),
        *common,
        ("adopt_id", _literal(client_id, "client id")),
    ])]  # fmt: skip
    # (kind, id) -> variable: ids are unique within a kind only, and a reference says which kind it names.
    variables: dict[tuple[str, str], str] = {}
    secrets: list[tuple[str, str, str]] = []
    for kind in kinds.CLIENT_CHILDREN:
        for item in account.objects.get(kind.plural, []):
            id_ = item_id(item, kind.plural) or ""
            values = _declared_values(schema_of(kind), item)
            label = str(values.get(kind.name_field or "", kind.word))
            var = names.variable(label, kind.word)
            variables[(kind.name, id_)] = var
            args = [("client_id", f"{client_var}.id")]
            references = {ref.argument: ref.kind for ref in kind.references}  # earlier kinds' objects: their variables
            for name, value in values.items():
                if name in references and (references[name], value) in variables:
                    args.append((name, f"{variables[(references[name], value)]}.id"))
                else:
                    args.append((name, _literal(value, f"{kind.word} {name}")))
            if kind is kinds.CREDENTIAL and values.get("credential_auth_type") != "none":
                key = _config_key(var)
                secrets.append((key, label, str(values.get("credential_auth_type"))))
                args.append(("credential_secret", f"config.get_secret_object({key!r})"))  # None when unset
            args += [*common, ("adopt_id", _literal(id_, f"{kind.word} id"))]
            blocks.append(_call(kind.name, var, names.resource(label, kind.word), args))
    for kind in kinds.RULE_PARENTS:
        for parent in account.objects.get(kind.plural, []):
            parent_id = item_id(parent, kind.plural) or ""
            for n, rule in enumerate(account.rules.get((kind.plural, parent_id), []), start=1):
                parent_var = variables[(kind.name, parent_id)]
                var = names.variable(f"{parent_var}_rule_{n}", kinds.RULE.word)
                args = [("client_id", f"{client_var}.id"), (str(kind.rule_parent_argument), f"{parent_var}.id")]
                declared = _declared_values(schema_of(kinds.RULE), rule)
                args += [(k, _literal(v, f"rule {k}")) for k, v in declared.items()]
                args += [*common, ("adopt_id", _literal(item_id(rule, kinds.RULE.plural) or "", "rule id"))]
                blocks.append(_call(kinds.RULE.name, var, names.resource(var.replace("_", "-"), kinds.RULE.word),
                                    args))
    footer = f"\npulumi.export(\"client_id\", {client_var}.id)\n"
    header = HEADER.replace("{kinds}", ", ".join(sorted(k.name for k in kinds.KINDS)))
    return Program(header + "\n".join(blocks) + footer, secrets, project_name(client_name))


SAFE_FOLDER = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")  # used with fullmatch: `$` would pass a final newline


def project_name(client_name: str) -> str:
    """The project (and, with --all, folder) name of a client: its ASCII words, lower case, joined by `-`; so no
    `/`, `..`, leading `-` or `.`, or other character a path or a command line could take for something else."""
    name = "-".join(w.lower() for w in Names._words(client_name))[:100].rstrip("-")
    return name if SAFE_FOLDER.fullmatch(name) else "requestrocket"


def set_secrets_script(program: Program, api_url: str, profile: Optional[str] = None) -> str:
    """The stack configuration commands: connection settings, and (commented out) each credential's secret."""
    if profile:
        connection = [
            f"pulumi config set --path {_sh(f'requestrocket:profiles.{profile}.apiUrl')} {_sh(api_url)}",
            f"pulumi config set --path --secret {_sh(f'requestrocket:profiles.{profile}.token')} "
            '"$REQUESTROCKET_TOKEN"',
        ]
    else:
        connection = [
            f"pulumi config set requestrocket:apiUrl {_sh(api_url)}",
            'pulumi config set --secret requestrocket:token "$REQUESTROCKET_TOKEN"',
        ]
    lines = [
        "#!/bin/sh",
        "# The stack configuration of this program. Run it once in the project folder, after `pulumi stack init`.",
        "#",
        "# Credential secrets are optional: without them, adoption keeps each credential's live secret and",
        "# `pulumi up` writes nothing. To manage a secret in code, uncomment its line and fill in the value the",
        "# credential uses TODAY (every <placeholder>, and the optional keys it uses): it is recorded, not sent,",
        "# unless the credential also has rotate_on_adopt=True in __main__.py (then `pulumi up` sends it).",
        "# Lines with a <placeholder> left in are refused before anything is set.",
        "set -eu",
        f"unfilled=$(grep -nE '^[[:space:]]*set_secret .*\"{PLACEHOLDER}\"' \"$0\" || true)",
        'if [ -n "$unfilled" ]; then',
        '  echo "set-secrets.sh: fill in every <placeholder> first; nothing was set. Unfilled (line: key):" >&2',
        "  printf '%s\\n' \"$unfilled\" | sed -E 's/^([0-9]+):[[:space:]]*set_secret ([^ ]+).*/  \\1: \\2/' >&2",
        "  exit 1",
        "fi",
        'set_secret() { pulumi config set --secret "$1" "$2"; }',
        ': "${REQUESTROCKET_TOKEN:?set REQUESTROCKET_TOKEN to your API token first}"',
        *connection,
    ]
    for key, name, auth_type in program.secrets:
        required, optional = secret_template(auth_type)
        # A comment ends at a line break: repr() writes every line break and non-printable character escaped.
        shown = auth_type if re.fullmatch(r"[A-Za-z0-9_]+", auth_type) else repr(auth_type)
        lines.append(f"# credential {name!r} ({shown})" + (f"; optional keys: {', '.join(optional)}" if optional
                                                           else ""))
        lines.append(f"# set_secret {key} {_sh(json.dumps(required))}")
    return "\n".join(lines) + "\n"


def project_yaml(program: Program, virtualenv: str = VIRTUALENV) -> str:
    return (f"name: {scaffold.yaml_scalar(program.project)}\ndescription: exported by rr-pulumi export\n"
            f"runtime:\n  name: python\n  options:\n    virtualenv: {virtualenv}\n{PROJECT_PLUGINS_YAML}")


README = """\
# Exported RequestRocket client

Written by `rr-pulumi export`; commit the folder as it is (`venv/` is ignored). To take the client over:

```sh
pulumi install                 # creates ./venv from requirements.txt
pulumi stack init prod         # any stack name and backend
sh set-secrets.sh              # API URL and token; credential secrets are optional (see the script)
pulumi preview                 # every resource shows as "create": each one adopts its existing object
pulumi up                      # adopts them: no object is created, nothing is written
pulumi preview --expect-no-changes
```

Credentials keep their live secrets. To push a declared secret at adoption, add `rotate_on_adopt=True` to that
credential in `__main__.py` (the preview warns which credentials `up` will rotate).

Then check for drift on a schedule with `rr-pulumi drift` (exit 0 no drift, 1 drift, 2 could not check).
"""

GITIGNORE = "venv/\n__pycache__/\n*.pyc\n"


def project_files(program: Program, api_url: str, profile: Optional[str] = None,
                  requirement_line: Optional[str] = None) -> dict[str, str]:
    """Every file of an exported project; `requirement_line` is rr-pulumi's line in requirements.txt (default:
    rr-pulumi as it was installed here)."""
    return {
        "Pulumi.yaml": project_yaml(program),
        "requirements.txt": requirements_txt(requirement_line or requirement()),
        "__main__.py": program.main,
        "set-secrets.sh": set_secrets_script(program, api_url, profile),
        "README.md": README,
        ".gitignore": GITIGNORE,
    }


def refuse_occupied(folders: list[Path], force: bool) -> None:
    """`rr-pulumi new`'s refusal of a folder that holds files (scaffold.refuse_occupied), as an ExportError."""
    try:
        scaffold.refuse_occupied(folders, force)
    except ScaffoldError as exc:
        raise ExportError(str(exc)) from None


def write_project(out: Path, files: dict[str, str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        (out / name).write_text(text)
        written.append(out / name)
    (out / "set-secrets.sh").chmod(0o755)
    written.append(write_project_plugin(out))
    return written


def export(settings: Settings, out: Path, client_id: Optional[str] = None, every_client: bool = False,
           profile: Optional[str] = None, requirement_line: Optional[str] = None, force: bool = False) -> list[Path]:
    """Write one project for `client_id` into `out`, or (every_client) one project per client in `out/<name>/`.

    A folder that already holds files is refused (ExportError, nothing written) unless `force`: then the exported
    files are written over it and other files are left as they are."""
    from rr_pulumi.tools.pulumi_cli import api_client

    if bool(client_id) == bool(every_client):
        raise ExportError("give either client_id or every_client=True (--client-id ID or --all)")
    try:
        requirement_line = requirement_line or requirement()
    except ScaffoldError as exc:  # rr-pulumi is not installed here: the caller must say how to install it
        raise ExportError(str(exc)) from None
    api = api_client(settings)
    if client_id:
        refuse_occupied([out], force)  # before reading the account: the answer does not depend on it
        program = program_for(read_account(api, client_id), profile)
        return write_project(out, project_files(program, settings.api_url, profile, requirement_line))
    projects: dict[Path, Program] = {}
    for account in read_every_client(api):
        program = program_for(account, profile)
        folder, n = out / program.project, 2
        while folder in projects:
            folder, n = out / f"{program.project}-{n}", n + 1
        projects[folder] = program
    if not projects:
        raise ExportError("this token sees no client: nothing to export")
    refuse_occupied(list(projects), force)
    written: list[Path] = []
    for folder, program in projects.items():
        written += write_project(folder, project_files(program, settings.api_url, profile, requirement_line))
    return written

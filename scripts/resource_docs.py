"""Write docs/resources.md from the resource schemas (`python scripts/resource_docs.py`; a unit test checks it).

It reads the same description of the public API (`rr_pulumi.schema.public`) that generates rr_pulumi/resources.py,
so the docs show exactly the typed constructors, outputs and nested types users get.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rr_pulumi.schema import schema_of
from rr_pulumi.schema.kinds import KINDS
from rr_pulumi.schema.public import ResourceApi, nested_types, options_of, resource_api

DOC = Path(__file__).resolve().parent.parent / "docs" / "resources.md"

INTRO = """\
# rr-pulumi resources

Generated from `rr_pulumi/schema/` by `python scripts/resource_docs.py`; do not edit by hand. The classes themselves
are generated from the same schema (`scripts/generate_resources.py` writes `rr_pulumi/resources.py`), so what is
listed here is what your editor and type checker see: the package ships `py.typed`, every constructor takes
explicit keyword-only arguments, and every output is a typed `pulumi.Output[...]` property. A field with a closed set
of values is a `Literal` (`effect: pulumi.Input[Literal['allow', 'deny']]`), so `effect="block"` is a type error.
`help(rr_pulumi.Proxy)` prints the same: the keyword form, required arguments without a default.

```python
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target

org = Client("org", client_name="Example Org")
callers = Credential("callers", client_id=org, credential_name="callers", credential_type="proxy",
                     credential_region="eu-west-1", credential_secret=ApiKeySecret(api_key=key))
proxy = Proxy("weather", client_id=org, proxy_name="weather", proxy_region="eu-west-1",
              proxy_credential_id=callers, target_id=api, target_credential_id=upstream)
proxy.url          # pulumi.Output[str]
existing = Proxy.get("legacy", "<proxy id>", client_id="<client id>")   # read-only reference
```

- **Two forms.** Keyword arguments, or one `<Resource>Args` object as the second argument (not both).
- **References** (`client_id`, `proxy_credential_id`, `target_id`, `target_credential_id`, a rule's parent) take
  the declared resource itself or its id (`org` or `org.id`, or a literal id). When the referenced resource is
  declared in the same program with literal values, `pulumi preview` fails before anything is sent if a proxy
  credential is passed where a target credential is needed (or the reverse), or if a proxy's credentials or target
  are in another region, with one line naming the argument, the resource and the fix.
- **Mistakes in Python** fail in one line too: `Proxy 'gw': unknown argument proxy_nme (did you mean
  proxy_name?); valid arguments: ...`, or `missing required argument ...`. A type checker reports them earlier
  (`Unexpected keyword argument "proxy_nme"`, `Argument "priority" to "RuleArgs" has incompatible type "str"`,
  and `effect="block"` as a value outside `Literal['allow', 'deny']`).
  Every such error is a `rr_pulumi.ProgramError` (a `RequestRocketError` and a `pulumi.RunError`, which Pulumi
  prints as one line without a traceback).
- **Values** are checked at `pulumi preview` by the provider against the schema (allowed values, bounds, formats,
  the allowed regions of `requestrocket:regions`); the error names the Python argument.
- **"replaces"** marks an immutable field: changing it deletes and recreates the object. Type tokens are
  `pulumi-python:dynamic/requestrocket:<Resource>`.

## Lookups, adoption and `pulumi import`

`<Resource>.get(resource_name, id, opts=None, *, <where it lives>)` references an existing object read-only, as
pulumi-aws's `get` does: the engine reads it with the provider at every preview and `up`, exposes its outputs, and
never changes or deletes it (`pulumi destroy` only forgets it). Objects below a client need `client_id`; a rule
also needs its parent (`credential_id`, `target_id` or `proxy_id`). With a literal id the lookup's id and outputs are
known at preview, so what is declared under it shows no change when nothing changed; an id that does not exist (or
that the token cannot see) fails the preview in one line (`Target.get: no target '...' in client '...'`).
`rr-pulumi drift` never counts a lookup as managed by the stack (see drift-adopt-export.md, "Shared accounts").

`pulumi import` and `ResourceOptions(import_=...)` cannot work with Pulumi's dynamic providers (the engine has no
provider to ask before the program runs, pulumi/pulumi#16175); rr-pulumi refuses `import_=` in one line that
points here. To bring an existing object under management,
declare it with `adopt=True` (found by its name within its client; a rule by all its fields) or `adopt_id="<id>"`;
to bring a whole organisation, `rr-pulumi export --client-id <id>` writes the program for you (every object marked
`adopt_id`). See [drift-adopt-export.md](drift-adopt-export.md).
"""


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def signature(name: str, params: list[str]) -> str:
    return f"{name}(" + ", ".join(params) + ")"


def render_resource(api: ResourceApi) -> list[str]:
    kind = api.kind
    options = options_of(api)
    keyword = [a.name if a.required else f"{a.name}=None" for a in api.arguments]
    lookup = [a.name if a.required else f"{a.name}=None" for a in api.lookup_arguments]
    lines = [f"## {kind.name}", "", " ".join((api.schema.__doc__ or "").split()), "", "```python"]
    lines.append(signature(kind.name, ["resource_name", "args=None", "opts=None", "*", *keyword,
                                       *(f"{o.name}={o.default}" for o in options)]))
    lines.append(signature(f"{kind.name}.get", ["resource_name", "id", "opts=None", "*", *lookup, "profile=None"]))
    lines += ["```", "", "| Argument | Type | Wire name | Description |", "|---|---|---|---|"]
    for a in api.arguments:
        wire = f"`{a.spec.wire}`" if a.spec.wire else "(path)"
        lines.append(f"| `{a.name}` | `{cell(a.type)}` | {wire} | {cell(a.doc)} |")
    for o in options:
        default = "" if "Default:" in o.doc else f" Default: `{o.default}`."
        lines.append(f"| `{o.name}` | `{o.type}` | (option) | {cell(o.doc)}{default} |")
    lines += ["", "| Output | Type | Description |", "|---|---|---|"]
    lines += ["| `id` | `pulumi.Output[str]` | Id of the object. |"]
    for out in api.outputs:
        lines.append(f"| `{out.name}` | `pulumi.Output[{cell(out.type)}]` | {cell(out.doc)} |")
    return lines + [""]


def render_nested() -> list[str]:
    lines = ["## Nested values", "",
             "Inputs take the dataclass (`ApiKeySecret(api_key=...)`, `HeaderCheck(name_pattern=...)`) or a dict of "
             "the same Python names (the `...Dict` TypedDict); outputs hold the dict. A secret's class sets "
             "`credential_auth_type`; `extra={...}` keeps further keys, as the API does. `QueryCheck` is "
             "`HeaderCheck`.", ""]
    for t in nested_types():
        title = t.dict_name if t.output_only else f"{t.name} / {t.dict_name}"
        lines += [f"### {title}", "", t.doc, ""]
        if t.fields:
            lines += ["| Field | Type | Description |", "|---|---|---|"]
            for f in t.fields:
                notes = ("Required. " if f.required else "") + f.doc + (f" Default: {f.default}." if f.default else "")
                lines.append(f"| `{f.name}` | `{cell(f.output_type)}` | {cell(notes)} |")
            lines.append("")
    return lines


def render() -> str:
    lines = INTRO.splitlines() + [""]
    for kind in KINDS:
        lines += render_resource(resource_api(kind, schema_of(kind)))
    lines += render_nested()
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render())
    print(f"wrote {DOC}", file=sys.stderr)

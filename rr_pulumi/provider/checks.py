"""Checks at preview that the schema alone cannot make: they need the stack's settings or see raw inputs.

* Regions: every `*_region` argument must be one of `requestrocket:regions` (default: the contract's five).
* Placeholders: a secret value that is a whole placeholder such as `<apiKey>` (what `rr-pulumi export` writes
  before the user fills it in) is refused, naming the argument path and never the value.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from rr_pulumi.api.config import DEFAULT_REGIONS, REGIONS_KEY
from rr_pulumi.schema.wire import Failure, SchemaRef, contains_unknown, input_fields

PLACEHOLDER = re.compile(r"^<[A-Za-z][A-Za-z0-9_]*>$")


def region_arguments(schema: SchemaRef) -> list[str]:
    return [name for name in input_fields(schema) if name.endswith("_region")]


def region_failures(schema: SchemaRef, values: dict[str, Any], allowed: tuple[str, ...]) -> list[Failure]:
    """Region arguments outside the allowed list, naming the allowed values and where the list comes from."""
    failures = []
    for name in region_arguments(schema):
        value = values.get(name)
        if isinstance(value, str) and not contains_unknown(value) and value not in allowed:
            failures.append(
                Failure(
                    name,
                    f"{value!r} is not an allowed region; allowed: {', '.join(allowed)} " + _source(allowed),
                )
            )
    return failures


def _source(allowed: tuple[str, ...]) -> str:
    """Where the allowed list comes from, in words."""
    if allowed == DEFAULT_REGIONS:
        return f"(the regions RequestRocket serves; the stack's {REGIONS_KEY} can narrow them)"
    return f"(the stack's {REGIONS_KEY})"


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string leaf of a value with its argument path (`credential_secret.api_key`, `headers.X-Key`)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def placeholder_failures(schema: SchemaRef, inputs: dict[str, Any]) -> list[Failure]:
    """Secret values left as export placeholders (`<apiKey>`): refused before anything is sent."""
    failures = []
    for name, spec in input_fields(schema).items():
        if not spec.secret:
            continue
        for path, text in _strings(inputs.get(name), name):
            if PLACEHOLDER.match(text.strip()):
                failures.append(
                    Failure(
                        path,
                        "is still a placeholder from `rr-pulumi export`; set the real value "
                        "(e.g. with the generated set-secrets.sh), or remove credential_secret to keep the live one",
                    )
                )
    return failures

"""How a request is judged by the rules of a proxy: the one evaluation used by the emulator's data plane and by
`rr-pulumi rules explain`, so the two cannot disagree.

Four independent scopes, in this order: proxy credential, target credential, proxy, target. Each scope collects
every rule that matches; a matching deny wins within the scope, a matching allow allows, no match falls back to the
scope's default effect. The request passes only if every scope allows. Rules are wire-shaped dicts (`effect`,
`priority`, `methods`, `pathPattern`, `pathPresence`, `headerChecks`, `queryChecks`, `bodyChecks`, `tokenChecks`,
`regexFlags`, and the id in `sKey`). Pure: no I/O. The decisions where the documentation conflicts are in
docs/emulator.md ("The data plane").
"""

from __future__ import annotations

import json
import re
import signal
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Iterator, Optional, Sequence

# One engine for both planes: Python's `re`, which the control plane compiles patterns with and docs/emulator.md
# names (`[[:digit:]]` is the class `[[:digt]` followed by `]` here, as in the API's checks). `re` has no timeout of
# its own, but its matcher checks for signals, so in the main thread a timer signal cuts a runaway search short; the
# emulator evaluates rules in worker processes for that reason (rr_pulumi/emulator/evaluator.py).
_regex_engine = re
SCOPES = ("proxy credential", "target credential", "proxy", "target")
PATTERN_TIMEOUT = 0.05  # seconds one pattern may take on one value before it counts as failing closed
COMPILED_CACHE = 512    # compiled patterns kept (least recently used first out): memory stays bounded
# Nodes one JSONPath may walk and select in a document. One `..*` over the largest body (1 MiB, at most 512 Ki
# values) walks and selects about a million; stacked ones (`$..*..*..*`) multiply and would run for minutes.
JSON_PATH_NODES_MAX = 2_000_000
FLAGS = {"i": "IGNORECASE", "m": "MULTILINE", "s": "DOTALL", "x": "VERBOSE"}  # `g` (JavaScript) has no meaning here
PRESENCE_WORDS = {"present": "present", "must_exist": "present", "absent": "absent", "must_not_exist": "absent"}
NO_BODY = object()


class PatternTimeout(Exception):
    """A pattern took longer than PATTERN_TIMEOUT on a value."""


class JsonPathTooCostly(PatternTimeout):
    """A JSONPath walked more nodes than its limit: judged as a runaway pattern is (fail closed)."""


@dataclass(frozen=True)
class Request:
    """What the rules see of a request. `path` is the part after `/api/{proxyId}` (`/invoices/1`, or `/`)."""

    method: str
    path: str
    headers: Sequence[tuple[str, str]] = ()
    query: Sequence[tuple[str, str]] = ()
    body: Any = NO_BODY  # the parsed JSON body, or NO_BODY (absent or not JSON)
    claims: Optional[dict[str, Any]] = None  # the caller's JWT claims, when the proxy credential carries a JWT


@dataclass(frozen=True)
class Scope:
    """One scope's object: which scope, its id and name, its default effect and its rules."""

    scope: str  # one of SCOPES
    object_id: str
    default_effect: str
    rules: Sequence[dict[str, Any]]
    name: Optional[str] = None


@dataclass
class ScopeResult:
    scope: str
    object_id: str
    default_effect: str
    matched: list[dict[str, Any]]  # every matching rule, highest priority first
    effect: str
    deciding_rule: Optional[dict[str, Any]]  # None when the default effect decided
    name: Optional[str] = None
    timeouts: list[str] = field(default_factory=list)  # ids of rules whose pattern or JSONPath ran away

    @property
    def deciding_rule_id(self) -> Optional[str]:
        return rule_id(self.deciding_rule) if self.deciding_rule else None


@dataclass
class Decision:
    allowed: bool
    scopes: list[ScopeResult]

    @property
    def deciding(self) -> Optional[ScopeResult]:
        """The scope that denied: the first denied by a rule, else the first denied by its default effect."""
        denied = [s for s in self.scopes if s.effect == "deny"]
        by_rule = [s for s in denied if s.deciding_rule is not None]
        return next(iter(by_rule or denied), None)

    @property
    def rule_id(self) -> Optional[str]:
        deciding = self.deciding
        return deciding.deciding_rule_id if deciding else None


def rule_id(rule: dict[str, Any]) -> Optional[str]:
    return rule.get("sKey") or rule.get("ruleId") or rule.get("id")


# -- patterns -------------------------------------------------------------------------------------------------------

def regex_flags(text: Optional[str]) -> int:
    flags = 0
    for letter in text or "":
        if letter in FLAGS:
            flags |= getattr(_regex_engine, FLAGS[letter])
    return flags


@lru_cache(maxsize=COMPILED_CACHE)
def _compiled(pattern: str, flags: int) -> Any:
    return _regex_engine.compile(pattern, flags)


class _Expired(BaseException):
    """Raised by the timer signal inside a search (a BaseException, so no `except Exception` swallows it)."""


def _expire(_signum, _frame) -> None:
    raise _Expired


def _can_time_out() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def search(pattern: str, flags: int, text: str) -> bool:
    """Whether `pattern` is found anywhere in `text` (anchor it with ^...$ to match the whole value).

    In the main thread of a Unix process a search gets PATTERN_TIMEOUT seconds, then raises PatternTimeout; elsewhere
    it runs to the end (the emulator only evaluates in worker processes' main threads)."""
    try:
        compiled = _compiled(pattern, flags)
    except Exception:  # a pattern the API would have refused: it matches nothing
        return False
    if not _can_time_out():
        return compiled.search(text) is not None
    previous = signal.signal(signal.SIGALRM, _expire)
    try:
        signal.setitimer(signal.ITIMER_REAL, PATTERN_TIMEOUT)
        try:
            return compiled.search(text) is not None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Expired:
        raise PatternTimeout(pattern) from None
    finally:
        signal.signal(signal.SIGALRM, previous)


# -- JSON paths into the body and claims ----------------------------------------------------------------------------

_STEP = re.compile(r"\.\.(\*|[A-Za-z_$][\w$-]*)|\.(\*|[A-Za-z_$][\w$-]*)|\[(\*|-?\d+|'[^']*'|\"[^\"]*\")\]")


def json_path(document: Any, path: str, limit: int = JSON_PATH_NODES_MAX) -> list[Any]:
    """The values a JSONPath selects: `$`, `.name`, `['name']`, `[0]`, `[*]`, `.*` and `..name`. Unsupported
    syntax selects nothing. Raises JsonPathTooCostly past `limit` nodes walked and selected."""
    if not path.startswith("$"):
        return []
    walked = 0

    def counted(values: Iterable[Any]) -> Iterator[Any]:
        nonlocal walked
        for value in values:
            walked += 1
            if walked > limit:
                raise JsonPathTooCostly(path)
            yield value

    nodes, position = [document], 1
    while position < len(path):
        step = _STEP.match(path, position)
        if step is None:
            return []
        position = step.end()
        deep, name, bracket = step.groups()
        if deep is not None:
            nodes = [v for n in nodes for d in counted(_descendants(n)) for v in counted(_children(d, deep))]
        elif name is not None:
            nodes = [v for n in nodes for v in counted(_children(n, name))]
        else:
            key: Any = bracket
            if bracket[0] in "'\"":
                key = bracket[1:-1]
            elif bracket != "*":
                key = int(bracket)
            nodes = [v for n in nodes for v in counted(_children(n, key))]
    return nodes


def _children(node: Any, key: Any) -> list[Any]:
    if key == "*":
        return list(node.values()) if isinstance(node, dict) else list(node) if isinstance(node, list) else []
    if isinstance(key, int):
        return [node[key]] if isinstance(node, list) and -len(node) <= key < len(node) else []
    return [node[key]] if isinstance(node, dict) and key in node else []


def _descendants(node: Any) -> Iterable[Any]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from _descendants(child)


def as_text(value: Any) -> str:
    """How a JSON value is matched by a value pattern: strings as they are, everything else as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def claim_values(claims: Optional[dict[str, Any]], claim: str) -> list[Any]:
    """The values of a claim (`role`, or a dotted path `realm_access.roles`); a list claim gives its elements."""
    if not claims:
        return []
    node: Any = claims
    for part in claim.split("."):
        if not isinstance(node, dict) or part not in node:
            return []
        node = node[part]
    return list(node) if isinstance(node, list) else [node]


# -- one rule -------------------------------------------------------------------------------------------------------

def presence(word: Any) -> str:
    return PRESENCE_WORDS.get(str(word or "present"), "present")


def _check(candidates: Iterable[str], value_pattern: Optional[str], word: Any, flags: int) -> bool:
    hits = [c for c in candidates if value_pattern is None or search(value_pattern, flags, c)]
    return bool(hits) == (presence(word) == "present")


def _named(items: Sequence[tuple[str, str]], check: dict[str, Any], flags: int, case_blind: bool) -> bool:
    name_flags = flags | (_regex_engine.IGNORECASE if case_blind else 0)
    values = [v for n, v in items if search(check.get("namePattern") or "", name_flags, n)]
    return _check(values, check.get("valuePattern"), check.get("presence"), flags)


def _path_matches(rule: dict[str, Any], path: str, flags: int) -> bool:
    pattern, word = rule.get("pathPattern"), rule.get("pathPresence")
    if pattern:
        return search(pattern, flags, path) == (presence(word) == "present")
    if word:  # without a pattern, presence says whether the request names a path below the proxy at all
        return (path not in ("", "/")) == (presence(word) == "present")
    return True


def matches(rule: dict[str, Any], request: Request) -> bool:
    """Whether every criterion of the rule holds for the request (an empty criterion matches anything).
    Raises PatternTimeout when a pattern runs away."""
    flags = regex_flags(rule.get("regexFlags"))
    methods = rule.get("methods") or []
    if methods and request.method.upper() not in {str(m).upper() for m in methods}:
        return False
    if not _path_matches(rule, request.path, flags):
        return False
    if not all(_named(request.headers, c, flags, True) for c in rule.get("headerChecks") or []):
        return False
    if not all(_named(request.query, c, flags, False) for c in rule.get("queryChecks") or []):
        return False
    for check in rule.get("bodyChecks") or []:
        values = [] if request.body is NO_BODY else json_path(request.body, check.get("jsonPath") or "")
        if not _check([as_text(v) for v in values], check.get("valuePattern"), check.get("presence"), flags):
            return False
    for check in rule.get("tokenChecks") or []:
        values = [as_text(v) for v in claim_values(request.claims, check.get("claim") or "")]
        if not _check(values, check.get("valuePattern"), check.get("presence"), flags):
            return False
    return True


# -- scopes and the decision ----------------------------------------------------------------------------------------

def _priority(rule: dict[str, Any]) -> float:
    try:
        return float(rule.get("priority") or 0)
    except (TypeError, ValueError):
        return 0.0


def evaluate_scope(scope: Scope, request: Request) -> ScopeResult:
    matched, timeouts = [], []
    for rule in scope.rules:
        try:
            hit = matches(rule, request)
        except PatternTimeout:  # fail closed: a runaway pattern or JSONPath counts as matching a deny, not an allow
            timeouts.append(rule_id(rule) or "?")
            hit = rule.get("effect") == "deny"
        if hit:
            matched.append(rule)
    matched.sort(key=_priority, reverse=True)  # stable: equal priorities keep creation order
    denies = [r for r in matched if r.get("effect") == "deny"]
    allows = [r for r in matched if r.get("effect") == "allow"]
    if denies:
        effect, deciding = "deny", denies[0]
    elif allows:
        effect, deciding = "allow", allows[0]
    else:
        effect, deciding = ("deny" if scope.default_effect == "deny" else "allow"), None
    return ScopeResult(scope.scope, scope.object_id, scope.default_effect, matched, effect, deciding, scope.name,
                       timeouts)


def evaluate(scopes: Sequence[Scope], request: Request) -> Decision:
    results = [evaluate_scope(s, request) for s in scopes]
    return Decision(all(r.effect == "allow" for r in results), results)

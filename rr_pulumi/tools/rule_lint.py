"""Rule lint: rules that can never change a decision, found without sending a request.

The findings follow the data plane's evaluation (`rr_pulumi.schema.rule_evaluation`): the rules of one object (a
proxy, a target or a credential) form one scope; within it any matching deny wins whatever the priorities, the highest
priority deny or allow decides, and no match falls back to the object's default effect. So:

- `shadowed`: a rule that decides nothing, because whenever it matches another rule of the same object that wins
  over it matches too (a deny over any allow; a rule of the same effect and a higher priority);
- `duplicate`: two rules of one object with the same effect, priority and criteria;
- `redundant-allow`: an allow rule on an object whose default effect is allow (a scope with no matching deny
  allows with or without it);
- `never-matches`: a pattern that cannot match any value (`a^`, `\\Zx`; `^$` on a path, which is never empty).

Every finding is proved, never guessed: "matches everything it matches" is claimed only when the winning rule's
criteria are a subset of the other's (its methods a superset or all, its path condition the same or one that
matches any path, its checks among the other's, with the same regex flags). Values unknown at preview are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from rr_pulumi.schema.rule_evaluation import Scope, presence, rule_id
# the data plane's own reading of a priority, so the order is its order
from rr_pulumi.schema.rule_evaluation import _priority
from rr_pulumi.schema.wire import contains_unknown

# Patterns that `search` finds at position 0 of any text, whatever the flags.
MATCH_ANY = {"", ".*", ".*?", "^", "^.*", "^.*?", r"\A", r"\A.*"}
CHECK_KINDS = ("headerChecks", "queryChecks", "bodyChecks", "tokenChecks")
SHADOWED, DUPLICATE, REDUNDANT_ALLOW, NEVER_MATCHES = "shadowed", "duplicate", "redundant-allow", "never-matches"


@dataclass(frozen=True)
class Finding:
    kind: str  # one of SHADOWED, DUPLICATE, REDUNDANT_ALLOW, NEVER_MATCHES
    rule: str  # the rule's key (its URN, or its id)
    parent: str  # the key of the object the rule belongs to
    message: str
    other: Optional[str] = None  # the rule that shadows or duplicates it

    def as_json(self, names: dict[str, str]) -> dict[str, Any]:
        return {"kind": self.kind, "rule": names.get(self.rule, self.rule), "ruleKey": self.rule,
                "parent": names.get(self.parent, self.parent), "other": names.get(self.other, self.other)
                if self.other else None, "message": self.message}


def _flags(rule: dict[str, Any]) -> str:
    return "".join(sorted(rule.get("regexFlags") or ""))


def _checks(rule: dict[str, Any], kind: str) -> list[tuple]:
    """Each check of a kind in one comparable form (its presence spelled one way: `must_exist` is `present`)."""
    def canonical(check: dict[str, Any]) -> tuple:
        fields = sorted((k, str(v)) for k, v in check.items() if v is not None and k != "presence")
        return (*fields, ("presence", presence(check.get("presence"))))

    return [canonical(c) for c in rule.get(kind) or []]


def _path(rule: dict[str, Any]) -> tuple[Optional[str], Optional[str]]:
    pattern, word = rule.get("pathPattern"), rule.get("pathPresence")
    return (pattern or None), (presence(word) if (pattern or word) else None)


def _criteria(rule: dict[str, Any]) -> tuple:
    methods = tuple(sorted({str(m).upper() for m in rule.get("methods") or []}))
    return (methods, _path(rule), tuple(tuple(sorted(_checks(rule, k))) for k in CHECK_KINDS),
            _flags(rule) if _has_patterns(rule) else "")


def _has_patterns(rule: dict[str, Any]) -> bool:
    return bool(rule.get("pathPattern")) or any(rule.get(k) for k in CHECK_KINDS)


def _path_any(rule: dict[str, Any]) -> bool:
    pattern, word = _path(rule)
    return word is None or (pattern in MATCH_ANY and word == "present")


def covers(wide: dict[str, Any], narrow: dict[str, Any]) -> bool:
    """Proved: every request `narrow` matches, `wide` matches too (False when it cannot be proved)."""
    wide_methods = {str(m).upper() for m in wide.get("methods") or []}
    narrow_methods = {str(m).upper() for m in narrow.get("methods") or []}
    if wide_methods and (not narrow_methods or not narrow_methods <= wide_methods):
        return False
    same_flags = _flags(wide) == _flags(narrow)
    if not _path_any(wide) and not (same_flags and _path(wide) == _path(narrow)):
        return False
    for kind in CHECK_KINDS:
        wide_checks, narrow_checks = _checks(wide, kind), _checks(narrow, kind)
        if wide_checks and not (same_flags and all(c in narrow_checks for c in wide_checks)):
            return False
    return True


def _wins_over(winner: dict[str, Any], loser: dict[str, Any]) -> bool:
    """Whether `winner` decides instead of `loser` whenever both match."""
    if winner.get("effect") == "deny" and loser.get("effect") == "allow":
        return True
    return winner.get("effect") == loser.get("effect") and _priority(winner) > _priority(loser)


# -- patterns that match nothing ------------------------------------------------------------------------------------

def _sre() -> tuple[Any, Any]:
    """The stdlib's own regex parser and its constants: `re._parser` from Python 3.11, `sre_parse` on 3.10."""
    try:
        from re import _constants, _parser  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10 (the oldest supported): the same modules under their old names
        import sre_constants as _constants
        import sre_parse as _parser
    return _parser, _constants


def _parse(pattern: str, flags: str) -> Any:
    parser, _ = _sre()
    value = 0
    for letter, name in (("i", "IGNORECASE"), ("m", "MULTILINE"), ("s", "DOTALL"), ("x", "VERBOSE")):
        if letter in flags:
            value |= getattr(re, name)
    return parser, parser.parse(pattern, value)


def never_matches(pattern: str, flags: str = "", non_empty: bool = False) -> Optional[str]:
    """Why `pattern` can match no text (None when it may match, or when that cannot be proved). `non_empty`: the
    values start with `/` (paths). Only the pattern's top level is read: an anchor after something that consumes
    a character, or an end anchor followed by one."""
    try:
        parser, parsed = _parse(pattern, flags)
    except Exception:  # noqa: BLE001 - not a pattern `re` reads: say nothing rather than guess
        return None
    _, sre = _sre()
    multiline = bool(parsed.state.flags & re.MULTILINE)
    items = list(parsed.data)
    widths = [parser.SubPattern(parsed.state, [item]).getwidth() for item in items]
    for index, (op, av) in enumerate(items):
        if op is not sre.AT:
            continue
        before = sum(w[0] for w in widths[:index])
        after = sum(w[0] for w in widths[index + 1:])
        if before and (av is sre.AT_BEGINNING_STRING or (av is sre.AT_BEGINNING and not multiline)):
            return "a start anchor (^ or \\A) comes after a character"
        if after and av is sre.AT_END_STRING:
            return "a character comes after the end anchor \\Z"
        if after >= 2 and av is sre.AT_END and not multiline:
            return "two or more characters come after the end anchor $"
    if non_empty and not multiline and sum(w[1] for w in widths) == 0:
        anchors = {av for op, av in items if op is sre.AT}
        if anchors & {sre.AT_BEGINNING, sre.AT_BEGINNING_STRING} and anchors & {sre.AT_END, sre.AT_END_STRING}:
            return "it matches only an empty value, and a path is never empty"
    return None


def _patterns(rule: dict[str, Any]) -> list[tuple[str, str, Optional[str], bool]]:
    """(where, pattern, presence, is a path) of every pattern of a rule."""
    found: list[tuple[str, str, Optional[str], bool]] = []
    if rule.get("pathPattern"):
        found.append(("path_pattern", rule["pathPattern"], presence(rule.get("pathPresence")), True))
    labels = ("header_checks", "query_checks", "body_checks", "token_checks")
    for kind, label in zip(CHECK_KINDS, labels, strict=True):
        for index, check in enumerate(rule.get(kind) or []):
            check_presence = presence(check.get("presence"))
            if check.get("namePattern"):
                found.append((f"{label}[{index}].name_pattern", check["namePattern"], check_presence, False))
            if check.get("valuePattern"):
                found.append((f"{label}[{index}].value_pattern", check["valuePattern"], check_presence, False))
    return found


# -- the lint -------------------------------------------------------------------------------------------------------

def lint_scope(scope: Scope, names: Optional[dict[str, str]] = None) -> list[Finding]:
    """The findings for the rules of one object (a Scope whose `scope` is its kind's word)."""
    names = names or {}
    label = scope.name or scope.object_id

    def name(rule: dict[str, Any]) -> str:
        key = rule_id(rule) or "?"
        return names.get(key, key)

    rules = [r for r in scope.rules if not contains_unknown(r)]
    findings: list[Finding] = []
    dead: set[int] = set()
    for index, rule in enumerate(rules):
        for where, pattern, word, is_path in _patterns(rule):
            why = never_matches(pattern, rule.get("regexFlags") or "", non_empty=is_path)
            if why is None:
                continue
            effect = ("so the rule never matches and never decides" if word == "present"
                      else "so this check (presence absent) always holds and restricts nothing")
            findings.append(Finding(NEVER_MATCHES, rule_id(rule) or "?", scope.object_id,
                                    f"rule {name(rule)} on {scope.scope} {label}: {where} {pattern!r} can never match "
                                    f"({why}), {effect}"))
            if word == "present":
                dead.add(index)
    criteria = [(_criteria(r), r.get("effect"), _priority(r)) for r in rules]  # once per rule, not per pair
    for index, rule in enumerate(rules):
        if index in dead:
            continue
        for other_index, other in enumerate(rules):
            if other_index == index or other_index in dead:
                continue
            if other_index < index and criteria[other_index] == criteria[index]:
                findings.append(Finding(DUPLICATE, rule_id(rule) or "?", scope.object_id,
                                        f"rule {name(rule)} on {scope.scope} {label} duplicates rule {name(other)}: "
                                        "same effect, priority, methods, path and checks", rule_id(other)))
                break
            if _wins_over(other, rule) and covers(other, rule):
                why = ("a matching deny wins over any allow, whatever the priority" if other.get("effect") != rule.get(
                    "effect") else f"it has the same effect and a higher priority ({other.get('priority')} > "
                    f"{rule.get('priority')})")
                findings.append(Finding(SHADOWED, rule_id(rule) or "?", scope.object_id,
                                        f"rule {name(rule)} on {scope.scope} {label} can never decide: rule "
                                        f"{name(other)} matches every request it matches and {why}", rule_id(other)))
                break
        else:
            if rule.get("effect") == "allow" and scope.default_effect == "allow":
                findings.append(Finding(REDUNDANT_ALLOW, rule_id(rule) or "?", scope.object_id,
                                        f"rule {name(rule)} allows on {scope.scope} {label}, whose default effect is "
                                        "already allow: without a matching deny the scope allows anyway, with one "
                                        "the deny wins, so this rule changes no decision"))
    return findings


def lint(scopes: list[Scope], names: Optional[dict[str, str]] = None) -> list[Finding]:
    """The findings for every object's rules, in the order of the objects and their rules."""
    return [finding for scope in scopes for finding in lint_scope(scope, names)]

"""`rr-pulumi rules diff`: which requests a change to the program would judge differently, before `pulumi up`.

    rr-pulumi rules diff --stack prod requests.jsonl              # the team's requests (JSON Lines)
    rr-pulumi rules diff --stack prod traffic.har records.json    # a browser's HAR, the emulator's records
    rr-pulumi rules diff --stack prod requests.jsonl --markdown   # the table for a pull-request comment

Each request is judged twice by the data plane's own evaluation (`rr_pulumi.schema.rule_evaluation`): with the rules as
deployed (the stack's state) and with the rules the program now declares (`pulumi preview --json`, applied to the
state). A request is listed when its decision changes: allowed → denied, denied → allowed, or decided by another
rule or scope. Rules are named by their Pulumi resource, so a rule replaced by `up` is still the same rule. A
request a value unknown at preview could decide, or a rule checking what its file does not hold (the emulator's
records keep no body), is listed as undetermined, never guessed. The rule lint (`rr_pulumi.tools.rule_lint`) of the
declared rules is printed after the diff. Nothing is sent anywhere and nothing changes.

Exit 0: no request changes; 1: some request changes; 2: could not check (or only undetermined requests).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from rr_pulumi.tools import rule_lint
from rr_pulumi.tools import stack_rules
from rr_pulumi.api.errors import RequestRocketError
from rr_pulumi.tools.request_files import RequestFileError, SampleRequest, read
from rr_pulumi.schema.rule_evaluation import evaluate
from rr_pulumi.tools.stack_rules import ProxyRules, name_of

NO_CHANGE, CHANGED, CANNOT_CHECK = 0, 1, 2
NEEDS = {"body": "bodyChecks", "claims": "tokenChecks"}  # a part a file may lack, and the checks that read it


class DiffError(RequestRocketError):
    """The stack, the preview or the request files cannot be read; the message says why."""


@dataclass(frozen=True)
class Verdict:
    """How one side judges a request: allowed, denied by a rule or a scope's default, or no such proxy."""

    outcome: str  # "allowed", "denied", "no proxy"
    scope: Optional[str] = None  # the deciding scope of a denial
    rule: Optional[str] = None  # the deciding rule's key (URN); None when a default effect denied
    allowed_by: tuple[str, ...] = ()  # the rules that decided each allowing scope (not its default)

    def text(self, names: dict[str, str]) -> str:
        if self.outcome == "no proxy":
            return "no such proxy (404)"
        if self.outcome == "allowed":
            rules = ", ".join(names.get(r, r) for r in self.allowed_by)
            return f"allowed (by {rules})" if rules else "allowed"
        if self.rule:
            return f"denied by rule {names.get(self.rule, self.rule)} ({self.scope} scope)"
        return f"denied by the {self.scope}'s default effect"

    def as_json(self, names: dict[str, str]) -> dict[str, Any]:
        return {"outcome": self.outcome, "scope": self.scope, "rule": names.get(self.rule, self.rule)
                if self.rule else None, "ruleUrn": self.rule, "allowedBy": [names.get(r, r) for r in self.allowed_by],
                "text": self.text(names)}


@dataclass
class Line:
    """One request of the diff: where it came from, the proxy, and each side's verdict (or why it is unknown)."""

    sample: SampleRequest
    proxy: Optional[str]  # the proxy's URN, when the request names one of the stack
    before: Optional[Verdict]
    after: Optional[Verdict]
    undetermined: Optional[str] = None

    @property
    def changed(self) -> bool:
        return self.undetermined is None and self.before != self.after


@dataclass
class Report:
    stack: Optional[str]
    lines: list[Line]
    findings: list[rule_lint.Finding]
    names: dict[str, str]
    skipped: int = 0  # recorded requests to proxies that are not this stack's

    @property
    def changed(self) -> list[Line]:
        return [line for line in self.lines if line.changed]

    @property
    def undetermined(self) -> list[Line]:
        return [line for line in self.lines if line.undetermined]

    @property
    def exit_code(self) -> int:
        return CHANGED if self.changed else CANNOT_CHECK if self.undetermined else NO_CHANGE


# -- judging ---------------------------------------------------------------------------------------------------------

def verdict(proxy: Optional[ProxyRules], sample: SampleRequest) -> Verdict:
    if proxy is None:
        return Verdict("no proxy")
    decision = evaluate(proxy.scopes, sample.request)
    if decision.allowed:
        return Verdict("allowed", allowed_by=tuple(s.deciding_rule_id for s in decision.scopes
                                                   if s.deciding_rule_id))
    deciding = decision.deciding
    return Verdict("denied", deciding.scope if deciding else None, decision.rule_id)


def _why_unknown(proxy: Optional[ProxyRules], sample: SampleRequest) -> Optional[str]:
    if proxy is None:
        return None
    for reasons in proxy.unknown.values():
        return reasons[0]
    for part in sorted(sample.unknown):
        for scope in proxy.scopes:
            for rule in scope.rules:
                if rule.get(NEEDS[part]):
                    return (f"rule {name_of(str(rule.get('sKey')))} checks the request's {part}, which "
                            f"{sample.source.split('#')[0].split(':')[0]} does not hold")
    return None


def _find(proxies: list[ProxyRules], ref: str) -> list[ProxyRules]:
    return ([p for p in proxies if p.urn == ref] or [p for p in proxies if p.name == ref]
            or [p for p in proxies if p.proxy_id == ref])


def judge(before: list[ProxyRules], after: list[ProxyRules], samples: list[SampleRequest]) -> tuple[list[Line], int]:
    """Each request judged by both rule sets (a proxy is the same proxy on both sides when its URN is); and how
    many recorded requests went to proxies that are not the stack's."""
    lines, skipped = [], 0
    old_by_urn, new_by_urn = {p.urn: p for p in before}, {p.urn: p for p in after}
    unchanged: dict[str, bool] = {}  # a proxy whose four scopes are the same on both sides is judged once
    for sample in samples:
        found = _find(before, sample.proxy) or _find(after, sample.proxy)
        urns = {p.urn for p in found}
        if not urns and sample.captured:
            skipped += 1
            continue
        if len(urns) != 1:
            reason = (f"proxy {sample.proxy!r} names {len(urns)} proxies of the stack: use its URN" if urns else
                      f"no proxy {sample.proxy!r} in the stack or the program (by name, URN or id)")
            lines.append(Line(sample, None, None, None, reason))
            continue
        urn = urns.pop()
        old, new = old_by_urn.get(urn), new_by_urn.get(urn)
        if urn not in unchanged:
            unchanged[urn] = old is not None and new is not None and old.scopes == new.scopes
        why = _why_unknown(old, sample) or _why_unknown(new, sample)
        if why and unchanged[urn]:
            # The same rules on both sides cannot change the decision, even one this file cannot tell (no body).
            lines.append(Line(sample, urn, None, None))
            continue
        if why:
            lines.append(Line(sample, urn, None, None, why))
            continue
        first = verdict(old, sample)
        lines.append(Line(sample, urn, first, first if unchanged[urn] else verdict(new, sample)))
    return lines, skipped


def names_of(*sides: list[stack_rules.Resource]) -> dict[str, str]:
    return {r.urn: r.name for side in sides for r in side}


def diff(state: list[dict[str, Any]], preview: dict[str, Any], samples: list[SampleRequest],
         stack: Optional[str] = None) -> Report:
    """The report for a stack's checkpoint resources and a `pulumi preview --json` document."""
    deployed = stack_rules.deployed(state)
    planned = stack_rules.planned(state, preview)
    lines, skipped = judge(stack_rules.proxies(deployed), stack_rules.proxies(planned), samples)
    names = names_of(deployed, planned)
    return Report(stack, lines, rule_lint.lint(stack_rules.parents(planned), names), names, skipped)


# -- rendering ------------------------------------------------------------------------------------------------------

def _proxy_name(line: Line) -> str:
    return name_of(line.proxy) if line.proxy else line.sample.proxy


def render(report: Report) -> str:
    names = report.names
    out = [f"rules diff{' of stack ' + report.stack if report.stack else ''}: {len(report.lines)} request(s) "
           f"checked, {len(report.changed)} change, {len(report.undetermined)} undetermined"
           + (f"; {report.skipped} recorded request(s) to proxies of other stacks skipped" if report.skipped else ""),
           ""]
    for line in report.changed:
        assert line.before and line.after
        out += [f"  {_proxy_name(line)}  {line.sample.request.method} {line.sample.request.path}  "
                f"({line.sample.source}{': ' + line.sample.name if line.sample.name else ''})",
                f"      before: {line.before.text(names)}", f"      after:  {line.after.text(names)}"]
    for line in report.undetermined:
        out.append(f"  ? {_proxy_name(line)}  {line.sample.request.method} {line.sample.request.path}  "
                   f"({line.sample.source}): undetermined: {line.undetermined}")
    if not report.changed and not report.undetermined:
        out.append("  no request changes decision")
    out += ["", f"rule lint: {len(report.findings)} finding(s)"]
    out += [f"  {f.kind}: {f.message}" for f in report.findings]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "'")


def render_markdown(report: Report) -> str:
    """The pull-request comment's section: the table of changed requests and the lint findings."""
    names = report.names
    out = [f"#### Requests whose decision changes: {len(report.changed)} of {len(report.lines)}", ""]
    if report.changed:
        out += ["| Proxy | Request | Before | After | Source |", "|---|---|---|---|---|"]
        for line in report.changed:
            assert line.before and line.after
            request = f"{line.sample.request.method} {line.sample.request.path}"
            out.append(f"| {_cell(_proxy_name(line))} | `{_cell(request)}` | {_cell(line.before.text(names))} | "
                       f"**{_cell(line.after.text(names))}** | {_cell(line.sample.source)} |")
    else:
        out.append("No request changes decision.")
    if report.undetermined:
        out += ["", f"{len(report.undetermined)} request(s) undetermined (a value unknown until `pulumi up`, or a "
                "part the file does not hold):", ""]
        out += [f"- `{_cell(line.sample.request.method + ' ' + line.sample.request.path)}` on "
                f"{_cell(_proxy_name(line))}: {_cell(line.undetermined or '')}" for line in report.undetermined]
    out += ["", f"#### Rule lint: {len(report.findings)} finding(s)", ""]
    out += [f"- **{f.kind}**: {_cell(f.message)}" for f in report.findings] or ["No finding."]
    return "\n".join(out) + "\n"


def as_json(report: Report) -> dict[str, Any]:
    names = report.names

    def line_json(line: Line) -> dict[str, Any]:
        r = line.sample.request
        return {"source": line.sample.source, "name": line.sample.name, "proxy": _proxy_name(line),
                "proxyUrn": line.proxy, "method": r.method, "path": r.path,
                "before": line.before.as_json(names) if line.before else None,
                "after": line.after.as_json(names) if line.after else None,
                **({"undetermined": line.undetermined} if line.undetermined else {})}

    return {"stack": report.stack, "checked": len(report.lines), "skipped": report.skipped,
            "changed": [line_json(x) for x in report.changed],
            "undetermined": [line_json(x) for x in report.undetermined],
            "lint": [f.as_json(names) for f in report.findings]}


# -- the command ----------------------------------------------------------------------------------------------------

def _preview(args: argparse.Namespace) -> dict[str, Any]:
    if args.preview_json:
        try:
            document = json.loads(Path(args.preview_json).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DiffError(f"--preview-json {args.preview_json}: cannot read a JSON document ({exc})") from None
        if not isinstance(document, dict) or not isinstance(document.get("steps") or [], list):
            raise DiffError(f"--preview-json {args.preview_json}: not what `pulumi preview --json` prints (an "
                            "object with a list of steps)")
        return document
    from rr_pulumi.tools.pulumi_cli import Pulumi, PulumiFailed

    try:
        return Pulumi(Path(args.cwd), args.stack).json("preview", "--json", *(["--refresh"] if args.refresh else []))
    except PulumiFailed as exc:
        raise DiffError(f"pulumi preview: {exc}") from None


def _cannot_check(exc: Exception, as_json: bool) -> int:
    """One line on stderr (and `{"error"}` on stdout with --json): CI reads the exit code, a person the reason."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if as_json:
        print(json.dumps({"error": reason}))
    print(f"COULD NOT CHECK: {reason}", file=sys.stderr)
    return CANNOT_CHECK


def run(args: argparse.Namespace) -> int:
    from rr_pulumi.tools.explain import ExplainError, stack_resources

    try:
        samples = [sample for path in args.requests for sample in read(Path(path))]
        state = stack_resources(Path(args.cwd), args.stack)
        report = diff(state, _preview(args), samples, args.stack)
    except (RequestFileError, DiffError, ExplainError) as exc:
        return _cannot_check(exc, args.json)
    except Exception as exc:  # noqa: BLE001 - exit 1 means "requests flip": anything unforeseen must be exit 2
        return _cannot_check(RuntimeError(f"{type(exc).__name__}: {exc}"), args.json)
    if args.json:
        print(json.dumps(as_json(report), indent=2))
    else:
        print(render_markdown(report) if args.markdown else render(report), end="")
    if report.exit_code == CANNOT_CHECK:  # like every exit 2, with its reason on stderr (what CI shows)
        first = report.undetermined[0]
        print(f"COULD NOT CHECK: {len(report.undetermined)} request(s) undetermined, none changes; the first "
              f"({first.sample.source}): {first.undetermined}", file=sys.stderr)
    return report.exit_code


def run_lint(args: argparse.Namespace) -> int:
    """`rr-pulumi rules lint`: the findings for the declared rules (or, with --deployed, the deployed ones)."""
    from rr_pulumi.tools.explain import ExplainError, stack_resources

    try:
        state = stack_resources(Path(args.cwd), args.stack)
        resources = stack_rules.deployed(state) if args.deployed else stack_rules.planned(state, _preview(args))
        names = names_of(resources)
        findings = rule_lint.lint(stack_rules.parents(resources), names)
    except (DiffError, ExplainError) as exc:
        return _cannot_check(exc, args.json)
    except Exception as exc:  # noqa: BLE001 - exit 1 means "findings": anything unforeseen must be exit 2
        return _cannot_check(RuntimeError(f"{type(exc).__name__}: {exc}"), args.json)
    if args.json:
        print(json.dumps({"stack": args.stack, "lint": [f.as_json(names) for f in findings]}, indent=2))
    else:
        print("\n".join([f"rule lint: {len(findings)} finding(s)", *(f"  {f.kind}: {f.message}" for f in findings)]))
    return CHANGED if findings else NO_CHANGE


def _stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cwd", default=".", help="the Pulumi project folder (default: .)")
    parser.add_argument("--stack", help="the stack (default: the selected one)")
    parser.add_argument("--refresh", action="store_true", help="run the preview with --refresh")
    parser.add_argument("--preview-json", metavar="FILE", help="read a saved `pulumi preview --json` instead of "
                        "running one")


def add_parsers(rules: Any) -> None:
    """`rr-pulumi rules diff|lint ...` on the `rules` sub-commands (explain.add_parser makes them)."""
    add_diff_arguments(rules.add_parser(
        "diff", help="the requests whose decision the program's change flips (deployed rules vs a preview); sends "
        "nothing; exit 0 none, 1 some, 2 could not check"))
    add_lint_arguments(rules.add_parser(
        "lint", help="rules that can never change a decision (shadowed, duplicate, redundant allow, a pattern that "
        "matches nothing); exit 0 none, 1 findings, 2 could not check"))


def add_diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("requests", nargs="*", help="request files: JSON Lines, the emulator's records, or a HAR "
                        "(none: the rule lint alone)")
    _stack_arguments(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object")
    output.add_argument("--markdown", action="store_true", help="print Markdown for a pull-request comment")
    parser.set_defaults(run=run)


def add_lint_arguments(parser: argparse.ArgumentParser) -> None:
    _stack_arguments(parser)
    parser.add_argument("--deployed", action="store_true", help="lint the rules as deployed (the state) instead of "
                        "as the program declares them (a preview)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_lint)

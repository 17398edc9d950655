"""Turn `pulumi preview --diff` output into a pull-request comment (Markdown) for the GitOps workflow.

    python preview_comment.py preview.txt EXIT_CODE STACK > comment.md
    python preview_comment.py --rules rules-diff.md EXIT_CODE >> comment.md

The comment starts with a hidden marker so the workflow edits its previous comment instead of adding one per push.
Pulumi prints `[secret]` for every secret value, so the text can be posted as it is.

`--rules` appends the rule review: what `rr-pulumi rules diff --markdown` printed (the requests whose decision the
change flips, and the rule lint; its exit code 0 none flips, 1 some flip, 2 could not check, when the file holds
the reason).
"""

from __future__ import annotations

import re
import sys

MARKER = "<!-- rr-pulumi-preview -->"
LIMIT = 60000  # GitHub refuses comments above 65536 characters
RULES_LIMIT = 20000  # of those, for the rule review appended under the preview
PREVIEW_LIMIT = LIMIT - RULES_LIMIT  # the preview's share: both sections together stay under the limit


def summary(text: str) -> str:
    """The `Resources:` block at the end of a preview (what will be created, updated, replaced, deleted)."""
    match = re.search(r"^Resources:\n((?:    .*\n?)+)", text, re.M)
    return match.group(1).rstrip() if match else "(no summary: the preview failed)"


def comment(text: str, code: int, stack: str) -> str:
    status = "succeeded" if code == 0 else f"FAILED (exit {code})"
    body = text if len(text) <= PREVIEW_LIMIT else text[:PREVIEW_LIMIT] + "\n... (truncated: see the job log)"
    return "\n".join([
        MARKER,
        f"### `pulumi preview --diff` on stack `{stack}`: {status}",
        "",
        "```",
        summary(text),
        "```",
        "",
        "<details><summary>Property-level changes</summary>",
        "",
        "```diff",
        body.rstrip(),
        "```",
        "</details>",
        "",
    ])


def rules_section(text: str, code: int) -> str:
    """The rule review under the preview: the table of flipped requests and the lint findings, or why it failed."""
    if code in (0, 1):
        title = "no request changes decision" if code == 0 else "some requests change decision"
        body = text if len(text) <= RULES_LIMIT else text[:RULES_LIMIT] + "\n... (truncated: see the job log)"
        return "\n".join(["", f"### Rule review (`rr-pulumi rules diff`): {title}", "", body.rstrip(), ""])
    reason = text.strip()[-2000:] or "no output"
    return "\n".join(["", f"### Rule review (`rr-pulumi rules diff`): could not check (exit {code})", "", "```",
                      reason, "```", ""])


def main(argv: list[str]) -> int:
    if argv[1] == "--rules":
        with open(argv[2], encoding="utf-8") as handle:
            sys.stdout.write(rules_section(handle.read(), int(argv[3])))
        return 0
    path, code, stack = argv[1], int(argv[2]), argv[3]
    with open(path, encoding="utf-8") as handle:
        sys.stdout.write(comment(handle.read(), code, stack))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

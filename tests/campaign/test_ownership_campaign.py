"""The ownership campaign (issue 22): three projects with two stacks each on one emulator account, sharing clients,
with the same names in every stack, lookups of each other's objects by literal id, 5xx injected before and after
POSTs apply, and a killed `up` recovered with the README's line. See benchmarks/ownership_campaign.py, which runs
it and prints the figures (`python benchmarks/ownership_campaign.py`).

Afterwards: every object is managed by exactly the stack that created it (`rr-pulumi inventory`), no stack wrote
to or deleted an object it did not create (the emulator's request log), every `pulumi preview --expect-no-changes`
passes and every `rr-pulumi drift` exits 0.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from ownership_campaign import Campaign, campaign, render  # noqa: E402


def entry(method, path, status=200, fault=None, created=None):
    return {"method": method, "path": path, "status": status, "fault": fault, "created": created}


def test_the_audit_counts_committed_writes_to_objects_another_stack_created_and_nothing_else(tmp_path):
    audit = Campaign(tmp_path, seed=1)
    audit._account_for("a", entry("POST", "/api/clients", 201, created="c1"))
    audit._account_for("a", entry("POST", "/api/clients/c1/targets", None, fault="err500"))  # nothing made
    audit._account_for("a", entry("POST", "/api/clients/c1/targets", 201, fault="drop_after", created="t-a"))
    audit._account_for("b", entry("POST", "/api/clients/c1/targets", 201, created="t-b"))  # under a's client: fine
    audit._account_for("b", entry("POST", "/api/clients/c1/targets/t-a/rules", 201, created="r-b"))  # fine too
    audit._account_for("b", entry("PUT", "/api/clients/c1/targets/t-b"))  # its own
    audit._account_for("b", entry("DELETE", "/api/clients/c1/targets/t-b/rules/r-b"))  # its own
    audit._account_for("b", entry("PUT", "/api/clients/c1/targets/t-a", None, fault="err500"))  # refused
    audit._account_for("b", entry("DELETE", "/api/clients/c1/targets/t-a", 404))  # rejected: nothing changed
    assert audit.figures.foreign_writes == []
    audit._account_for("b", entry("PUT", "/api/clients/c1/targets/t-a", 200, fault="drop_after"))  # committed
    audit._account_for("a", entry("DELETE", "/api/clients/c1/targets/t-b/rules/r-b"))
    audit._account_for("a", entry("DELETE", "/api/clients/c9"))
    assert audit.figures.foreign_writes == [
        "b PUT /api/clients/c1/targets/t-a (created by a)",
        "a DELETE /api/clients/c1/targets/t-b/rules/r-b (created by b)",
        "a DELETE /api/clients/c9 (created by nobody known)",
    ]
    assert audit.creator == {"c1": "a", "t-a": "a", "t-b": "b", "r-b": "b"}
    audit.figures.foreign_writes.clear()
    audit._account_for("a", entry("DELETE", "/api/clients/c1/targets/t-a"))  # its own, with b's rule r-b under it
    assert audit.figures.foreign_writes == []  # r-b was deleted already
    audit._account_for("b", entry("POST", "/api/clients/c1/credentials", 201, created="k-b"))
    audit._account_for("a", entry("DELETE", "/api/clients/c1", 200, fault="drop_after"))  # cascades to b's t-b, k-b
    assert audit.figures.foreign_writes == [
        "a DELETE /api/clients/c1 also deleted k-b (created by b)",
        "a DELETE /api/clients/c1 also deleted t-b (created by b)",
    ]
    assert (audit.figures.injected, audit.figures.injected_on_post) == ({"err500": 2, "drop_after": 3},
                                                                         {"err500": 1, "drop_after": 1})


def test_every_stack_owns_exactly_what_it_created_under_faults_and_a_killed_up(tmp_path):
    figures = campaign(tmp_path, seed=1)
    print(render(figures))
    # The campaign proves something only if both kinds of ambiguous POST happened and the kill landed.
    assert figures.injected_on_post.get("err500", 0) >= 1, "no 5xx before a POST applied"
    assert figures.injected_on_post.get("drop_after", 0) >= 1, "no POST lost its answer after it applied"
    assert figures.kills == 1 and figures.recovery_exit == 0, render(figures)
    assert figures.unconverged == [], render(figures)

    assert figures.foreign_writes == [], render(figures)
    assert figures.ownership_mismatches == [] and figures.inventory_exit == 0, render(figures)
    assert figures.preview_failures == [], render(figures)
    assert figures.drift_failures == [], render(figures)
    assert figures.destroy_failures == [] and figures.left_in_account == 0, render(figures)

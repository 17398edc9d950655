"""The fault campaign in its short form: one seeded run of the root stack and a one-client generated stack through
up, update and destroy under 429s, 500s, dropped-after-commit connections and jittered latency.
`python benchmarks/campaign.py` runs the full campaign (20 runs, three clients)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from campaign import campaign, summary  # noqa: E402


def test_short_campaign_converges_with_no_orphan_and_no_duplicate():
    figures = summary(campaign(runs=1, clients=1, parallel=1, first_seed=101))
    assert figures["faults_injected"] > 0, "no fault injected: the run would prove nothing"
    assert (figures["orphans"], figures["duplicates"], figures["secret_hits"], figures["failed_runs"]) == (0, 0, 0, 0), figures
    assert figures["converged_within_two_ups"] == 1, figures

"""The pattern compile worker: answers per pattern, refuses a rule over its budget, and recovers after a kill."""
from __future__ import annotations

import re

import pytest

from rr_pulumi.emulator.patterns import PatternCompiler

SLOW = ("[\u0100-\U0010ffff]" * 198, re.I)   # about a second of compiling


@pytest.fixture
def compiler():
    c = PatternCompiler(budget=0.3)
    yield c
    c.close()


def test_each_pattern_gets_its_own_answer(compiler):
    answers = compiler.check([("^/v1/", 0), ("(", 0), ("a{2,1}", 0), ("^x$", re.I)])
    assert answers[("^/v1/", 0)] is None and answers[("^x$", re.I)] is None
    assert answers[("(", 0)].startswith("must be a valid regular expression (missing ), unterminated subpattern")
    assert "a{2,1}" not in answers[("a{2,1}", 0)] and answers[("a{2,1}", 0)].startswith("must be a valid")


def test_a_rule_over_budget_is_refused_and_the_next_one_gets_a_fresh_worker(compiler):
    answers = compiler.check([("^ok$", 0), SLOW, SLOW[:1] + (0,)])
    assert set(answers.values()) == {"the rule's patterns take more than 0.3 s to compile; use simpler patterns"}
    assert compiler.check([("^still-works$", 0)]) == {("^still-works$", 0): None}


def test_idle_workers_are_reused_and_closed(compiler):
    compiler.check([("a", 0)])
    [worker] = compiler._idle
    compiler.check([("b", 0)])
    assert compiler._idle == [worker] and worker.alive()
    compiler.close()
    assert not worker.alive() and compiler._idle == []

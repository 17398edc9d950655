"""The pull-request comment the generated workflow posts stays under GitHub's size limit with both its sections."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "rr_pulumi" / "templates" / "github" / "scripts" / "preview_comment.py"
GITHUB_COMMENT_MAX = 65536


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("preview_comment", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("rules_code", [0, 1, 2])
def test_a_long_preview_and_a_long_rule_review_together_fit_in_one_comment(script, rules_code):
    preview = "Previewing update (dev)\n" + "    ~ rule: path_pattern changed\n" * 5000 + "Resources:\n    12 to update\n"
    review = "| request | before | after |\n" + "| GET /v1/x | allow | deny |\n" * 5000
    body = script.comment(preview, 0, "dev") + script.rules_section(review, rules_code)
    assert len(body) <= GITHUB_COMMENT_MAX
    assert "truncated: see the job log" in body and body.startswith(script.MARKER)

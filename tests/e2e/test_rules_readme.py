"""The README's "Test your rules" example, run as a user would: on the project `rr-pulumi new` writes, with pytest
and rr-pulumi's plugin (the test's own virtualenv stands in for the project's, which has rr-pulumi[emulator] and
pytest once they are in its requirements.txt)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from rr_pulumi.tools import scaffold

README = Path(__file__).resolve().parents[2] / "README.md"


def rules_test_example() -> str:
    section = README.read_text().split("\n## Test your rules\n", 1)[1].split("\n## ", 1)[0]
    first = re.search(r"```python\n(.*?)```", section, re.S)
    assert first, 'README.md: "Test your rules" has no python block'
    return first.group(1)


def test_the_readme_rules_test_passes_on_a_new_project(tmp_path, engine_bin):
    project = tmp_path / "acme"
    scaffold.create(project, emulator=scaffold.EMULATOR_URL, requirement_line="rr-pulumi[emulator]\npytest")
    (project / "tests").mkdir()
    (project / "tests" / "test_rules.py").write_text(rules_test_example())
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                             "tests"], cwd=project, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout

"""docs/resources.md is exactly what the schemas say (regenerate with `python scripts/resource_docs.py`)."""

import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "resource_docs.py"


def test_resource_docs_match_the_schema():
    generator = runpy.run_path(str(SCRIPT))
    assert generator["DOC"].read_text() == generator["render"](), "run `python scripts/resource_docs.py`"

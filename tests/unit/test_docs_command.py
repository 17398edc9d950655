"""`rr-pulumi docs`: every page of docs/ ships in the package and prints offline; the README (also the package's
long description, where a relative link would break) links to pages of this repository that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rr_pulumi.tools import cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_list_names_every_page_of_the_repository(capsys):
    assert cli.main(["docs"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert listed == ["readme", *sorted(p.stem for p in (ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("name", ["emulator", "docs/resources.md", "reliability.md"])
def test_a_page_prints_as_it_is(capsys, name):
    assert cli.main(["docs", name]) == 0
    stem = name.removeprefix("docs/").removesuffix(".md")
    assert capsys.readouterr().out == (ROOT / "docs" / f"{stem}.md").read_text()


def test_the_readme_prints_too(capsys):
    assert cli.main(["docs", "readme"]) == 0
    assert capsys.readouterr().out.strip() == (ROOT / "README.md").read_text().strip()


def test_an_unknown_page_names_the_pages(capsys):
    assert cli.main(["docs", "nope"]) == 2
    assert capsys.readouterr().err.startswith(
        "rr-pulumi docs: no page named 'nope'; pages: readme, architecture, drift-adopt-export")


def test_the_package_ships_the_docs_folder():
    """rr_pulumi/docs is a link to ../docs, and pyproject's package data takes its pages into the wheel."""
    assert (ROOT / "rr_pulumi" / "docs").resolve() == (ROOT / "docs").resolve()
    assert '"docs/*.md"' in (ROOT / "pyproject.toml").read_text()


def test_the_readme_links_to_pages_that_exist():
    readme = (ROOT / "README.md").read_text()
    assert not re.search(r"\]\((?!https?://|#)", readme)
    targets = re.findall(r"\]\(https://github\.com/requestrocket/rr-pulumi/blob/main/([^)#]+)", readme)
    assert len(targets) >= 10
    for target in targets:
        assert (ROOT / target).exists(), target

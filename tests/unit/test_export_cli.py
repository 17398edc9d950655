"""`rr-pulumi export` as a user runs it: the requirement it writes, and folders it must not write over."""

import pytest

from rr_pulumi import installation
from rr_pulumi.tools import pulumi_cli
from rr_pulumi.tools import scaffold
from rr_pulumi.tools.cli import main
from rr_pulumi.api.client import RequestRocketClient

from .fake_api import TOKEN, FakeApi
from .test_scaffold import GIT, WHEEL, FakeDistribution

PINNED = "rr-pulumi @ git+https://git.example.com/platform/rr-pulumi@v0.1.0"


@pytest.fixture
def api(monkeypatch):
    """Two clients behind the CLI's API client."""
    api = FakeApi()
    for name in ("Acme Payments", "Beta"):
        api.put("/api/clients", {"clientName": name})
    monkeypatch.setattr(pulumi_cli, "api_client", lambda settings: RequestRocketClient(settings.api_url, TOKEN,
                                                                                        transport=api))
    monkeypatch.setenv("REQUESTROCKET_TOKEN", TOKEN)
    return api


def installed_from(monkeypatch, direct_url):
    monkeypatch.setattr(installation.metadata, "distribution", lambda name: FakeDistribution(direct_url))


def export(*args: str) -> int:
    return main(["export", "--api-url", "http://api.test", *args])


def client_id(api: FakeApi, name: str) -> str:
    return next(c["sKey"] for c in api.collections["/api/clients"].values() if c["clientName"] == name)


def test_requirements_name_rr_pulumi_as_new_does_and_requirement_overrides_it(api, monkeypatch, tmp_path, capsys):
    installed_from(monkeypatch, GIT)
    assert export("--client-id", client_id(api, "Beta"), "--out", str(tmp_path / "a")) == 0
    assert (tmp_path / "a" / "requirements.txt").read_text() == scaffold.requirements_txt(
        "rr-pulumi @ git+https://github.com/requestrocket/rr-pulumi@abc123")
    assert export("--all", "--out", str(tmp_path / "b"), "--requirement", PINNED) == 0
    for folder in ("acme-payments", "beta"):
        assert (tmp_path / "b" / folder / "requirements.txt").read_text().splitlines()[-1] == PINNED
    assert capsys.readouterr().err == ""  # installable anywhere: no warning


def test_a_wheel_on_this_machine_is_written_with_a_warning_naming_requirement(api, monkeypatch, tmp_path, capsys):
    installed_from(monkeypatch, WHEEL)
    assert export("--client-id", client_id(api, "Beta"), "--out", str(tmp_path / "a")) == 0
    assert (tmp_path / "a" / "requirements.txt").read_text().splitlines()[-1] == f"rr-pulumi @ {WHEEL['url']}"
    [warning] = capsys.readouterr().err.splitlines()
    assert warning.startswith(f"rr-pulumi export: warning: requirements.txt installs rr-pulumi from {WHEEL['url']}, "
                              "which only this machine has: ")
    assert "--requirement SPEC" in warning


def test_a_folder_holding_files_is_refused_unless_force(api, tmp_path, capsys):
    out, cid = tmp_path / "infra", client_id(api, "Beta")
    assert export("--client-id", cid, "--out", str(out), "--requirement", PINNED) == 0
    (out / "__main__.py").write_text("# my edits\n")
    (out / "requirements.txt").write_text("rr-pulumi @ file:///mine.whl\n")
    capsys.readouterr()

    assert export("--client-id", cid, "--out", str(out), "--requirement", PINNED) == 2
    assert capsys.readouterr() == ("", f"rr-pulumi export: {out} is not empty (.gitignore, Pulumi.yaml, README.md, "
                                       "__main__.py, requirements.txt, ...); choose an empty or new folder, or pass "
                                       "--force to write the project's files over it (other files are left as they "
                                       "are)\n")
    assert (out / "__main__.py").read_text() == "# my edits\n"  # nothing written
    assert (out / "requirements.txt").read_text() == "rr-pulumi @ file:///mine.whl\n"

    (out / "notes.md").write_text("mine")
    assert export("--client-id", cid, "--out", str(out), "--requirement", PINNED, "--force") == 0
    assert "Client(" in (out / "__main__.py").read_text()
    assert (out / "requirements.txt").read_text().splitlines()[-1] == PINNED
    assert (out / "notes.md").read_text() == "mine"  # other files are left as they are


def test_all_refuses_before_writing_any_client_when_one_client_s_folder_holds_files(api, tmp_path, capsys):
    out = tmp_path / "infra"
    (out / "beta").mkdir(parents=True)
    (out / "beta" / "__main__.py").write_text("# my edits\n")
    (out / "terraform").mkdir()  # other things beside the client folders are fine
    assert export("--all", "--out", str(out), "--requirement", PINNED) == 2
    assert capsys.readouterr().err == (f"rr-pulumi export: {out / 'beta'} is not empty (__main__.py); choose an empty "
                                       "or new folder, or pass --force to write the project's files over it (other "
                                       "files are left as they are)\n")
    assert sorted(p.name for p in out.iterdir()) == ["beta", "terraform"]  # acme-payments was not written either
    assert export("--all", "--out", str(out), "--requirement", PINNED, "--force") == 0
    assert "Client(" in (out / "beta" / "__main__.py").read_text() and (out / "acme-payments" / "Pulumi.yaml").exists()


def test_a_file_where_the_folder_should_be_is_refused_even_with_force(api, tmp_path, capsys):
    (tmp_path / "infra").write_text("a file")
    assert export("--client-id", client_id(api, "Beta"), "--out", str(tmp_path / "infra"), "--force") == 2
    assert capsys.readouterr().err == f"rr-pulumi export: {tmp_path / 'infra'} exists and is not a folder\n"

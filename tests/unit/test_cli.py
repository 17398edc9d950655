"""`rr-pulumi --help` and `--version` exit 0; every subcommand is listed."""

import pytest

from rr_pulumi.tools.cli import main, version


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["drift", "--help"], ["export", "--help"],
                                  ["recover", "--help"]])
def test_help_and_version_exit_0(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert (f"rr-pulumi {version()}" in out) if argv == ["--version"] else out.startswith("usage: rr-pulumi")


def test_export_needs_one_of_client_id_or_all(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export"])
    assert exit_.value.code == 2 and "one of the arguments --client-id --all is required" in capsys.readouterr().err

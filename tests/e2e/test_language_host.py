"""What users run against rr-pulumi's language host: a missing virtualenv is explained with its fix, and
`pulumi install` creates the virtualenv named in Pulumi.yaml and installs requirements.txt into it."""

from __future__ import annotations

PROGRAM = "import pulumi\npulumi.export('answer', 42)\n"


def _relative_virtualenv(stack) -> None:
    (stack.project_dir / "Pulumi.yaml").write_text(
        "name: e2e\nruntime:\n  name: python\n  options:\n    virtualenv: venv\n")


def test_missing_virtualenv_names_the_fix_then_pulumi_install_creates_it(our_engine, make_stack):
    stack = make_stack(PROGRAM)
    _relative_virtualenv(stack)
    venv = stack.project_dir / "venv"

    preview = stack.preview(check=False)
    assert preview.code != 0
    assert f'the virtualenv "venv" named in Pulumi.yaml ({venv}) does not exist; run `pulumi install`' in preview.output
    assert "no such file" not in preview.output

    (stack.project_dir / "requirements.txt").write_text("# nothing beyond the standard library\n")
    install = stack.run("install", check=False)
    assert install.code == 0, install.output
    assert "not implemented" not in install.output
    assert (venv / "bin" / "python").exists()

    about = stack.run("about", check=False)
    assert f"executable='{venv / 'bin' / 'python'}'" in about.output, about.output
    assert "does not exist" not in about.output

    # The new virtualenv has no Pulumi SDK yet: the program says what to install, not a traceback of the host.
    missing_sdk = stack.preview(check=False)
    assert missing_sdk.code != 0 and "The Pulumi SDK is not installed" in missing_sdk.output

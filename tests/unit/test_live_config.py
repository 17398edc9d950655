"""The token renewal reads the stack the `pulumi` CLI runs, however it was chosen, or nothing at all."""

import os
import sys

import pytest

from rr_pulumi.provider import live_config
from rr_pulumi.provider.live_config import PulumiInvocation, UncertainCommandLine, config_get_command, parse_flags


def stack_of(*argv, environ=None):
    """The --stack the `config get` is given for `pulumi ARGV` (None: the selected stack)."""
    command, _, _ = config_get_command(PulumiInvocation("/bin/pulumi", ("pulumi", *argv), "/p", environ or {}),
                                       "requestrocket:token")
    return command[command.index("--stack") + 1] if "--stack" in command else None


@pytest.mark.parametrize("argv", [
    ("up", "-s", "prod"), ("up", "-sprod"), ("up", "-s=prod"), ("up", "--stack", "prod"), ("up", "--stack=prod"),
    ("up", "--yes", "-ys", "prod"), ("up", "-ysprod"), ("up", "-fys=prod"), ("-C", "sub", "up", "-sprod"),
    ("preview", "--stack", "dev", "--stack", "prod"),  # pflag: the last one wins
    ("refresh", "-r", "--yes", "-sprod"), ("preview", "--refresh", "-sprod"), ("preview", "-rsprod"),
    ("destroy", "--message", "-sdev", "-sprod"),  # -sdev is the message
    ("up", "-m", "--stack=dev", "--stack=prod"), ("up", "-p", "4", "-v=9", "-sprod", "--", "-sdev"),
    ("import", "-f", "-sdev", "-sprod"),  # import's -f is --file and takes -sdev
    ("up", "--color", "never", "--non-interactive", "--skip-preview", "--stack", "prod"),
    ("up", "--suppress-permalink", "-sprod"), ("pre", "-Qsprod"), ("dn", "-j", "-sprod"),
    ("up", "--yes", "--stack", "org/proj/prod"),
])
def test_every_pflag_form_of_the_stack_flag(argv):
    assert stack_of(*argv) in ("prod", "org/proj/prod")


def test_the_environment_chooses_the_stack_as_the_cli_does():
    # PULUMI_STACK replaces the selected stack; PULUMI_OPTION_STACK is --stack; the command line wins over both.
    assert stack_of("up", environ={"PULUMI_STACK": "prod"}) == "prod"
    assert stack_of("up", environ={"PULUMI_STACK": "dev", "PULUMI_OPTION_STACK": "prod"}) == "prod"
    assert stack_of("up", "-sprod", environ={"PULUMI_STACK": "dev", "PULUMI_OPTION_STACK": "dev"}) == "prod"
    assert stack_of("up", "--yes") is None  # the selected stack: `config get` in the same folder reads it too


@pytest.mark.parametrize("argv, environ", [
    (("up", "--unknown-flag"), {}), (("up", "-Z"), {}), (("up", "-s"), {}), (("up", "--stack"), {}),
    (("stack", "export"), {}), ((), {}), (("up",), {"PULUMI_STACK": ""}), (("up", "--stack="), {}),
    (("up",), {"PULUMI_OPTION_STACK": " "}),
])
def test_a_command_line_it_cannot_read_for_sure_means_no_renewal(argv, environ):
    with pytest.raises(UncertainCommandLine):
        stack_of(*argv, environ=environ)
    with pytest.raises(live_config.Unreadable):
        live_config.current_value("requestrocket:token",
                                  invocation=PulumiInvocation("/bin/pulumi", ("pulumi", *argv), "/p", environ))


def test_the_config_get_command_reads_one_key_in_the_clis_folder():
    environ = {"PULUMI_OPTION_CWD": "sub", "PULUMI_OPTION_CONFIG_FILE": "c.yaml", "HOME": "/h"}
    command, folder, env = config_get_command(
        PulumiInvocation("/bin/pulumi", ("pulumi", "-C", "sub", "refresh", "-sprod"), "/p/sub", environ),
        "requestrocket:profiles.acme.token", path=True)
    assert command == ["/bin/pulumi", "config", "get", "requestrocket:profiles.acme.token", "--json",
                       "--non-interactive", "--path", "--stack", "prod", "--config-file", "c.yaml"]
    # The CLI has changed into --cwd already: its working directory is the folder, and -C is not applied twice.
    assert folder == "/p/sub" and "PULUMI_OPTION_CWD" not in env and env["HOME"] == "/h"
    assert parse_flags(("pulumi", "up", "--config-file=d.yaml"))["config-file"] == "d.yaml"


def fake_pulumi(tmp_path, stdout, stderr="", code=0):
    script = tmp_path / "pulumi"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write({stdout!r})\nsys.stderr.write({stderr!r})\n"
                      f"open({str(tmp_path / 'argv')!r}, 'w').write(repr(sys.argv[1:]))\nsys.exit({code})\n")
    script.chmod(0o755)
    return PulumiInvocation(str(script), ("pulumi", "up", "-sprod"), str(tmp_path), dict(os.environ))


def test_only_the_one_value_is_read(tmp_path):
    invocation = fake_pulumi(tmp_path, '{"value": "u-new", "secret": true}')
    assert live_config.current_value("requestrocket:token", invocation=invocation) == "u-new"
    assert "'--stack', 'prod'" in (tmp_path / "argv").read_text()
    unset = fake_pulumi(tmp_path, "", "error: configuration key 'requestrocket:token' not found for stack 'prod'", 255)
    assert live_config.current_value("requestrocket:token", invocation=unset) is None
    failed = fake_pulumi(tmp_path, "", "error: no stack named 'prod' found", 255)
    with pytest.raises(live_config.Unreadable):
        live_config.current_value("requestrocket:token", invocation=failed)

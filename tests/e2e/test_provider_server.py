"""rr-pulumi's provider server through the real CLI: the project plugin `rr-pulumi new` writes (under any `pulumi`,
official or ours) and our engine's own launcher serve dynamic providers with more than Pulumi's four workers, and
RR_PULUMI_PROVIDER_SERVER=pulumi falls back to Pulumi's server as shipped.

The provider's `create` waits at a barrier until `together` creates are being served at once, so the run shows
how many calls one provider process serves concurrently (the barrier's patience only bounds a failing run).
"""

from __future__ import annotations

PROGRAM = """
import builtins, threading
import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider

class Together(ResourceProvider):
    def create(self, props):
        barrier = builtins.__dict__.setdefault(
            "_e2e_barrier", threading.Barrier(int(props["together"]), timeout=float(props["patience"])))
        barrier.wait()  # passes once `together` creates are in the provider at the same time
        return CreateResult(props["label"], dict(props))

class Thing(Resource, module="e2e", name="Thing"):
    def __init__(self, name, together, patience):
        super().__init__(Together(), name, {"label": name, "together": together, "patience": patience})

config = pulumi.Config()
together = int(config.require("together"))
for i in range(together):
    Thing(f"thing{i}", together, config.require("patience"))
"""


def stack_with(make_stack, together: int, patience: int, env: dict | None = None, rr_provider: bool = True):
    stack = make_stack(PROGRAM, env=env, rr_provider=rr_provider)
    stack.set_config("together", str(together))
    stack.set_config("patience", str(patience))
    return stack


def test_the_project_plugin_serves_more_than_four_calls_at_once_without_a_warning(make_stack):
    stack = stack_with(make_stack, together=6, patience=300)
    result = stack.run("up", "--yes", "--skip-preview", "--parallel", "8", "--stack", stack.stack, check=False)
    assert result.code == 0, result.output
    assert len(stack.resources("pulumi-python:dynamic/e2e:Thing")) == 6
    assert "from $PATH" not in result.output and "warning" not in result.output.lower(), result.output


def test_the_engines_own_launcher_serves_more_than_four_calls_at_once(our_engine, make_stack):
    stack = stack_with(make_stack, together=6, patience=300, rr_provider=False,
                       env={"RR_PULUMI_PROVIDER_SERVER": "rr-pulumi"})  # the suite's default is Pulumi's server
    result = stack.run("up", "--yes", "--skip-preview", "--parallel", "8", "--stack", stack.stack, check=False)
    assert result.code == 0, result.output
    assert len(stack.resources("pulumi-python:dynamic/e2e:Thing")) == 6


def test_a_program_registers_as_many_resources_at_once_as_the_engines_parallel(make_stack):
    # The SDK registers from the event loop's default executor: sized from --parallel (as Pulumi's own runner
    # does), not asyncio's default of cores + 4, which held a 2-core machine to 6 registrations in flight.
    stack = stack_with(make_stack, together=12, patience=120)
    result = stack.run("up", "--yes", "--skip-preview", "--parallel", "16", "--stack", stack.stack, check=False)
    assert result.code == 0, result.output
    assert len(stack.resources("pulumi-python:dynamic/e2e:Thing")) == 12


def test_pulumis_own_server_on_request_serves_four(make_stack):
    stack = stack_with(make_stack, together=5, patience=10, env={"RR_PULUMI_PROVIDER_SERVER": "pulumi"})
    result = stack.run("up", "--yes", "--skip-preview", "--parallel", "8", "--stack", stack.stack, check=False)
    assert result.code != 0 and "BrokenBarrierError" in result.output


def test_a_bad_worker_count_is_one_clear_error(make_stack):
    stack = stack_with(make_stack, together=1, patience=10, env={"RR_PULUMI_PROVIDER_WORKERS": "lots"})
    result = stack.run("up", "--yes", "--skip-preview", "--stack", stack.stack, check=False)
    assert result.code != 0
    assert "RR_PULUMI_PROVIDER_WORKERS must be a whole number from 1 to 1024, got 'lots'" in result.output


def test_pulumi_import_of_an_rr_pulumi_type_is_one_line_naming_adopt_id(rr_stack):
    """`pulumi import` asks the provider to read an object without its recorded properties, which Pulumi's dynamic
    provider server answers with a Python traceback (KeyError: '__provider'); rr-pulumi's server answers in one line."""
    stack = rr_stack('import rr_pulumi\nfrom rr_pulumi import Client\nClient("org", client_name="import-org")\n',
                     rr_provider=True)  # the project plugin of `rr-pulumi new`: rr-pulumi's server under any pulumi
    stack.up()
    result = stack.run("import", "pulumi-python:dynamic/requestrocket:Target", "legacy",
                       "00000000-0000-4000-8000-000000000000", "--yes", check=False)
    assert result.code != 0
    assert "Traceback" not in result.output and "KeyError" not in result.output, result.output
    hint = "cannot import a dynamic provider's resource (pulumi/pulumi#16175): declare it in the program with adopt_id"
    assert hint in result.output, result.output
    assert len(stack.resources()) == 1  # nothing was imported
    stack.destroy()

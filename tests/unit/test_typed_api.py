"""The public API is typed and pinned to the schema: a type checker catches a user's mistakes, every schema field
is a constructor argument and an output, the generated module is current, and `help()` documents both."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import os
import pydoc
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import rr_pulumi
from rr_pulumi import kinds, resources
from rr_pulumi.resource_base import ProgramError
from rr_pulumi.schema import fields
from rr_pulumi.schema.public import IMPLIED_BY, nested_types

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(rr_pulumi.__file__).resolve().parent

USER_PROGRAM = """\
import pulumi
from rr_pulumi import ApiKeySecret, Client, Credential, Proxy, Rule, RuleArgs, Target

org = Client("org", client_name="typed")
callers = Credential("callers", client_id=org, credential_name="c", credential_type="proxy",
                     credential_region="us-east-1", credential_secret=ApiKeySecret(api_key="k"))
api = Target("api", client_id=org.id, target_name="api", target_base_url="https://a.example.com",
             target_region="us-east-1")
proxy = Proxy("gw", client_id=org, proxy_name="gw", proxy_region="us-east-1", proxy_credential_id=callers,
              target_id=api, target_credential_id=callers)
reveal_type(proxy.url)
reveal_type(org.client_members)
reveal_type(Proxy.get("found", "p-1", client_id=org).proxy_created_at)
Proxy("typo", client_id=org, proxy_nme="gw", proxy_region="us-east-1", proxy_credential_id=callers,
      target_id=api, target_credential_id=callers)
RuleArgs(client_id=org, effect="deny", priority="high")
Rule("r", client_id=org, proxy_id=proxy, effect="deny", priority=1)
"""


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory) -> dict[int, str]:
    """mypy's messages on USER_PROGRAM, by line (as a user's editor or CI would run it)."""
    assert importlib.util.find_spec("mypy"), "mypy is in the test extra: pip install -e '.[test]'"
    folder = tmp_path_factory.mktemp("typed")
    (folder / "program.py").write_text(USER_PROGRAM)
    env = dict(os.environ)
    if PACKAGE.parent.name != "site-packages":  # an editable install: mypy cannot follow its import hook
        env["MYPYPATH"] = str(PACKAGE.parent)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-error-summary", "--show-error-codes",
         "--cache-dir", str(folder / ".mypy_cache"), "program.py"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    report: dict[int, str] = {}
    for line in result.stdout.splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[0] == "program.py":
            # mypy < 2 spells builtins out ("builtins.str"); compare without it
            report[int(parts[1])] = report.get(int(parts[1]), "") + (parts[2] + ":" + parts[3]).replace("builtins.", "")
    return report


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(USER_PROGRAM.splitlines(), 1) if line.startswith(text))


def test_the_type_checker_sees_typed_outputs(mypy_report):
    assert 'Revealed type is "pulumi.output.Output[str]"' in mypy_report[line_of("reveal_type(proxy.url)")]
    members = mypy_report[line_of("reveal_type(org.client_members)")]
    assert "Output[list[TypedDict(rr_pulumi.resources.ClientMember" in members.replace("'", ""), members
    assert 'Revealed type is "pulumi.output.Output[str]"' in mypy_report[line_of("reveal_type(Proxy.get(")]


def test_the_type_checker_reports_a_misspelled_argument_and_a_wrong_type(mypy_report):
    assert 'Unexpected keyword argument "proxy_nme"' in mypy_report[line_of('Proxy("typo"')]
    assert 'did you mean "proxy_name"' in mypy_report[line_of('Proxy("typo"')]
    wrong = mypy_report[line_of("RuleArgs(")]
    assert 'Argument "priority" to "RuleArgs" has incompatible type "str"' in wrong


def test_correct_code_type_checks_clean(mypy_report):
    reported = {n for n, text in mypy_report.items() if "error:" in text}
    assert reported == {line_of('Proxy("typo"'), line_of("RuleArgs(")}, mypy_report


def test_the_package_ships_its_type_marker():
    assert (PACKAGE / "py.typed").is_file()


# ------------------------------------------------------------------------------------------------------------------
# Pinned to the schema


def _class(kind: kinds.Kind) -> type:
    return getattr(resources, kind.name)


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_every_schema_field_is_an_argument_and_a_typed_output(kind):
    cls, specs = _class(kind), fields(kind.schema)
    arguments = inspect.signature(cls.__init__).parameters
    args_fields = {f for f in getattr(resources, f"{kind.name}Args").__dataclass_fields__}
    for name, spec in specs.items():
        if not spec.computed:
            assert arguments[name].kind is inspect.Parameter.KEYWORD_ONLY, name
            assert name in args_fields, name
        output = inspect.getattr_static(cls, name)
        assert isinstance(output, property), name
        assert " ".join(output.__doc__.split()) == spec.description, name
        assert inspect.signature(output.fget).return_annotation.startswith("pulumi.Output["), name
    assert "profile" in arguments and "adopt_id" in arguments
    assert cls.kind is kind and f"pulumi-python:{cls._resource_type_name}" == kind.type_token


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_required_arguments_are_required_keywords_for_the_type_checker(kind):
    """The keyword overload marks each required argument (one implied by another argument excepted)."""
    source = inspect.getsource(_class(kind))
    keyword_overload = source.split("@overload")[2].split(") -> None: ...")[0]
    for name, spec in fields(kind.schema).items():
        if spec.required and name not in IMPLIED_BY:
            assert f"        {name}: " in keyword_overload and f"        {name}: Optional[" not in keyword_overload


def test_nested_values_follow_the_schema_shapes():
    for t in nested_types():
        declared = set(t.model.model_fields)
        assert set(getattr(resources, t.dict_name).__annotations__) == declared, t.name
        if not t.output_only:
            names = {f.name for f in dataclasses.fields(getattr(resources, t.name))}
            assert names - {"extra"} == declared, t.name


def test_the_generated_module_is_current():
    namespace = runpy.run_path(str(ROOT / "scripts" / "generate_resources.py"))
    assert namespace["TARGET"].read_text() == namespace["render"](), "run `python scripts/generate_resources.py`"


def test_the_package_exports_the_generated_names():
    assert set(rr_pulumi.__all__) == set(resources.__all__)


def test_help_shows_arguments_and_outputs():
    text = pydoc.render_doc(rr_pulumi.Proxy, renderer=pydoc.plaintext)
    assert "proxy_credential_id: 'Optional[Union[pulumi.Input[str], Credential]]'" in text
    assert ":param proxy_max_requests_per_minute: Rate limit per minute" in text
    assert "url\n |      Data-plane URL" in text
    assert "get(resource_name: 'str', id: 'pulumi.Input[str]'" in text
    assert "Resource represents a class whose CRUD operations" not in text  # Pulumi's generic docstring


# ------------------------------------------------------------------------------------------------------------------
# A user's Python mistakes, before Pulumi is involved


def test_an_unknown_argument_is_one_line_with_the_valid_ones_and_the_close_match():
    with pytest.raises(ProgramError) as error:
        rr_pulumi.Proxy("gw", proxy_nme="gw")
    message = str(error.value)
    assert message.startswith("Proxy 'gw': unknown argument proxy_nme (did you mean proxy_name?); valid arguments: ")
    assert "proxy_region" in message and "\n" not in message
    with pytest.raises(ProgramError, match=r"^HeaderCheck: unknown argument nme_pattern \(did you mean name_pattern"):
        rr_pulumi.HeaderCheck(nme_pattern="x")  # type: ignore[call-arg]
    with pytest.raises(ProgramError, match=r"^RuleArgs: missing required argument client_id, effect, priority"):
        rr_pulumi.RuleArgs()  # type: ignore[call-arg]
    with pytest.raises(ProgramError, match=r"^Proxy.get 'p': unknown argument client \(did you mean client_id\?\)"):
        rr_pulumi.Proxy.get("p", "p-1", client="c1")  # type: ignore[call-arg]


def test_program_errors_are_run_errors():
    import pulumi

    from rr_pulumi.errors import RequestRocketError

    assert issubclass(ProgramError, pulumi.RunError) and issubclass(ProgramError, RequestRocketError)


def test_reference_problems_name_the_argument_the_resource_and_the_fix():
    from rr_pulumi.resource_base import Declared, reference_problems

    specs = fields(kinds.PROXY.schema)
    upstream = Declared(kinds.CREDENTIAL, "upstream", {"credential_type": "target", "credential_region": "us-east-1"})
    api = Declared(kinds.TARGET, "api", {"target_region": "us-west-2"})
    problems = reference_problems("Proxy 'gw'", specs, {"proxy_region": "us-east-1"},
                                  {"proxy_credential_id": upstream, "target_id": api, "target_credential_id": upstream})
    assert problems == [
        "Proxy 'gw': proxy_credential_id is Credential 'upstream' with credential_type='target', but "
        "proxy_credential_id needs credential_type='proxy': pass a Credential declared with credential_type='proxy'",
        "Proxy 'gw': target_id is Target 'api' in region 'us-west-2', but proxy_region is 'us-east-1': "
        "declare them in the same region",
    ]
    unknown = Declared(kinds.CREDENTIAL, "later", {})  # values not known in the program: nothing to judge
    region = {"proxy_region": "us-east-1"}
    assert reference_problems("Proxy 'gw'", specs, region, {"proxy_credential_id": unknown}) == []

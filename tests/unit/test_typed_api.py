"""The public API is typed and pinned to the schema: a type checker (mypy, and pyright when installed) catches a
user's mistakes, every schema field is a constructor argument and an output, a closed set of values is a Literal, the
generated module is current, and `help()` documents both with the keyword form's signature."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
import os
import pydoc
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import get_args, get_type_hints

import pytest

import rr_pulumi
from rr_pulumi import resources
from rr_pulumi.schema import schema_of
from rr_pulumi.schema import kinds
from rr_pulumi.resource_base import ProgramError
from rr_pulumi.schema import fields
from rr_pulumi.schema.common import HttpMethod, Presence, RuleEffect
from rr_pulumi.schema.credential import AuthType, CredentialType, GrantType
from rr_pulumi.schema.public import IMPLIED_BY, nested_types, resource_api

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(rr_pulumi.__file__).resolve().parent

USER_PROGRAM = """\
import pulumi
from rr_pulumi import ApiKeySecret, Client, Credential, HeaderCheck, Proxy, Rule, RuleArgs, Target

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
Rule("blocked", client_id=org, proxy_id=proxy, effect="block", priority=1)
RuleArgs(client_id=org, proxy_id=proxy, effect="block", priority=1)
rule = Rule("closed", client_id=org, proxy_id=proxy, effect=proxy.proxy_default_rule_effect, priority=2,
            methods=["GET", "POST"], path_presence="absent", header_checks=[HeaderCheck("x-a", presence="absent")])
Rule("by-args", RuleArgs(client_id=org, proxy_id=proxy, effect="allow", priority=3, methods=["PUT"]))
reveal_type(rule.effect)
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


@pytest.fixture(scope="module")
def pyright_report(tmp_path_factory) -> dict[int, str]:
    """pyright's messages on USER_PROGRAM, by line (the checker behind VS Code's Pylance)."""
    pyright = shutil.which("pyright", path=str(Path(sys.executable).parent)) or shutil.which("pyright")
    if pyright is None:
        pytest.skip("pyright is not installed (pip install pyright)")
    folder = tmp_path_factory.mktemp("typed-pyright")
    (folder / "program.py").write_text(USER_PROGRAM)
    # An editable install is an import hook pyright cannot follow: point it at the package's folder.
    (folder / "pyrightconfig.json").write_text(json.dumps({"extraPaths": [str(PACKAGE.parent)]}))
    result = subprocess.run(
        [pyright, "--outputjson", "--pythonpath", sys.executable, "program.py"],
        cwd=folder, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    report: dict[int, str] = {}
    for diagnostic in json.loads(result.stdout)["generalDiagnostics"]:
        line = diagnostic["range"]["start"]["line"] + 1
        report[line] = report.get(line, "") + f"{diagnostic['severity']}: {diagnostic['message']}\n"
    return report


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(USER_PROGRAM.splitlines(), 1) if line.startswith(text))


BLOCKED, BLOCKED_ARGS = 'Rule("blocked"', 'RuleArgs(client_id=org, proxy_id=proxy, effect="block"'
MISTAKES = {'Proxy("typo"', "RuleArgs(client_id=org, effect=", BLOCKED, BLOCKED_ARGS}


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


def test_the_type_checker_reports_a_value_outside_a_closed_set(mypy_report):
    # mypy names the argument of a plain call; for the overloaded constructor it shows the Literal the keyword form takes
    assert "Argument \"effect\" to \"RuleArgs\" has incompatible type \"Literal['block']\"" in mypy_report[
        line_of(BLOCKED_ARGS)]
    blocked = mypy_report[line_of(BLOCKED)]
    assert 'error: No overload variant of "Rule" matches' in blocked
    assert "effect: Literal['allow', 'deny'] | Awaitable[Literal['allow', 'deny']]" in blocked, blocked


def test_closed_set_outputs_are_literals(mypy_report):
    assert "Output[Literal['allow'] | Literal['deny']]" in mypy_report[line_of("reveal_type(rule.effect)")]


def test_correct_code_type_checks_clean(mypy_report):
    reported = {n for n, text in mypy_report.items() if "error:" in text}
    assert reported == {line_of(m) for m in MISTAKES}, mypy_report


def test_pyright_reports_the_same_mistakes_and_nothing_else(pyright_report):
    for mistake in (BLOCKED, BLOCKED_ARGS):
        assert 'Argument of type "Literal[\'block\']" cannot be assigned to parameter "effect"' in pyright_report[
            line_of(mistake)]
    assert 'Literal["high"]' in pyright_report[line_of("RuleArgs(client_id=org, effect=")].replace("'", '"')
    # pyright does not name a misspelled keyword of an overloaded call (pulumi-aws's classes get the same message)
    assert "No overloads for \"__init__\" match" in pyright_report[line_of('Proxy("typo"')]
    assert 'Type of "rule.effect" is "Output[Literal[\'allow\', \'deny\']]"' in pyright_report[
        line_of("reveal_type(rule.effect)")]
    reported = {n for n, text in pyright_report.items() if "error:" in text}
    assert reported == {line_of(m) for m in MISTAKES}, pyright_report


def test_the_package_ships_its_type_marker():
    assert (PACKAGE / "py.typed").is_file()


# ------------------------------------------------------------------------------------------------------------------
# Pinned to the schema


def _class(kind: kinds.Kind) -> type:
    return getattr(resources, kind.name)


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_every_schema_field_is_an_argument_and_a_typed_output(kind):
    cls, specs = _class(kind), fields(schema_of(kind))
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
    for name, spec in fields(schema_of(kind)).items():
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
    assert "proxy_credential_id: 'Union[pulumi.Input[str], Credential]', target_id:" in text
    assert ":param proxy_max_requests_per_minute: Rate limit per minute" in text
    assert "url\n |      Data-plane URL" in text
    assert "get(resource_name: 'str', id: 'pulumi.Input[str]'" in text
    assert "Resource represents a class whose CRUD operations" not in text  # Pulumi's generic docstring


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_the_signature_is_the_keyword_form(kind):
    """What the keyword overload declares, not the implementation behind it (where every argument is optional)."""
    cls = _class(kind)
    parameters = inspect.signature(cls).parameters
    assert list(parameters)[:3] == ["resource_name", "args", "opts"] and parameters["args"].annotation == "None"
    for argument in resource_api(kind, schema_of(kind)).arguments:
        parameter = parameters[argument.name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, argument.name
        if argument.required:
            assert parameter.default is inspect.Parameter.empty, argument.name
            assert not parameter.annotation.startswith("Optional["), argument.name
        else:
            assert parameter.default is None, argument.name
    assert parameters["adopt"].default is False and parameters["profile"].default is None
    assert inspect.signature(cls.__init__).parameters.keys() - {"self"} == parameters.keys()


def test_help_prints_the_keyword_form_as_the_docs_do():
    text = pydoc.render_doc(rr_pulumi.Proxy, renderer=pydoc.plaintext)
    assert (" |  Proxy(resource_name: 'str', args: 'None' = None, opts: 'Optional[pulumi.ResourceOptions]' = None, *, "
            "client_id: 'Union[pulumi.Input[str], Client]', proxy_name: 'pulumi.Input[str]', ") in text
    assert "proxy_active: 'Optional[pulumi.Input[bool]]' = None" in text
    assert "proxy_default_rule_effect: \"Optional[pulumi.Input[Literal['allow', 'deny']]]\" = None" in text
    assert " |  __init__(self, resource_name: 'str', args: 'None' = None," in text
    docs = (ROOT / "docs" / "resources.md").read_text()
    for kind in kinds.KINDS:
        bare = inspect.signature(_class(kind))
        bare = bare.replace(parameters=[p.replace(annotation=p.empty) for p in bare.parameters.values()],
                            return_annotation=bare.empty)
        assert f"\n{kind.name}{bare}\n" in docs, kind.name  # the doc page's constructor line


def literal_text(closed_set: object) -> str:
    return f"Literal[{', '.join(map(repr, get_args(closed_set)))}]"


CLOSED_SETS = [  # (class, field, the schema's Literal)
    ("Rule", "effect", RuleEffect), ("Proxy", "proxy_default_rule_effect", RuleEffect),
    ("Target", "target_default_rule_effect", RuleEffect), ("Rule", "path_presence", Presence),
    ("Credential", "credential_type", CredentialType), ("Credential", "credential_auth_type", AuthType),
]


@pytest.mark.parametrize("name, field, closed_set", CLOSED_SETS, ids=[f"{c[0]}.{c[1]}" for c in CLOSED_SETS])
def test_a_closed_set_of_values_is_the_schemas_literal(name, field, closed_set):
    text = literal_text(closed_set)
    assert f"pulumi.Input[{text}]" in inspect.signature(getattr(resources, name)).parameters[field].annotation
    assert f"pulumi.Input[{text}]" in getattr(resources, f"{name}Args").__annotations__[field]
    output = inspect.signature(getattr(resources, name).__dict__[field].fget).return_annotation
    assert output in (f"pulumi.Output[{text}]", f"pulumi.Output[Optional[{text}]]")


def test_closed_sets_in_lists_and_nested_values_are_literals_too():
    methods = literal_text(HttpMethod)
    assert f"Sequence[pulumi.Input[{methods}]]" in inspect.signature(resources.Rule).parameters["methods"].annotation
    assert inspect.signature(resources.Rule.methods.fget).return_annotation == f"pulumi.Output[list[{methods}]]"
    assert resources.CustomTokenSecret.__annotations__["method"] == f"pulumi.Input[{methods}]"
    assert resources.HeaderCheck.__annotations__["presence"] == f"pulumi.Input[{literal_text(Presence)}]"
    assert get_type_hints(resources.OAuth2SecretDict)["grant_type"] == GrantType
    assert get_type_hints(resources.TokenCheckDict)["presence"] == Presence
    # an open set stays a string: a region is a pattern, and the allowed ones are the stack's configuration
    assert inspect.signature(resources.Proxy).parameters["proxy_region"].annotation == "pulumi.Input[str]"


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

    from rr_pulumi.api.errors import RequestRocketError

    assert issubclass(ProgramError, pulumi.RunError) and issubclass(ProgramError, RequestRocketError)


def test_reference_problems_name_the_argument_the_resource_and_the_fix():
    from rr_pulumi.resource_base import Declared, reference_problems

    specs = fields(schema_of(kinds.PROXY))
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

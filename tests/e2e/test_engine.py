"""The engine is really in the loop: a tiny dynamic resource driven through every CLI verb.

The provider keeps its object as a file, so each step can be checked from outside the engine.
"""

from __future__ import annotations

import json
from pathlib import Path

PROGRAM = """
import json, pathlib
import pulumi
from pulumi.dynamic import Resource, ResourceProvider, CreateResult, DiffResult, ReadResult, UpdateResult

class FileProvider(ResourceProvider):
    def create(self, props):
        path = pathlib.Path(props["path"])
        path.write_text(json.dumps({"content": props["content"]}))
        return CreateResult(str(path), {**props})

    def diff(self, id, olds, news):
        changes = [k for k in ("path", "content") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changes), replaces=[k for k in changes if k == "path"])

    def update(self, id, olds, news):
        pathlib.Path(id).write_text(json.dumps({"content": news["content"]}))
        return UpdateResult({**news})

    def read(self, id, props):
        path = pathlib.Path(id)
        if not path.exists():
            return ReadResult(None, {})
        live = {**props, "content": json.loads(path.read_text())["content"]}
        return ReadResult(id, live)

    def delete(self, id, props):
        pathlib.Path(id).unlink(missing_ok=True)

class File(Resource, module="e2e", name="File"):
    content: pulumi.Output[str]
    def __init__(self, name, path, content):
        super().__init__(FileProvider(), name, {"path": path, "content": content})

config = pulumi.Config()
f = File("file", config.require("path"), config.require("content"))
pulumi.export("content", f.content)
"""


def test_lifecycle_through_the_real_cli(make_stack, tmp_path):
    target = tmp_path / "object.json"
    stack = make_stack(PROGRAM)
    stack.set_config("path", str(target))
    stack.set_config("content", "one")

    preview = stack.preview()
    assert "+ 2 to create" in preview.stdout
    assert not target.exists()

    stack.up()
    assert json.loads(target.read_text()) == {"content": "one"}
    assert stack.outputs() == {"content": "one"}

    assert stack.preview("--expect-no-changes", check=False).code == 0

    stack.set_config("content", "two")
    changed = stack.preview("--expect-no-changes", check=False)
    assert changed.code != 0 and "~ 1 to update" in changed.stdout
    stack.up()
    assert json.loads(target.read_text()) == {"content": "two"}

    target.write_text(json.dumps({"content": "changed out of band"}))
    stack.refresh()
    [file] = stack.resources("pulumi-python:dynamic/e2e:File")
    assert file["outputs"]["content"] == "changed out of band"

    stack.destroy()
    assert not Path(target).exists()
    assert stack.resources("pulumi-python:dynamic/e2e:File") == []

"""Every Python code block of README.md and docs/*.md runs as written: the blocks of one
file run in order in one namespace (a later block continues an earlier one), in an empty
folder, with the shipped models."""

import glob
import os
import re

import pytest

from tests.helpers import RECIPE_EDIT, REPO, code_blocks

DOCS = ["README.md"] + sorted(
    os.path.relpath(path, REPO) for path in glob.glob(os.path.join(REPO, "docs", "*.md"))
)
FENCE = re.compile(r"^[ \t]*```(\w*)", re.M)


def blocks_of(text):
    """The code of every Python block of Markdown text, its fence's indentation removed,
    but the files of recipes (tests/test_extending.py writes them into a copy of the
    repository)."""
    return [
        code
        for language, code in code_blocks(text)
        if language == "python" and not RECIPE_EDIT.match(code)
    ]


def python_blocks(name):
    """The Python blocks of a doc that run as code."""
    return blocks_of(open(os.path.join(REPO, name)).read())


def test_indented_fences_are_found():
    text = (
        "1. Then:\n\n   ```python\n   x = 1\n   if x:\n       y = 2\n   ```\n\n"
        "   ```py\n   z\n   ```\n"
    )
    assert blocks_of(text) == ["x = 1\nif x:\n    y = 2\n"]
    assert FENCE.findall(text) == ["python", "", "py", ""]


def test_the_docs_have_python_blocks_and_no_other_python_spelling():
    assert sum(len(python_blocks(name)) for name in DOCS) >= 5
    for name in DOCS:
        fences = FENCE.findall(open(os.path.join(REPO, name)).read())
        assert set(fences[::2]) <= {"", "python", "json", "bash"}, name  # py/python3: not run


def _prepare_export_md():
    """What docs/export.md's shell block does before its Python: the shipped model's
    SavedModel written to the version folder that block names."""
    from draw import api
    from draw.app.export import export

    text = open(os.path.join(REPO, "docs", "export.md")).read()
    assert "--pretrained=mnist_attention --export=exports/draw/1" in text
    export(api.load("mnist_attention"), "exports/draw/1")


PREPARE = {os.path.join("docs", "export.md"): _prepare_export_md}


@pytest.mark.parametrize("name", [n for n in DOCS if python_blocks(n)])
def test_python_blocks_run(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if name in PREPARE:
        PREPARE[name]()
    namespace = {"__name__": "__doc__"}
    for i, code in enumerate(python_blocks(name)):
        exec(compile(code, f"{name}, Python block {i + 1}", "exec"), namespace)
    if name == os.path.join("docs", "export.md"):
        assert capsys.readouterr().out.strip() == "['canvases', 'images'] 4"

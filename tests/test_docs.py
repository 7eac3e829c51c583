"""Every Python code block of README.md and docs/*.md runs as written: the blocks of one
file run in order in one namespace (a later block continues an earlier one), in an empty
folder, with the shipped models."""

import glob
import os
import re

import pytest

from tests.conftest import REPO

DOCS = ["README.md"] + sorted(
    os.path.relpath(path, REPO) for path in glob.glob(os.path.join(REPO, "docs", "*.md"))
)
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(name):
    return BLOCK.findall(open(os.path.join(REPO, name)).read())


def test_the_docs_have_python_blocks_and_no_other_python_spelling():
    assert sum(len(python_blocks(name)) for name in DOCS) >= 5
    for name in DOCS:
        fences = re.findall(r"^```(\w*)", open(os.path.join(REPO, name)).read(), re.M)
        assert set(fences[::2]) <= {"", "python", "json"}, name  # py/python3: not run


def _prepare_export_md():
    """What docs/export.md's shell block does before its Python: the shipped model's
    SavedModel written to the version folder that block names."""
    from draw import api

    text = open(os.path.join(REPO, "docs", "export.md")).read()
    assert "--pretrained=mnist_attention --export=exports/draw/1" in text
    api.export(api.load("mnist_attention"), "exports/draw/1")


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

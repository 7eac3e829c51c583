"""docs/extending.md is followed literally: each recipe's blocks are applied to a copy of
the repository (a block starting `# new file: PATH` creates PATH, one starting
`# add to: PATH` appends to PATH), then the recipe's shell blocks run in the copy, which
trains, evaluates and tests the toy. A recipe touches at most three files."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import RECIPE_EDIT, REPO, code_blocks

GUIDE = os.path.join(REPO, "docs", "extending.md")
RECIPES = ("A model variant", "A dataset", "An evaluation measure")
MAX_FILES = 3
# What a copy of the repository leaves out: version control, runs, caches, builds.
NOT_COPIED = shutil.ignore_patterns(
    ".git", "runs", "__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info", "build", "dist"
)


def sections(text):
    """{heading: body} of the `## ` sections of Markdown text."""
    parts = re.split(r"^## +(.+?)[ \t]*$", text, flags=re.M)
    return {heading: body for heading, body in zip(parts[1::2], parts[2::2])}


def recipe(name):
    """The recipe of the section name: its edits [(action, path, text)] and shell blocks."""
    body = sections(open(GUIDE).read())[name]
    edits, commands = [], []
    for language, code in code_blocks(body):
        match = RECIPE_EDIT.match(code)
        if match:
            edits.append((match.group(1), match.group(2), code))
        elif language == "bash":
            commands.append(code)
    return edits, commands


def apply(edits, root):
    """Applies the edits of a recipe to the repository copy at root."""
    for action, path, text in edits:
        target = os.path.join(root, path)
        if action == "new file":
            assert not os.path.exists(target), f"{path} exists already"
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w") as f:
                f.write(text)
        else:
            assert os.path.isfile(target), f"{path} is not a file of the repository"
            with open(target) as f:
                old = f.read()
            with open(target, "w") as f:
                f.write(old + ("" if old.endswith("\n") else "\n") + text)


def test_block_headers_are_read():
    text = (
        "## A dataset\n\n1. Then:\n\n   ```python\n   # new file: data/toy.py\n   x = 1\n   ```\n\n"
        "```python\n# add to: data/__init__.py\ny = 2\n```\n\n```bash\npython train.py\n```\n"
        "## Other\n```bash\nexit 1\n```\n"
    )
    body = sections(text)["A dataset"]
    found = code_blocks(body)
    assert found == [
        ("python", "# new file: data/toy.py\nx = 1\n"),
        ("python", "# add to: data/__init__.py\ny = 2\n"),
        ("bash", "python train.py\n"),
    ]
    assert RECIPE_EDIT.match(found[0][1]).groups() == ("new file", "data/toy.py")
    assert RECIPE_EDIT.match(found[1][1]).groups() == ("add to", "data/__init__.py")


@pytest.mark.parametrize("name", RECIPES)
def test_each_recipe_touches_at_most_three_files(name):
    edits, commands = recipe(name)
    touched = {path for _, path, _ in edits}
    assert edits and commands, f"{name}: no files or no commands"
    assert len(touched) <= MAX_FILES, f"{name} touches {sorted(touched)}"
    shell = "\n".join(commands)
    assert "train.py" in shell and "evaluate.py" in shell, f"{name}: the toy is not run"
    for action, path, _ in edits:
        exists = os.path.exists(os.path.join(REPO, path))
        assert exists == (action == "add to"), f"{name}: {action} {path}"


@pytest.mark.slow
@pytest.mark.parametrize("name", RECIPES)
def test_recipe_followed_on_a_copy_trains_and_evaluates(name, tmp_path):
    root = tmp_path / "draw-tf2"
    shutil.copytree(REPO, root, ignore=NOT_COPIED, symlinks=True)
    edits, commands = recipe(name)
    apply(edits, root)
    # `python` is this interpreter; the copy's packages come first on the path.
    env = {
        **os.environ,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": str(root),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for code in commands:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", code],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, f"{name}:\n{code}\n{result.stdout}\n{result.stderr}"

"""Package metadata: every third-party package the installed code imports is declared in
setup.py, and every declared package is imported (one documented exception)."""

import ast
import glob
import os
import sys

from tests.conftest import REPO

# Import name -> distribution name, where they differ.
DISTRIBUTION = {"PIL": "pillow", "absl": "absl-py", "tensorflow_datasets": "tensorflow-datasets"}
# Declared without being imported by this project: a dependency its dependency omits.
UNIMPORTED = {"importlib_resources"}  # tensorflow-datasets needs it to download
PROJECT = {"draw", "models", "data"}


def _setup_call():
    tree = ast.parse(open(os.path.join(REPO, "setup.py")).read())
    (call,) = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup"
    ]
    return {k.arg: k.value for k in call.keywords}


def _declared():
    names = ast.literal_eval(_setup_call()["install_requires"])
    return {name.split(">")[0].split("=")[0].split("[")[0].lower() for name in names}


def _imported():
    files = [os.path.join(REPO, name) for name in ("train.py", "generate.py", "evaluate.py")]
    for package in PROJECT:
        files += glob.glob(os.path.join(REPO, package, "**", "*.py"), recursive=True)
    modules = set()
    for path in files:
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - PROJECT - {"__future__"}
    return {DISTRIBUTION.get(m, m).lower() for m in third_party}


def test_every_import_is_declared_and_every_declaration_imported():
    imported, declared = _imported(), _declared()
    assert imported - declared == set(), "imported but not declared in setup.py"
    assert declared - imported == UNIMPORTED, "declared in setup.py but never imported"
    assert {"matplotlib", "pillow", "tensorboard"} <= imported


def test_license_and_citation_metadata():
    setup = _setup_call()
    assert ast.literal_eval(setup["license_expression"]) == "MIT"
    assert "MIT License" in open(os.path.join(REPO, "LICENSE")).read()
    citation = open(os.path.join(REPO, "CITATION.cff")).read()
    assert "arXiv:1502.04623" in citation and "Generative Image Models Project Report" in citation
    assert "[build-system]" in open(os.path.join(REPO, "pyproject.toml")).read()
    # The shipped models are package data, so a non-editable install has them.
    package_data = ast.literal_eval(setup["package_data"])
    assert "pretrained_models/*/*" in package_data["draw"]

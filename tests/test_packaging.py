"""Package metadata: every third-party package the installed code imports is declared in
setup.py, and every declared package is imported (one documented exception);
tensorflow-datasets is an extra; a wheel installed into a fresh environment runs its
commands and imports the library from a folder that has its own `models` and `data`
packages."""

import ast
import glob
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO

# Import name -> distribution name, where they differ.
DISTRIBUTION = {"PIL": "pillow", "absl": "absl-py", "tensorflow_datasets": "tensorflow-datasets"}
# Declared without being imported by this project: a dependency its dependency omits.
UNIMPORTED = {"importlib_resources"}  # tensorflow-datasets needs it to download
PROJECT = {"draw", "models", "data"}  # the folders of the library (an install: draw only)


def _setup_call():
    tree = ast.parse(open(os.path.join(REPO, "setup.py")).read())
    (call,) = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup"
    ]
    return {k.arg: k.value for k in call.keywords}


def _names(requirements):
    return {name.split(">")[0].split("=")[0].split("[")[0].lower() for name in requirements}


def _tfds_extra():
    tree = ast.parse(open(os.path.join(REPO, "setup.py")).read())
    (value,) = [
        n.value
        for n in tree.body
        if isinstance(n, ast.Assign) and [t.id for t in n.targets] == ["TFDS"]
    ]
    return _names(ast.literal_eval(value))


def _declared():
    return _names(ast.literal_eval(_setup_call()["install_requires"])) | _tfds_extra()


def test_tensorflow_datasets_is_an_extra_and_its_absence_one_line(monkeypatch):
    from draw.data import arrays
    from draw.errors import DrawError

    assert "tensorflow-datasets" in _tfds_extra()
    required = _names(ast.literal_eval(_setup_call()["install_requires"]))
    assert "tensorflow-datasets" not in required
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails
    with pytest.raises(DrawError, match=r'pip install "draw-tf2\[tfds\]"') as raised:
        arrays.load_tfds_arrays("mnist")
    assert "\n" not in str(raised.value)


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


def _run(args, cwd, env=None):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_wheel_runs_its_commands_beside_other_models_and_data_packages(tmp_path):
    """The wheel (built from a copy of the sources, so the checkout gets no build folders)
    goes into a fresh virtual environment without its dependencies; a .pth line lets that
    environment see the dependencies of this one (TensorFlow) instead of downloading them.
    The commands and the library then run from a folder whose own `models` and `data`
    packages come first on sys.path when Python runs there."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for package in PROJECT:
        shutil.copytree(os.path.join(REPO, package), source / package, ignore=ignore)
    for name in ("setup.py", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(os.path.join(REPO, name), source / name)
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", "wheels", "./source"],
        tmp_path,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = glob.glob(str(tmp_path / "wheels" / "draw_tf2-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    installed = _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel],
        tmp_path,
    )
    assert installed.returncode == 0, installed.stderr
    site = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path
    )
    # The folders this process imports its dependencies from (its site-packages and any
    # they extend), not the checkout.
    repo = os.path.realpath(REPO)
    found = [p for p in sys.path if p and os.path.isdir(p)]
    outside = [p for p in found if not (os.path.realpath(p) + os.sep).startswith(repo + os.sep)]
    with open(os.path.join(site.stdout.strip(), "dependencies.pth"), "w") as f:
        f.write("".join(p + "\n" for p in outside))

    project = tmp_path / "my_project"
    for name in ("models", "data"):
        (project / name).mkdir(parents=True)
        (project / name / "__init__.py").write_text(f"WHOSE = 'my_project.{name}'\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    generate = str(venv / "bin" / "draw-generate")
    out = tmp_path / "samples"
    ran = _run(
        [generate, "--pretrained=mnist_attention", "--stochastic", "--num_samples=4",
         f"--out_dir={out}"],
        project,
        env,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert any(name.endswith(".png") for name in os.listdir(out)), os.listdir(out)
    assert f"{out}" in ran.stdout

    # A training flag given to generate is one line naming the script that takes it.
    refused = _run([generate, "--stochastic", "--learning_rate=0.5"], project, env)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "draw-generate: error: --learning_rate is a flag of train.py (draw-train), "
        "not of draw-generate"
    ]
    # The install adds one top-level package, draw (models/ and data/ are draw.models and
    # draw.data), so Python started in that folder has both its own packages and ours.
    site_packages = os.listdir(site.stdout.strip())
    assert "draw" in site_packages and not {"models", "data"} & set(site_packages)
    both = _run(
        [python, "-c", "import models, data; from draw import api, models as ours; "
         "print(models.WHOSE, data.WHOSE, 'draw' in ours.MODELS)"],
        project,
        env,
    )  # fmt: skip
    assert both.returncode == 0, both.stderr
    assert both.stdout.split() == ["my_project.models", "my_project.data", "True"]
    module = _run([python, "-m", "draw.app.generate", "--help"], project, env)
    assert module.returncode == 0, module.stderr

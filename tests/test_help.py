"""--help lists exactly the flags each script accepts, grouped, with defaults and choices;
--helpfull is absl's full list."""

import ast
import dataclasses
import os
import re

import pytest

from draw import evaluation, generation
from draw.cli import TRAINING_ONLY
from draw.config import DrawConfig, flag_name
from tests.conftest import REPO
from tests.script_runner import run_in_process
from tests.test_cli import run_script

# The shared flags besides DrawConfig's fields, as config.define_flags defines them.
RUN_FLAGS = {"logdir", "pretrained", "checkpoint", "overwrite", "restore_from_previous",
             "intra_op_threads", "verbose"}  # fmt: skip
GROUPS = ["data", "model", "training", "run and output"]


def _own(options):
    return [flag_name(f) for f in dataclasses.fields(options)] if options else []


def _listed(text):
    """{group: [flag names]} of a --help text, in order."""
    groups, current = {}, None
    text = text[text.index("\nFlags of ") :]  # after the script's docstring
    for line in text.splitlines():
        if re.fullmatch(r"[\w. ]+:", line):
            current = groups.setdefault(line[:-1], [])
        elif m := re.match(r"  --(?:\[no\])?([\w-]+)", line):
            current.append(m.group(1))
    return groups


@pytest.mark.parametrize(
    "script,options",
    [("train.py", None), ("generate.py", generation.Options), ("evaluate.py", evaluation.Options)],
)
def test_help_lists_exactly_the_accepted_flags_grouped(capfd, script, options):
    if script == "evaluate.py":  # its flags clash with generate.py's in one process
        result = run_script(script, "--help")
        status, out, err = result.returncode, result.stdout, result.stderr
    else:
        status, out, err = run_in_process(capfd, script, "--help")
    assert status == 0, err
    groups = _listed(out)
    # The script's own flags first; generate.py and evaluate.py have no training flags.
    expected_groups = [script, "data", "model", "run and output"] if options else GROUPS
    assert list(groups) == expected_groups
    listed = [name for names in groups.values() for name in names]
    assert len(listed) == len(set(listed))  # each flag once
    accepted = {f.name for f in dataclasses.fields(DrawConfig)} | RUN_FLAGS | set(_own(options))
    if options:
        accepted -= set(TRAINING_ONLY)
    assert set(listed) == accepted
    assert set(groups.get(script, [])) == set(_own(options))  # --seed: the script's meaning
    assert {"dataset", "binarize", "data_dir"} <= set(groups["data"])
    assert {"T", "read_attn", "model"} <= set(groups["model"])
    if not options:
        training = {"batch_size", "learning_rate", "train_iters", "strategy"}
        assert training <= set(groups["training"])
        assert "  --batch_size=<int>  (default: 100)\n" in out
    # Defaults and choices.
    assert (
        "  --dataset=<mnist|svhn|cluttered_mnist>  (default: mnist)\n      Dataset to model:" in out
    )
    assert "  --[no]read_attn  (default: true)\n" in out
    code = os.path.join(REPO, "draw", script)
    doc = ast.get_docstring(ast.parse(open(code).read()))
    assert out.startswith(doc.splitlines()[0])  # the script's docstring first


@pytest.mark.parametrize(
    "script,flag",
    [
        ("generate.py", "--learning_rate=0.5"),
        ("generate.py", "--noskip_nonfinite"),
        ("generate.py", "--strategy"),
        ("evaluate.py", "--batch_size=7"),
    ],
)
def test_training_flags_are_refused_by_generate_and_evaluate(capfd, script, flag):
    options = {"generate.py": generation.Options, "evaluate.py": evaluation.Options}[script]
    assert set(_own(options)).isdisjoint(TRAINING_ONLY)
    if script == "evaluate.py":  # its flags clash with generate.py's in one process
        result = run_script(script, "--elbo", flag)
        status, err = result.returncode, result.stderr
    else:
        status, _, err = run_in_process(capfd, script, "--stochastic", flag)
    name = flag.lstrip("-").split("=")[0].removeprefix("no")
    expected = f"{script}: error: --{name} is a flag of train.py (draw-train), not of {script}"
    assert (status, err.strip().splitlines()) == (2, [expected])


def test_generate_help_gives_the_seed_its_own_meaning(capfd):
    _, out, _ = run_in_process(capfd, "generate.py", "--help")
    assert "  --seed=<int>  (default: 0)\n      Seed of all the sampling." in out
    assert "  --interpolate_from=<prior|data>  (default: prior)\n" in out


def test_help_and_helpfull_end_to_end():
    result = run_script("train.py", "--help")
    assert result.returncode == 0 and result.stderr == ""
    groups = _listed(result.stdout)
    assert list(groups) == GROUPS
    assert "stochastic" not in result.stdout  # generate.py's, not train.py's
    result = run_script("train.py", "--stochastic")
    assert result.returncode == 2 and "stochastic" in result.stderr
    full = run_script("train.py", "--helpfull")
    assert full.returncode == 0
    for flag in ("--flagfile", "--[no]logtostderr", "--dataset", "--train_iters", "--logdir"):
        assert flag in full.stdout, flag

"""--help lists exactly the flags each script accepts, grouped, with defaults and choices;
--helpfull is absl's full list."""

import ast
import dataclasses
import os
import re

import pytest

from draw.app import cli, evaluation, generation
from draw.config import DrawConfig, fields_in_group
from draw.options import flag_name
from tests.helpers import REPO, run_script
from tests.script_runner import run_in_process

# The shared flags besides DrawConfig's fields, as draw.app.flags.define_flags defines them.
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
        accepted -= set(fields_in_group("training"))
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
    code = os.path.join(REPO, "draw", "app", script)
    doc = ast.get_docstring(ast.parse(open(code).read()))
    assert out.startswith(doc.splitlines()[0])  # the script's docstring first


TRAINING_ONLY = fields_in_group("training")


@pytest.mark.parametrize(
    "script,flag,owner",
    [
        ("generate.py", "--learning_rate=0.5", "train.py (draw-train)"),
        ("generate.py", "--noskip_nonfinite", "train.py (draw-train)"),
        ("generate.py", "--strategy", "train.py (draw-train)"),
        ("generate.py", "--iwae", "evaluate.py (draw-evaluate)"),
        ("evaluate.py", "--batch_size=7", "train.py (draw-train)"),
        ("evaluate.py", "--export=/tmp/x", "generate.py (draw-generate)"),
        ("train.py", "--stochastic", "generate.py (draw-generate)"),
        ("train.py", "--nn-nll", "evaluate.py (draw-evaluate)"),
    ],
)
def test_a_flag_of_another_script_says_which_script_takes_it(script, flag, owner):
    result = run_script(script, flag)  # a process of its own: its flags only
    name = flag.lstrip("-").split("=")[0]
    expected = f"{script}: error: --{name} is a flag of {owner}, not of {script}"
    assert (result.returncode, result.stderr.strip().splitlines()) == (2, [expected])


def test_training_flags_are_not_defined_by_generate_in_process(capfd):
    options = generation.Options
    assert set(_own(options)).isdisjoint(TRAINING_ONLY)
    status, _, err = run_in_process(capfd, "generate.py", "--stochastic", "--learning_rate=0.5")
    expected = "generate.py: error: --learning_rate is a flag of train.py (draw-train), not of "
    assert (status, err.strip().splitlines()) == (2, [expected + "generate.py"])


def test_a_training_flag_in_a_flagfile_is_refused(tmp_path):
    flagfile = tmp_path / "flags.txt"
    flagfile.write_text("--learning_rate=0.5\n")
    out = tmp_path / "out"
    result = run_script(
        "generate.py", f"--flagfile={flagfile}", "--stochastic", "--num_samples=1",
        f"--out_dir={out}",
    )  # fmt: skip
    expected = "generate.py: error: --learning_rate is a flag of train.py (draw-train), not of "
    assert (result.returncode, result.stderr.strip().splitlines()) == (
        2,
        [expected + "generate.py"],
    )
    assert not out.exists()


def test_generate_does_not_suggest_nor_list_training_flags():
    result = run_script("generate.py", "--batch_siz=3")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "generate.py: error: Unknown command line flag 'batch_siz'"
    ]
    full = run_script("generate.py", "--helpfull")
    assert full.returncode == 0 and "--stochastic" in full.stdout
    for name in TRAINING_ONLY:
        assert f"--{name}" not in full.stdout and f"--[no]{name}" not in full.stdout, name


def test_help_names_the_installed_command_as_invoked():
    cli.define_script_flags(None)  # train.py's, as cli.run defines them
    doc = cli.help_text("draw-train", ast.get_docstring(ast.parse(open(_code("train.py")).read())))
    assert doc.startswith("Trains DRAW: draw-train [--dataset=mnist]")
    assert "python train.py" not in doc
    doc = cli.help_text("train.py", ast.get_docstring(ast.parse(open(_code("train.py")).read())))
    assert doc.startswith("Trains DRAW: python train.py ")


def _code(script):
    return os.path.join(REPO, "draw", "app", script)


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

"""train.py answers bad input with one clear line on stderr, a non-zero exit and no
changed file."""

import hashlib
import os
import subprocess
import sys

import pytest

from draw.config import make_config
from draw.run_dir import RunDir
from tests.conftest import REPO


def run_script(script, *args, timeout=300, env=None):
    """Runs script with args; env: variables added to this process's environment."""
    return subprocess.run(
        [sys.executable, os.path.join(REPO, script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def checksums(folder, prefix=""):
    """{path: SHA-256} of every file under folder whose name starts with prefix."""
    sums = {}
    for root, _, files in os.walk(folder):
        for name in files:
            if not name.startswith(prefix):
                continue
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                sums[path] = hashlib.sha256(f.read()).hexdigest()
    return sums


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--data_dir=/nonexistent/mnist"], "/nonexistent/mnist"),
        (["--dataset=cifar"], "--dataset=cifar"),
        (["--preset=huge"], "--preset=huge"),
        (["--T=0"], "--T must be positive"),
        (["--batch_size=-5"], "--batch_size must be positive"),
        (["--z_size=0"], "--z_size must be positive"),
        (["--read_n=1"], "--read_n must be at least 2"),
        (["--binarize=sometimes"], "--binarize=sometimes"),
        (["--data_source=tfds", "--data_dir={tmp}/tfds"], "tensorflow-datasets"),
        (["stray"], "unexpected arguments"),
    ],
)
def test_bad_flags_are_one_line_errors(tmp_path, args, fragment):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = run_script("train.py", f"--logdir={tmp_path}/run", *args)
    assert_one_line_error(result, fragment)
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def _stored_run(tmp_path, **overrides):
    run = RunDir(str(tmp_path / "run"))
    run.write(make_config("jang", **overrides), (28, 28, 1))
    return run


def test_flag_contradicting_the_stored_config_is_an_error(tmp_path):
    run = _stored_run(tmp_path)
    before = checksums(run.path)
    result = run_script("train.py", f"--logdir={run.path}", "--T=5")
    assert_one_line_error(result, "--T=5", "T=10")
    assert checksums(run.path) == before


def test_corrupt_config_json_is_an_error(tmp_path):
    run = _stored_run(tmp_path)
    with open(run.config_path, "w") as f:
        f.write('{"config": {"T": ')
    before = checksums(run.path)
    result = run_script("train.py", f"--logdir={run.path}")
    assert_one_line_error(result, "config.json")
    assert checksums(run.path) == before


def test_corrupt_checkpoint_is_an_error_naming_it_and_is_kept(tmp_path):
    run = _stored_run(tmp_path)
    os.makedirs(run.checkpoint_dir)
    with open(os.path.join(run.checkpoint_dir, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "ckpt-7"\nall_model_checkpoint_paths: "ckpt-7"\n')
    for suffix in (".index", ".data-00000-of-00001"):
        with open(os.path.join(run.checkpoint_dir, "ckpt-7" + suffix), "wb") as f:
            f.write(b"not a checkpoint" * 10)
    before = checksums(run.path)
    result = run_script("train.py", f"--logdir={run.path}")
    assert_one_line_error(result, "ckpt-7")
    assert checksums(run.path) == before


def test_truncated_data_file_is_an_error(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    from tests.conftest import SHARED_MNIST

    for name in os.listdir(SHARED_MNIST):
        if name.endswith(".gz"):
            data = open(os.path.join(SHARED_MNIST, name), "rb").read()
            (folder / name).write_bytes(data[: len(data) // 2] if "train-images" in name else data)
    result = run_script("train.py", f"--logdir={tmp_path}/run", f"--data_dir={folder}")
    assert_one_line_error(result, "train-images-idx3-ubyte.gz")

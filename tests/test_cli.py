"""train.py answers bad input with one clear line on stderr, a non-zero exit and no
changed file: end to end in a subprocess, and the helpers the other CLI tests share."""

import hashlib
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


def run_script(script, *args, timeout=300, env=None):
    """Runs script with args; env: variables added to this process's environment.
    script: a path in the repository, or "-m package.module"."""
    target = script.split() if script.startswith("-m ") else [os.path.join(REPO, script)]
    return subprocess.run(
        [sys.executable, *target, *args],
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


# End to end in a subprocess: a bad flag, a bad value, bad data. The full table of bad
# inputs runs in-process in test_bad_input.py (a subprocess costs a TensorFlow import).
@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--T=abc"], "--T=abc"),
        (["--T=0"], "--T must be positive"),
        (["--data_dir=/nonexistent/mnist"], "/nonexistent/mnist"),
    ],
)
def test_bad_flags_are_one_line_errors(tmp_path, args, fragment):
    result = run_script("train.py", f"--logdir={tmp_path}/run", *args)
    assert_one_line_error(result, fragment)
    assert result.returncode == 2
    assert not os.path.exists(tmp_path / "run")


def test_truncated_data_file_is_an_error(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    from data.mnist import EMBEDDED_DIR

    for name in os.listdir(EMBEDDED_DIR):
        if name.endswith(".gz"):
            data = open(os.path.join(EMBEDDED_DIR, name), "rb").read()
            (folder / name).write_bytes(data[: len(data) // 2] if "train-images" in name else data)
    result = run_script("train.py", f"--logdir={tmp_path}/run", f"--data_dir={folder}")
    assert_one_line_error(result, "train-images-idx3-ubyte.gz")

"""train.py answers bad input with one clear line on stderr, a non-zero exit and no
changed file: end to end in a subprocess."""

import os

import pytest

from tests.helpers import assert_one_line_error, run_script


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
    from draw.data.mnist import EMBEDDED_DIR

    for name in os.listdir(EMBEDDED_DIR):
        if name.endswith(".gz"):
            data = open(os.path.join(EMBEDDED_DIR, name), "rb").read()
            (folder / name).write_bytes(data[: len(data) // 2] if "train-images" in name else data)
    result = run_script("train.py", f"--logdir={tmp_path}/run", f"--data_dir={folder}")
    assert_one_line_error(result, "train-images-idx3-ubyte.gz")

"""generate.py --export=DIR: a SavedModel that a TensorFlow process which does not import
this project loads with tf.saved_model.load, and whose signatures give what the model
gives for the same latents."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from draw.errors import DrawError
from draw.files import atomic_folder
from draw.run_dir import load_trained_model
from tests.helpers import assert_one_line_error, checksums, run_script

# Runs in a separate interpreter started with -I (no current folder, no PYTHONPATH on
# sys.path), so it cannot import this project; it reports which modules it imported.
OUTSIDE = """
import json, sys
import numpy as np
import tensorflow as tf

exported = tf.saved_model.load(sys.argv[1])
images = np.load(sys.argv[2])
z = np.load(sys.argv[3])
signatures = exported.signatures
seed = lambda s: tf.constant(s, tf.int64)
out = {
    "generate": signatures["generate"](num_images=tf.constant(3), seed=seed(7)),
    "reconstruct": signatures["reconstruct"](images=tf.constant(images), seed=seed(2)),
    "decode": signatures["decode"](z=tf.constant(z)),
}
np.savez(sys.argv[4], **{f"{k}.{n}": v.numpy() for k, d in out.items() for n, v in d.items()})
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    result = run_script("generate.py", f"--logdir={trained_run}", f"--export={folder}/saved")
    assert result.returncode == 0, result.stderr
    assert f"SavedModel to {folder}/saved" in result.stdout
    return str(folder / "saved")


def _stateless_normal(seed, shape):
    return tf.random.stateless_normal(shape, seed=[seed, 0])


def test_saved_model_loads_and_runs_without_the_project(exported, trained_run, tmp_path):
    _, model, _ = load_trained_model({}, trained_run)
    T, z_size = model.config.T, model.config.z_size
    images = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype(np.float32)
    z = np.random.default_rng(1).normal(size=(T, 5, z_size)).astype(np.float32)
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "z.npy", z)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-I", "-c", OUTSIDE, exported, str(tmp_path / "images.npy"),
         str(tmp_path / "z.npy"), str(tmp_path / "out.npz")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    assert not {"draw", "models", "data", "tests"} & set(imported)
    out = np.load(tmp_path / "out.npz")

    # The model itself, fed the latents the signatures document.
    expected = tf.sigmoid(model.generate(z=_stateless_normal(7, [T, 3, z_size]))["canvas"])
    np.testing.assert_allclose(out["generate.canvases"], expected, atol=1e-5)
    np.testing.assert_allclose(out["generate.images"], expected[-1], atol=1e-5)
    assert out["generate.images"].shape == (3, 28, 28, 1)
    noise = _stateless_normal(2, [T, 4, z_size])
    expected = tf.sigmoid(model(tf.constant(images), noise=noise)["canvas"])
    np.testing.assert_allclose(out["reconstruct.reconstructions"], expected[-1], atol=1e-5)
    assert out["reconstruct.canvases"].shape == (T, 4, 28, 28, 1)
    expected = tf.sigmoid(model.generate(z=tf.constant(z))["canvas"])
    np.testing.assert_allclose(out["decode.images"], expected[-1], atol=1e-5)


def test_export_does_not_replace_a_folder_without_overwrite(exported, trained_run):
    before = checksums(exported)
    result = run_script("generate.py", f"--logdir={trained_run}", f"--export={exported}")
    assert_one_line_error(result, "exists", "--overwrite")
    assert result.returncode == 2
    assert checksums(exported) == before


def test_atomic_folder_replaces_a_folder_whole_or_not_at_all(tmp_path):
    target = tmp_path / "out"

    def fill(text):
        return lambda folder: open(os.path.join(folder, "a.txt"), "w").write(text)

    atomic_folder(str(target), fill("one"))
    atomic_folder(str(target), fill("two"))
    assert os.listdir(target) == ["a.txt"] and (target / "a.txt").read_text() == "two"

    def broken(folder):
        fill("three")(folder)
        raise OSError(28, "No space left on device")

    with pytest.raises(DrawError, match="cannot write .*out: No space left on device"):
        atomic_folder(str(target), broken)
    assert (target / "a.txt").read_text() == "two"
    assert sorted(os.listdir(tmp_path)) == ["out"]  # nothing left beside it

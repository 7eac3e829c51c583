"""Corrupted bytes of real files: the loaders raise DrawError (or, when the damage leaves
a valid file, return valid data); they never crash the process, hang, or raise anything
else. The MNIST files are the embedded real ones (data/mnist_idx; the npz is written from
them in Keras' layout); the checkpoint and config.json are a tiny run's."""

import dataclasses
import datetime
import gzip
import json
import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from draw.config import LEGACY_VALUES, DrawConfig
from draw.configure import validate
from draw.data import DATASETS, ImageData, mnist
from draw.errors import DrawError
from draw.models import MODELS
from draw.run_dir import RunDir, restore
from tests.helpers import tiny_config, tiny_trainer, write_svhn_folder

FUZZ = settings(
    max_examples=40,
    deadline=datetime.timedelta(seconds=60),  # a hang guard, not a speed test
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


@st.composite
def corruptions(draw, size):
    """A list of edits of a file of `size` bytes: byte flips (often in the header or the
    trailer, where the structure is), a truncation, or inserted bytes."""
    hot = st.one_of(
        st.integers(0, min(size, 64) - 1),
        st.integers(max(0, size - 64), size - 1),
        st.integers(0, size - 1),
    )
    edit = st.one_of(
        st.tuples(st.just("flip"), hot, st.integers(1, 255)),
        st.tuples(st.just("truncate"), hot, st.just(0)),
        st.tuples(st.just("insert"), hot, st.integers(0, 255)),
    )
    return draw(st.lists(edit, min_size=1, max_size=3))


def corrupt(data: bytes, edits) -> bytes:
    data = bytearray(data)
    for kind, position, value in edits:
        position = min(position, max(len(data) - 1, 0))
        if kind == "flip" and data:
            data[position] ^= value
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = bytes([value])
    return bytes(data)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


# The real test-split files stand in for both splits, to keep each example fast.
REAL = {
    name: _read(os.path.join(mnist.EMBEDDED_DIR, name))
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
}
IDX_NAMES = [name + ".gz" for name in mnist.IDX_FILES.values()]


def _mnist_folder(folder, raw):
    """The four IDX files (gzipped, or raw if `raw`); returns {name: bytes}."""
    files = {}
    for name in IDX_NAMES:
        data = REAL[name.replace("train", "t10k")]
        if raw:
            name, data = name[: -len(".gz")], gzip.decompress(data)
        files[name] = data
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    return files


def _assert_valid(data, image_shape=(28, 28, 1)):
    assert isinstance(data, ImageData)
    assert data.train_images.shape[1:] == image_shape
    assert len(data.train_labels) == len(data.train_images)


def _assert_loads_or_one_line_error(
    folder, load=lambda folder: mnist.load("files", folder), image_shape=(28, 28, 1)
):
    """Loading damaged files either gives valid data or one DrawError line."""
    try:
        data = load(folder)
    except DrawError as e:
        assert "\n" not in str(e)
    else:
        _assert_valid(data, image_shape)


@FUZZ
@given(which=st.sampled_from(range(4)), raw=st.booleans(), edits=st.data(), npz=st.just(False))
def test_corrupt_mnist_idx_files_give_draw_errors(which, raw, edits, npz):
    with tempfile.TemporaryDirectory() as folder:
        files = _mnist_folder(folder, raw)
        name = sorted(files)[which]
        damaged = corrupt(files[name], edits.draw(corruptions(len(files[name]))))
        with open(os.path.join(folder, name), "wb") as f:
            f.write(damaged)
        _assert_loads_or_one_line_error(folder)


@pytest.fixture(scope="module")
def real_npz(tmp_path_factory):
    """The bytes of an mnist.npz (Keras' layout) of the real test split."""
    images = mnist.read_idx(os.path.join(mnist.EMBEDDED_DIR, "t10k-images-idx3-ubyte.gz"), "images")
    labels = mnist.read_idx(os.path.join(mnist.EMBEDDED_DIR, "t10k-labels-idx1-ubyte.gz"), "labels")
    path = tmp_path_factory.mktemp("npz") / "mnist.npz"
    np.savez_compressed(path, x_train=images, y_train=labels, x_test=images, y_test=labels)
    return _read(path)


@settings(FUZZ, max_examples=20)
@given(edits=st.data())
def test_corrupt_mnist_npz_gives_draw_errors(edits, real_npz):
    real = real_npz
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "mnist.npz"), "wb") as f:
            f.write(corrupt(real, edits.draw(corruptions(len(real)))))
        _assert_loads_or_one_line_error(folder)


@pytest.fixture(scope="module")
def two_step_trainer(tmp_path_factory):
    """The trainer of a run trained for 2 steps on tiny images: config.json and ckpt-2."""
    images = np.zeros((40, 12, 12, 1), np.uint8)
    images[:, 4:8, 4:8] = 255
    labels = np.zeros(40, np.int32)
    data = ImageData("bars", images, labels, images[:20], labels[:20], "test")
    path = tmp_path_factory.mktemp("fuzz") / "run"
    overrides = dict(train_iters=2, checkpoint_every=2, log_every=2, image_every=100)
    trainer = tiny_trainer(path, data, **overrides)
    trainer.train()
    return trainer


@FUZZ
@given(edits=st.data())
def test_corrupt_config_json_gives_draw_errors(two_step_trainer, edits):
    real = _read(two_step_trainer.run.config_path)
    with tempfile.TemporaryDirectory() as folder:
        run = RunDir(folder)
        with open(run.config_path, "wb") as f:
            f.write(corrupt(real, edits.draw(corruptions(len(real)))))
        try:
            config, image_shape = run.read()
        except DrawError as e:
            assert "\n" not in str(e)
        else:
            assert isinstance(config, DrawConfig) and len(image_shape) == 3


@FUZZ
@given(suffix=st.sampled_from([".index", ".data-00000-of-00001"]), edits=st.data())
def test_corrupt_checkpoint_gives_draw_errors_or_restores(two_step_trainer, suffix, edits):
    prefix = two_step_trainer.last_good
    with tempfile.TemporaryDirectory() as folder:
        for name in (".index", ".data-00000-of-00001"):
            shutil.copy(prefix + name, os.path.join(folder, "ckpt-2" + name))
        path = os.path.join(folder, "ckpt-2" + suffix)
        real = _read(path)
        with open(path, "wb") as f:
            f.write(corrupt(real, edits.draw(corruptions(len(real)))))
        try:
            restore(two_step_trainer.checkpoint, os.path.join(folder, "ckpt-2"))
        except DrawError as e:
            assert "ckpt-2" in str(e) and "\n" not in str(e)


@pytest.fixture(scope="module")
def svhn_files(tmp_path_factory):
    """The bytes of small train/test .mat files in SVHN's original layout (MATLAB 5, X uint8
    [32, 32, 3, n], y uint8 [n, 1] with 10 for digit 0): the real set is not to be had here."""

    folder = tmp_path_factory.mktemp("svhn")
    write_svhn_folder(str(folder), n_train=6, n_test=4)
    return {name: _read(folder / name) for name in sorted(os.listdir(folder))}


@settings(FUZZ, max_examples=30)
@given(which=st.sampled_from(range(2)), colour=st.sampled_from(["gray", "rgb"]), edits=st.data())
def test_corrupt_svhn_mat_files_give_draw_errors(which, colour, edits, svhn_files):
    from draw.data import svhn

    with tempfile.TemporaryDirectory() as folder:
        name = sorted(svhn_files)[which]
        for other, raw in svhn_files.items():
            damaged = corrupt(raw, edits.draw(corruptions(len(raw)))) if other == name else raw
            with open(os.path.join(folder, other), "wb") as f:
                f.write(damaged)
        _assert_loads_or_one_line_error(
            folder,
            lambda f: svhn.load("files", f, color=colour),
            (32, 32, 1 if colour == "gray" else 3),
        )


# config.json's schema: a stored configuration is read exactly as stored, or refused.
_JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2),
)


@st.composite
def stored_configs(draw):
    """(stored JSON object, the key an edit broke or None): the valid configuration of a
    run with up to three hand edits: a key dropped, an unknown key added, a value replaced
    by an arbitrary JSON value (of any type, NaN, inf, beyond int64), or by a value of the
    key's own type."""
    config = dataclasses.asdict(tiny_config())
    stored = {"config": config, "image_shape": [12, 12, 1]}
    names = sorted(config)
    touched = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["drop", "add", "any value", "same type", "image_shape"]))
        name = draw(st.sampled_from(names))
        if kind == "drop":
            config.pop(name, None)
        elif kind == "add":
            name = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in names))
            config[name] = draw(_JSON_VALUES)
        elif kind == "any value":
            config[name] = draw(_JSON_VALUES)
        elif kind == "same type":
            value = config.get(name, getattr(DrawConfig(), name))
            if isinstance(value, bool):
                config[name] = draw(st.booleans())
            elif isinstance(value, int):
                config[name] = draw(st.integers(-(2**65), 2**65))
            elif isinstance(value, float):
                config[name] = draw(st.floats())
            else:
                config[name] = draw(st.text(max_size=8))
        else:
            name = "image_shape"
            stored["image_shape"] = draw(st.lists(st.integers(-2, 5000), max_size=4))
        touched.append(name)
    return stored, touched


def _others_defaults(stored: dict) -> dict:
    """The defaults (DrawConfig()'s) of the settings in the `own` of the registry entries
    of the models and datasets other than the stored ones, less those the stored model's
    and dataset's entries name."""
    registries = {"model": MODELS, "dataset": DATASETS}
    entries = [
        (key == stored.get(name), entry)
        for name, registry in registries.items()
        for key, entry in registry.items()
    ]
    theirs = {setting for stored_one, entry in entries if stored_one for setting in entry.own}
    others = {setting for stored_one, entry in entries if not stored_one for setting in entry.own}
    return {setting: getattr(DrawConfig(), setting) for setting in others - theirs}


@settings(FUZZ, max_examples=200)
@given(case=stored_configs())
def test_config_json_is_read_as_stored_or_refused_naming_the_key(case):
    stored, touched = case
    with tempfile.TemporaryDirectory() as folder:
        run = RunDir(folder)
        text = json.dumps(stored)
        with open(run.config_path, "w") as f:
            f.write(text)
        try:
            config, image_shape = run.read()
        except DrawError as e:
            message = str(e)
            assert "\n" not in message and run.config_path in message
            named = [name for name in touched if name in message or repr(name) in message]
            assert named, (message, touched)
        else:
            # Read exactly as stored: nothing completed from defaults, every value valid
            # (a run stored before adam_epsilon and lstm_init existed has their old values).
            # A setting only other models and datasets take, when absent, has its default.
            legacy = {} if set(LEGACY_VALUES) & set(stored["config"]) else LEGACY_VALUES
            expected = {**_others_defaults(stored["config"]), **legacy, **stored["config"]}
            assert dataclasses.asdict(config) == expected
            assert list(image_shape) == stored["image_shape"]
            validate(config)
        with open(run.config_path) as f:
            assert f.read() == text  # reading never rewrites it

"""The MNIST loaders, checked against the published checksums and against files the tests
write themselves through an IDX writer and reader of their own; binarization, bad files."""

import gzip
import hashlib
import os
import shutil

import numpy as np
import pytest

from data import mnist, pipeline
from draw.errors import DrawError
from tests.conftest import write_idx

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def embedded():
    return mnist.load("embedded")


def _check_real_mnist(data):
    assert data.train_images.shape == (60000, 28, 28, 1)
    assert data.test_images.shape == (10000, 28, 28, 1)
    assert data.train_images.dtype == np.uint8 and data.train_labels.dtype == np.int32
    assert data.train_images.max() == 255 and data.train_images.min() == 0
    assert np.bincount(data.train_labels).tolist() == TRAIN_COUNTS
    assert np.bincount(data.test_labels).tolist() == TEST_COUNTS
    assert data.image_shape == (28, 28, 1)


def test_embedded_copy_is_real_mnist(embedded):
    _check_real_mnist(embedded)
    assert embedded.source == "embedded"


# MD5 of the canonical uncompressed MNIST files, as published with the data set (and in
# data/mnist_idx/README.md).
CANONICAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def _own_read_idx(raw):
    """The test's own IDX parser: magic 0x0000 08 <ndim>, ndim big-endian int32 sizes, bytes."""
    assert raw[:3] == bytes([0, 0, 8])
    ndim = raw[3]
    dims = np.frombuffer(raw[4 : 4 + 4 * ndim], dtype=">i4")
    return np.frombuffer(raw[4 + 4 * ndim :], dtype=np.uint8).reshape(dims)


@pytest.fixture(scope="module")
def canonical():
    """{file name: uncompressed bytes} of the embedded copy, each checked against the
    published MD5 of the canonical MNIST file."""
    files = {}
    for name, md5 in CANONICAL_MD5.items():
        with gzip.open(os.path.join(mnist.EMBEDDED_DIR, name + ".gz")) as f:
            files[name] = f.read()
        assert hashlib.md5(files[name]).hexdigest() == md5, name
    return files


def test_embedded_loader_matches_the_canonical_bytes(embedded, canonical):
    own = {name: _own_read_idx(raw) for name, raw in canonical.items()}
    np.testing.assert_array_equal(embedded.train_images[..., 0], own["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(embedded.train_labels, own["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(embedded.test_images[..., 0], own["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(embedded.test_labels, own["t10k-labels-idx1-ubyte"])


def _write_gz_folder(folder, canonical):
    """The four IDX files, rewritten by the test's own IDX writer and gzipped."""
    for name, raw in canonical.items():
        write_idx(os.path.join(folder, name + ".gz"), _own_read_idx(raw))


def test_idx_folder_and_npz_give_the_same_arrays(embedded, canonical, tmp_path):
    (tmp_path / "idx").mkdir()
    _write_gz_folder(tmp_path / "idx", canonical)
    from_idx = mnist.load("files", str(tmp_path / "idx"))
    _check_real_mnist(from_idx)
    np.testing.assert_array_equal(from_idx.train_images, embedded.train_images)
    (tmp_path / "npz").mkdir()
    own = {name: _own_read_idx(raw) for name, raw in canonical.items()}
    np.savez(
        tmp_path / "npz" / "mnist.npz",
        x_train=own["train-images-idx3-ubyte"],
        y_train=own["train-labels-idx1-ubyte"],
        x_test=own["t10k-images-idx3-ubyte"],
        y_test=own["t10k-labels-idx1-ubyte"],
    )
    from_npz = mnist.load("auto", str(tmp_path / "npz"))
    np.testing.assert_array_equal(from_npz.test_images, embedded.test_images)
    np.testing.assert_array_equal(from_npz.train_labels, embedded.train_labels)


def test_uncompressed_dotted_idx_files_are_read(tmp_path, embedded, canonical):
    for name, raw in canonical.items():
        (tmp_path / name.replace("-idx", ".idx")).write_bytes(raw)
    data = mnist.load("files", str(tmp_path))
    np.testing.assert_array_equal(data.test_labels, embedded.test_labels)


def _copy_idx(tmp_path):
    for name in mnist.IDX_FILES.values():
        shutil.copy(os.path.join(mnist.EMBEDDED_DIR, name + ".gz"), tmp_path / (name + ".gz"))


def test_truncated_gzip_is_a_clear_error(tmp_path):
    _copy_idx(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DrawError, match="t10k-images"):
        mnist.load("files", str(tmp_path))


def test_wrong_length_and_magic_are_clear_errors(tmp_path):
    path = tmp_path / "x.idx"
    header = (0x803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (2, 28, 28))
    path.write_bytes(header + bytes(100))
    with pytest.raises(DrawError, match="bytes"):
        mnist.read_idx(str(path), "images")
    with pytest.raises(DrawError, match="magic"):
        mnist.read_idx(str(path), "labels")


@pytest.mark.parametrize("make", ["missing_dir", "empty_dir", "bad_npz"])
def test_folder_without_usable_files_is_a_clear_error(tmp_path, make):
    folder = tmp_path / "data"
    if make != "missing_dir":
        folder.mkdir()
    if make == "bad_npz":
        np.savez(folder / "mnist.npz", images=np.zeros(3))
    with pytest.raises(DrawError):
        mnist.load("files", str(folder))


def test_tampered_embedded_file_fails_its_checksum(tmp_path, monkeypatch):
    _copy_idx(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    monkeypatch.setattr(mnist, "EMBEDDED_DIR", str(tmp_path))
    with pytest.raises(DrawError, match="SHA-256"):
        mnist.load("embedded")


def test_dynamic_binarization_is_bernoulli_of_grey_levels_and_fresh_each_step(embedded):
    batches = pipeline.train_batches(embedded, 500, seed=3, binarize="dynamic").take(40)
    xs = [x.numpy() for x, _ in batches]
    assert set(np.unique(np.concatenate(xs))) == {0.0, 1.0}
    assert xs[0].shape == (500, 28, 28, 1)
    # Mean of the binary pixels equals the mean grey level (Bernoulli(grey / 255)).
    grey_mean = embedded.train_images.mean() / 255.0
    assert abs(np.mean(xs) - grey_mean) < 0.003
    # The same image drawn in two epochs is binarized differently.
    again = list(
        pipeline.train_batches(embedded, 500, seed=3, binarize="dynamic", start_step=120).take(1)
    )
    first_epoch = list(pipeline.train_batches(embedded, 500, seed=3, binarize="dynamic").take(1))
    assert not np.array_equal(again[0][0].numpy(), first_epoch[0][0].numpy())


def test_batches_are_a_function_of_seed_and_step(embedded):
    stream = list(pipeline.train_batches(embedded, 100, seed=5, binarize="dynamic").take(4))
    resumed = list(
        pipeline.train_batches(embedded, 100, seed=5, binarize="dynamic", start_step=2).take(2)
    )
    for (x, y), (x2, y2) in zip(stream[2:], resumed):
        np.testing.assert_array_equal(x.numpy(), x2.numpy())
        np.testing.assert_array_equal(y.numpy(), y2.numpy())
    other = list(pipeline.train_batches(embedded, 100, seed=6, binarize="dynamic").take(1))
    assert not np.array_equal(other[0][1].numpy(), stream[0][1].numpy())


def test_an_epoch_visits_every_training_image_once(tiny_data):
    labels = [y.numpy() for _, y in pipeline.train_batches(tiny_data, 20, 0, "none").take(10)]
    images = [x.numpy() for x, _ in pipeline.train_batches(tiny_data, 20, 0, "none").take(10)]
    seen = np.concatenate(images).reshape(200, -1)
    want = (tiny_data.train_images / 255.0).reshape(200, -1)
    assert sorted(map(bytes, seen.astype(np.uint8))) == sorted(map(bytes, want.astype(np.uint8)))
    assert (
        np.bincount(np.concatenate(labels)).tolist() == np.bincount(tiny_data.train_labels).tolist()
    )


def test_static_and_none_modes(embedded):
    ((x_static, _),) = pipeline.train_batches(embedded, 100, 0, "static").take(1)
    assert set(np.unique(x_static.numpy())) <= {0.0, 1.0}
    ((x_none, _),) = pipeline.train_batches(embedded, 100, 0, "none").take(1)
    values = np.unique(x_none.numpy())
    assert len(values) > 2 and values.min() == 0.0 and values.max() == 1.0
    # Static: the same image always gets the same binarization.
    once = pipeline.binarize_once(embedded.train_images[:50], pipeline.STATIC_SEED)
    np.testing.assert_array_equal(
        once, pipeline.binarize_once(embedded.train_images[:50], pipeline.STATIC_SEED)
    )


def test_test_split_is_binarized_once_with_a_fixed_seed(embedded):
    a = pipeline.test_images(embedded, "dynamic")
    b = pipeline.test_images(embedded, "static")
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {0.0, 1.0} and a.shape == (10000, 28, 28, 1)
    grey = pipeline.test_images(embedded, "none")
    assert abs(grey.mean() - a.mean()) < 0.003
    sizes = [x.shape[0] for x, _ in pipeline.test_batches(embedded, 3000, "dynamic")]
    assert sizes == [3000, 3000, 3000, 1000]

"""generate.py and what it uses (draw.app.generation, draw.app.output_dir, draw.sampling,
draw.figures) on a tiny model trained for a few steps here."""

import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from draw import figures, sampling
from draw.app import generation, output_dir
from draw.errors import DrawError
from draw.models import build_model
from draw.run_dir import RunDir, load_trained_model
from tests import numpy_draw
from tests.helpers import (
    assert_one_line_error,
    checksums,
    generate_main,
    perturbed_model,
    run_script,
    tiny_config,
    tiny_image_data,
    tiny_trainer,
    trainable_weights,
)

SIDE = 12  # the tiny images are 12 x 12


def _grid_side(count, side=SIDE, pad=figures.PAD):
    return count * (side + pad) - pad


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run directory with a tiny model trained for 10 steps on bar images."""
    data = tiny_image_data()
    trainer = tiny_trainer(tmp_path_factory.mktemp("generate") / "run", data, train_iters=10)
    trainer.train()
    return trainer.run, data


@pytest.fixture(scope="module")
def sampler(run):
    _, model, _ = load_trained_model({}, run[0].path)
    return sampling.Sampler(model)


def _context(sampler, run, **request):
    images = run[1].test_images.astype(np.float32) / 255.0
    return generation.Context(sampler, generation.Options(**request), lambda: images)


def _write(context, mode, folder):
    return output_dir.OutputDir(str(folder)).write(generation.MODES[mode](context))


# Latents.


@pytest.mark.parametrize("step", [1, 2, 5])
def test_fix_step_latents_share_step_N_and_vary_elsewhere(step):
    T, n, z_size = 5, 100, 4
    z = sampling.fix_step_latents(sampling.make_generator(7), T, n, z_size, step).numpy()
    assert z.shape == (T, n, z_size)
    fixed = z[step - 1]
    np.testing.assert_array_equal(fixed, np.broadcast_to(fixed[0], fixed.shape))
    for t in range(T):
        if t != step - 1:
            assert len(np.unique(z[t], axis=0)) == n  # every image its own sample
            assert not np.any(np.all(z[t] == fixed[0], axis=1))


def test_fix_step_all_fixes_step_k_in_grid_k(sampler, run, tmp_path):
    config = sampler.config
    paths = _write(_context(sampler, run, fix_step="all", num_samples=20), "fix_step", tmp_path)
    z = np.load(tmp_path / "fix_step_all_z.npy")
    assert z.shape == (config.T, config.T, 20, config.z_size)
    for k in range(config.T):
        for t in range(config.T):
            same = np.all(z[k, t] == z[k, t, :1])
            assert same == (t == k), (k, t)
    assert [os.path.basename(p) for p in paths] == ["fix_step_all.png", "fix_step_all_z.npy"]


@pytest.mark.parametrize("value", ["0", "4", "-1", "two", "1.5"])
def test_fix_step_outside_1_to_T_is_an_error(value):
    with pytest.raises(DrawError, match="--fix_step"):
        generation.fixed_steps(value, 3)


def test_fix_step_values():
    assert generation.fixed_steps("all", 3) == [1, 2, 3]
    assert generation.fixed_steps("3", 3) == [3]


def test_interpolation_endpoints_are_the_given_points_and_midpoint_their_mean():
    rng = np.random.default_rng(0)
    start, end = (tf.constant(rng.normal(size=(4, 3, 5)), tf.float32) for _ in range(2))
    for columns in (3, 10, 11):
        line = sampling.interpolate_latents(start, end, columns).numpy().reshape(4, 3, columns, 5)
        np.testing.assert_array_equal(line[:, :, 0], start.numpy())
        np.testing.assert_array_equal(line[:, :, -1], end.numpy())
        steps = np.diff(line, axis=2)  # equally spaced points on a straight line
        np.testing.assert_allclose(steps, steps[:, :, :1].repeat(columns - 1, 2), atol=1e-5)
        if columns % 2:
            middle = line[:, :, columns // 2]
            np.testing.assert_allclose(middle, (start.numpy() + end.numpy()) / 2, atol=1e-6)


def test_same_seed_same_latents_other_seed_or_stream_other_latents():
    def draw(seed, stream=0):
        return sampling.prior_latents(sampling.make_generator(seed, stream), 3, 8, 4).numpy()

    np.testing.assert_array_equal(draw(5), draw(5))
    assert not np.allclose(draw(5), draw(6))
    assert not np.allclose(draw(5), draw(5, stream=1))
    assert abs(draw(1).mean()) < 0.5 and 0.6 < draw(1).std() < 1.4


# The compiled sampler against the independent NumPy recurrence.


def numpy_decode(weights, config, z, image_shape):
    """Stochastic generation of docs/design.md in NumPy: sigmoid(c_t), `[T, n, B, A, C]`."""
    W = {k.split("/", 1)[1]: np.asarray(v, np.float64) for k, v in weights.items()}
    B, A, C = image_shape
    n = z.shape[1]
    c = np.zeros((n, C, B, A))
    dec = (np.zeros((n, config.dec_size)),) * 2
    canvases = []
    for t in range(config.T):
        kernels = (W["decoder/kernel"], W["decoder/recurrent_kernel"], W["decoder/bias"])
        h_dec, dec = numpy_draw.lstm(z[t], dec, *kernels)
        w = h_dec @ W["write/dense/kernel"] + W["write/dense/bias"]
        if config.write_attn:
            N = config.write_n
            params = W["write/window/params/kernel"], W["write/window/params/bias"]
            Fx, Fy, gamma = numpy_draw.window(h_dec, *params, N, A, B)
            c = c + numpy_draw.write_patch(w.reshape(n, C, N, N), Fx, Fy, gamma)
        else:
            c = c + w.reshape(n, C, B, A)
        canvases.append(np.transpose(c, (0, 2, 3, 1)))
    return numpy_draw.sigmoid(np.stack(canvases))


@pytest.mark.parametrize("write_attn,shape", [(True, (12, 12, 1)), (False, (10, 8, 3))])
def test_decode_matches_numpy_generation_in_every_batching(write_attn, shape):
    config = tiny_config(write_attn=write_attn, T=4)
    model = perturbed_model(config, shape)
    z = sampling.prior_latents(sampling.make_generator(0), config.T, 7, config.z_size)
    weights = trainable_weights(model)
    expected = numpy_decode(weights, config, z.numpy(), shape)
    whole = sampling.Sampler(model).decode(z)
    np.testing.assert_allclose(whole["canvas"], expected, atol=1e-4)
    chunked = sampling.Sampler(model, batch=3).decode(z)  # 3 + 3 + 1 images
    np.testing.assert_allclose(chunked["canvas"], whole["canvas"], atol=1e-6)
    assert ("write_window" in whole) == write_attn


def test_reconstruction_and_posterior_means_match_numpy_forward_pass():
    config = tiny_config(T=3)
    model = perturbed_model(config, (12, 12, 1))
    x = (np.random.default_rng(1).uniform(size=(5, 12, 12, 1)) < 0.3).astype(np.float32)
    noise = np.random.default_rng(2).normal(size=(3, 5, config.z_size)).astype(np.float32)
    weights = trainable_weights(model)
    sampler = sampling.Sampler(model, batch=2)
    canvas, _, _ = numpy_draw.draw_forward(weights, config, x, noise)
    got = sampler.reconstruct(x, noise)
    np.testing.assert_allclose(got["canvas"], numpy_draw.sigmoid(canvas), atol=1e-4)
    _, mu, _ = numpy_draw.draw_forward(weights, config, x, np.zeros_like(noise))
    np.testing.assert_allclose(sampler.posterior_means(x), mu, rtol=1e-3, atol=1e-4)


# Pictures.


def test_glimpse_box_is_centred_on_the_window_with_side_N_delta():
    # The centre of a 28-wide image, gx = (A + 1) / 2, is 14 pixels from its left edge.
    left, top, right, bottom = figures.glimpse_box(np.array([14.5]), np.array([1.0]), 2.0, 5)
    assert (left[0], right[0]) == (14.0 - 5.0, 14.0 + 5.0)
    assert (top[0], bottom[0]) == (0.5 - 5.0, 0.5 + 5.0)


def test_boxes_are_drawn_where_the_window_is_and_clipped_to_their_image():
    steps = np.zeros((1, 2, 8, 8, 1))
    # Image 0: a 4-pixel box over pixels 3..6 (1-based); image 1: a box larger than it.
    windows = np.array([[[4.5, 4.5, 1.0], [4.5, 4.5, 10.0]]])
    boxes = (figures.Boxes(windows, 4, (255, 0, 0), width=8),)
    frame = np.asarray(figures.animation_frames(steps, 2, boxes, scale=1)[0].convert("RGB"))
    red = np.all(frame == (255, 0, 0), axis=-1)
    expected = np.zeros((8, 8), bool)
    expected[2:6, 2:6] = True
    expected[3:5, 3:5] = False
    np.testing.assert_array_equal(red[:8, :8], expected)
    assert not red[:, 8:].any()  # the big box lies outside image 1: nothing drawn


def test_colour_images_give_colour_pictures():
    images = np.random.default_rng(0).uniform(size=(2, 5, 6, 4, 3))
    assert figures.grid_picture(images[-1], 2).mode == "RGB"
    frames = figures.animation_frames(images, 2)
    assert len(frames) == 2 and frames[0].mode == "RGB"
    expected = np.rint(images[0, 1] * 255).astype(np.uint8)  # second image, top right
    np.testing.assert_array_equal(np.asarray(frames[0])[:6, 5:9], expected)


def test_stochastic_writes_grid_animation_and_arrays(sampler, run, tmp_path):
    config = sampler.config
    _write(_context(sampler, run, num_samples=100), "stochastic", tmp_path)
    grid = Image.open(tmp_path / "stochastic.png")
    assert grid.size == (_grid_side(10), _grid_side(10)) and grid.mode == "L"
    gif = Image.open(tmp_path / "stochastic.gif")
    assert gif.n_frames == config.T
    assert gif.size == (_grid_side(10), _grid_side(10) + figures.PAD + figures.BAR)
    canvases = np.load(tmp_path / "stochastic_canvases.npy")
    assert canvases.shape == (config.T, 100, SIDE, SIDE, 1) and canvases.dtype == np.float32
    assert 0 <= canvases.min() and canvases.max() <= 1
    np.testing.assert_array_equal(
        np.asarray(grid), np.asarray(figures.grid_picture(canvases[-1], 10))
    )
    gif.seek(config.T - 1)  # the last frame is the final canvas
    last = np.asarray(gif.convert("L"))[: _grid_side(10)]
    np.testing.assert_array_equal(last, np.asarray(grid))
    assert np.load(tmp_path / "stochastic_z.npy").shape == (config.T, 100, config.z_size)


def test_same_seed_same_pictures_other_seed_other_pictures(sampler, run, tmp_path):
    for name, seed in (("a", 4), ("b", 4), ("c", 5)):
        context = _context(sampler, run, num_samples=9, seed=seed, fix_step="2")
        for mode in ("stochastic", "fix_step", "interpolate"):
            _write(context, mode, tmp_path / name)
    for file in ("stochastic_canvases.npy", "fix_step_2.png", "interpolate_prior.png"):
        a, b, c = ((tmp_path / name / file).read_bytes() for name in "abc")
        assert a == b and a != c, file


def test_reconstruct_writes_pairs_and_animation(sampler, run, tmp_path):
    config = sampler.config
    _write(_context(sampler, run, num_samples=6, show_attention=True), "reconstruct", tmp_path)
    grid = Image.open(tmp_path / "reconstruct.png")  # 6 pairs, 3 columns of pairs
    assert grid.size == (_grid_side(3, 2 * SIDE), _grid_side(2))
    left = np.asarray(grid)[:SIDE, :SIDE]
    np.testing.assert_array_equal(left, np.rint(run[1].test_images[0, :, :, 0]).astype(np.uint8))
    gif = Image.open(tmp_path / "reconstruct.gif")
    scale = figures.ATTENTION_SCALE
    assert gif.n_frames == config.T
    assert gif.size == (scale * _grid_side(3, 2 * SIDE), scale * (_grid_side(2) + 1 + figures.BAR))


def test_attention_boxes_read_on_the_image_and_write_on_the_canvas(run, tmp_path):
    model = build_model(tiny_config(), (SIDE, SIDE, 1))
    for head in (model.reader, model.writer):  # small windows: N * delta = 3 * 0.55 pixels
        head.window.params.bias.assign([0.0, 0.0, 0.0, np.log(0.1), 0.0])
    context = _context(sampling.Sampler(model), run, num_samples=4, show_attention=True)
    _write(context, "reconstruct", tmp_path)
    gif = Image.open(tmp_path / "reconstruct.gif")
    scale, cell = figures.ATTENTION_SCALE, 2 * SIDE + figures.PAD
    for t in range(gif.n_frames):
        gif.seek(t)
        frame = np.asarray(gif.convert("RGB"))
        # Each cell holds the image (left half) and the canvas (right half).
        column = (np.arange(frame.shape[1]) // scale) % cell
        for colour, half in (
            (figures.READ_COLOUR, column < SIDE),
            (figures.WRITE_COLOUR, column >= SIDE),
        ):
            drawn = np.all(frame == colour, axis=-1)
            assert drawn[:, half].sum() > 0 and drawn[:, ~half].sum() == 0, (t, colour)


def test_fix_step_N_writes_one_grid(sampler, run, tmp_path):
    _write(_context(sampler, run, num_samples=100, fix_step="2"), "fix_step", tmp_path)
    assert Image.open(tmp_path / "fix_step_2.png").size == (_grid_side(10), _grid_side(10))
    z = np.load(tmp_path / "fix_step_2_z.npy")
    assert z.shape == (1, sampler.config.T, 100, sampler.config.z_size)
    assert np.all(z[0, 1] == z[0, 1, :1]) and not np.all(z[0, 0] == z[0, 0, :1])


@pytest.mark.parametrize("source,columns", [("prior", 10), ("data", 12)])
def test_interpolate_writes_rows_of_ten(sampler, run, tmp_path, source, columns):
    context = _context(sampler, run, num_samples=30, interpolate_from=source)
    _write(context, "interpolate", tmp_path)
    picture = Image.open(tmp_path / f"interpolate_{source}.png")
    assert picture.size == (_grid_side(columns), _grid_side(3))
    z = np.load(tmp_path / f"interpolate_{source}_z.npy").reshape(sampler.config.T, 3, 10, -1)
    if source == "data":  # the endpoints are posterior means of test images
        grid = np.asarray(picture)
        ends = [grid[:SIDE, :SIDE], grid[:SIDE, -SIDE:]]
        images = run[1].test_images
        for end, latent in zip(ends, (z[:, 0, 0], z[:, 0, -1])):
            match = [np.array_equal(end, image[:, :, 0]) for image in images]
            x = images[[match.index(True)]].astype(np.float32) / 255.0
            np.testing.assert_allclose(sampler.posterior_means(x)[:, 0], latent, atol=1e-5)


# Output files.


def test_existing_file_is_not_replaced_and_nothing_is_written(tmp_path):
    (tmp_path / "b.png").write_bytes(b"keep me")
    outputs = [output_dir.Output(name, lambda f: f.write(b"new")) for name in ("a.png", "b.png")]
    with pytest.raises(DrawError, match="b.png exists"):
        output_dir.OutputDir(str(tmp_path)).write(outputs)
    assert sorted(os.listdir(tmp_path)) == ["b.png"]
    assert (tmp_path / "b.png").read_bytes() == b"keep me"
    output_dir.OutputDir(str(tmp_path), overwrite=True).write(outputs)
    assert sorted(os.listdir(tmp_path)) == ["a.png", "b.png"]  # no temporary files left
    assert (tmp_path / "b.png").read_bytes() == b"new"


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"old")

    def broken(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(DrawError, match="No space left"):
        output_dir.OutputDir(str(tmp_path), overwrite=True).write(
            [output_dir.Output("a.npy", broken)]
        )
    assert os.listdir(tmp_path) == ["a.npy"] and (tmp_path / "a.npy").read_bytes() == b"old"


def test_out_dir_that_cannot_be_written_is_an_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DrawError, match="cannot be written"):
        output_dir.OutputDir(str(tmp_path / "file" / "samples")).check_writable()


# generate.py itself.


def test_script_writes_the_same_files_as_the_library_for_the_same_seed(sampler, run, tmp_path):
    result = run_script(
        "generate.py",
        f"--logdir={run[0].path}",
        f"--out_dir={tmp_path}/script",
        "--stochastic",
        "--fix_step=all",
        "--num_samples=16",
        "--seed=3",
    )
    assert result.returncode == 0, result.stderr
    assert "stochastic.gif" in result.stdout and "fix_step_all.png" in result.stdout
    context = _context(sampler, run, num_samples=16, seed=3, fix_step="all")
    for mode in ("stochastic", "fix_step"):
        _write(context, mode, tmp_path / "library")
    for name in ("stochastic_z.npy", "fix_step_all_z.npy", "stochastic_canvases.npy"):
        a, b = (np.load(tmp_path / folder / name) for folder in ("script", "library"))
        np.testing.assert_array_equal(a, b)


def test_script_bad_input_is_one_line_and_changes_nothing(run, tmp_path):
    before = checksums(run[0].path)
    result = run_script("generate.py", f"--logdir={run[0].path}", "--fix_step=0")
    assert_one_line_error(result, "--fix_step=0", "1..T=3")
    assert result.returncode == 2
    assert checksums(run[0].path) == before


def test_default_out_dir_is_inside_the_run_and_is_never_overwritten(run, tmp_path, capsys):
    samples = os.path.join(run[0].path, "samples")
    generate_main(f"--logdir={run[0].path}", "--interpolate", "--num_samples=10")
    assert sorted(os.listdir(samples)) == ["interpolate_prior.png", "interpolate_prior_z.npy"]
    before = checksums(run[0].path)
    with pytest.raises(DrawError, match="exists; pass --overwrite"):
        generate_main(f"--logdir={run[0].path}", "--interpolate", "--num_samples=20")
    assert checksums(run[0].path) == before
    generate_main(f"--logdir={run[0].path}", "--interpolate", "--num_samples=20", "--overwrite")
    assert checksums(run[0].path) != before
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--stochastic", "--fix_step=4"], "--fix_step=4 is outside 1..T=3"),
        (["--fix_step=x"], "--fix_step=x"),
        (["--stochastic", "--num_samples=0"], "--num_samples must be positive"),
        (["--stochastic", "--num_samples=-3"], "--num_samples must be positive"),
        (["--stochastic", "--seed=-1"], "--seed must be non-negative"),
        (["--num_samples=5"], "choose what to generate"),
        (["--stochastic", "--T=4"], "--T=4 contradicts"),
        (["--reconstruct"], "test images are (28, 28, 1), the model was trained on (12, 12, 1)"),
        (["--stochastic", "--out_dir={run}/config.json/x"], "cannot be written"),
        (["--stochastic", "--checkpoint={run}/checkpoints/ckpt-99"], "ckpt-99 not found"),
    ],
)
def test_bad_input_is_a_draw_error_and_changes_nothing(run, args, fragment):
    path = run[0].path
    before = checksums(path)
    with pytest.raises(DrawError, match=re.escape(fragment)):
        generate_main(f"--logdir={path}", *(a.replace("{run}", path) for a in args))
    assert checksums(path) == before


def test_run_without_config_or_checkpoint_is_an_error(tmp_path, run):
    with pytest.raises(DrawError, match="no trained run"):
        generate_main(f"--logdir={tmp_path}/empty", "--stochastic")
    unfinished = RunDir(str(tmp_path / "unfinished"))
    unfinished.write(run[0].read()[0], (SIDE, SIDE, 1))
    with pytest.raises(DrawError, match="no checkpoint"):
        generate_main(f"--logdir={unfinished.path}", "--stochastic")
    assert os.listdir(unfinished.path) == ["config.json"]


def test_many_samples_stream_to_disk_and_the_pictures_show_the_first(sampler, run, tmp_path):
    n, shown = generation.PICTURE_LIMIT + 100, generation.PICTURE_LIMIT
    _write(_context(sampler, run, num_samples=n, seed=2), "stochastic", tmp_path)
    z = np.load(tmp_path / "stochastic_z.npy")
    canvases = np.load(tmp_path / "stochastic_canvases.npy", mmap_mode="r")
    config = sampler.config
    assert z.shape == (config.T, n, config.z_size)
    assert canvases.shape == (config.T, n, SIDE, SIDE, 1) and canvases.dtype == np.float32
    # The latents are the stochastic stream's, drawn sampling.DECODE_BATCH at a time.
    generator = sampling.named_stream(2, "stochastic")
    first = sampling.prior_latents(generator, config.T, sampling.DECODE_BATCH, config.z_size)
    np.testing.assert_array_equal(z[:, : sampling.DECODE_BATCH], first.numpy())
    # Each canvas decodes its own latents, with the NumPy reference of the model.
    weights = trainable_weights(sampler.model)
    for i in (0, 1234, n - 1):
        expected = numpy_decode(weights, config, z[:, i : i + 1], (SIDE, SIDE, 1))
        np.testing.assert_allclose(canvases[:, i : i + 1], expected, atol=1e-4)
    grid = np.asarray(Image.open(tmp_path / "stochastic.png"))
    columns = generation.grid_columns(shown)
    np.testing.assert_array_equal(
        grid, np.asarray(figures.grid_picture(canvases[-1, :shown], columns))
    )


def test_a_request_the_disk_cannot_hold_is_refused_before_writing(sampler, run, tmp_path):
    class Full:
        free, total = 3 * 10**9, 10**10

    n = 2_000_000  # 3.5 GB of canvases (T=3, 12x12) and 0.1 GB of latents; 2.0 GB free
    context = _context(sampler, run, num_samples=n)
    out = output_dir.OutputDir(str(tmp_path))
    original = output_dir.shutil.disk_usage
    output_dir.shutil.disk_usage = lambda path: Full
    try:
        with pytest.raises(DrawError, match=r"need 3.6 GB in .* 3.0 GB free, of which 1.0 GB"):
            out.write(generation.MODES["stochastic"](context))
    finally:
        output_dir.shutil.disk_usage = original
    assert os.listdir(tmp_path) == []


def test_paths_starting_with_a_tilde_are_the_users(run, tmp_path, monkeypatch, capfd):
    from tests.script_runner import run_in_process

    home = tmp_path / "home"
    shutil.copytree(run[0].path, home / "run")
    monkeypatch.setenv("HOME", str(home))
    args = ["--logdir=~/run", "--out_dir=~/samples", "--stochastic", "--num_samples=4"]
    status, out, err = run_in_process(capfd, "generate.py", *args)
    assert status == 0, err
    assert "stochastic.png" in os.listdir(home / "samples")
    assert not os.path.exists("~")

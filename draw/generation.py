"""What generate.py makes from a trained DRAW: latents, the compiled decoder, generate.py's
options, one function per mode, and the folder the files go to.

`Options` defines generate.py's flags (one field each) and validates them. A mode takes a
`Context` (the compiled sampler, the options, the test images on demand) and returns the
files it wants written (`Output`); it writes nothing itself, so that `OutputDir.write` can
check every target before any file is touched. `MODES` maps a mode's name (its flag) to
its function: a new mode is a function, a line in MODES and a field of Options.

Each mode draws from its own random stream of the seed, so a mode's pictures depend on
the seed alone, not on which other modes ran in the same invocation.

Latents are `[T, n, z_size]`: step t's sample for each of n images. The builders below
draw them from a `tf.random.Generator` owned by the caller (so a seed gives the same
latents in every process, whatever the model's training noise state), and `Sampler`, the
one compiled decoder, turns latents (or test images) into canvases in chunks of a bounded
number of images.

- `prior_latents`: z_t ~ N(0, I) at every step (stochastic generation).
- `fix_step_latents`: the report's Figure 1, z_N shared by all n images.
- `interpolate_latents`: the report's Figure 2, lines between two latents of all T steps.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from PIL import Image

from draw import distribute, figures
from draw.errors import DrawError
from draw.models import CLASSIFIERS
from draw.options import SEED_LIMIT, check_fields, option
from draw.progress import Progress
from draw.run_dir import check_replaceable, fill, remove_leftovers, temporary_file

# Latents and the compiled decoder.

DECODE_BATCH = 1000  # images per call of the compiled functions (bounds the memory)


def make_generator(seed: int, stream: int = 0) -> tf.random.Generator:
    """A fresh counter-based (Philox) generator: the same (seed, stream) gives the same
    numbers in every process; different streams of one seed are independent."""
    return tf.random.Generator.from_key_counter(key=seed, counter=[0, stream], alg="philox")


def named_stream(seed: int, name: str) -> tf.random.Generator:
    """The generator of the stream called name (e.g. "stochastic") of seed: a mode of
    generate.py draws from its own stream, so its pictures depend on the seed alone."""
    return make_generator(seed, zlib.crc32(name.encode()))


def prior_latents(generator: tf.random.Generator, T: int, n: int, z_size: int) -> tf.Tensor:
    """z_t ~ N(0, I) for every step and image: `[T, n, z_size]`."""
    return generator.normal([T, n, z_size])


def prior_latent_chunks(generator: tf.random.Generator, T: int, n: int, z_size: int):
    """`prior_latents` for any n in bounded memory: yields (start, z `[T, c, z_size]`) for
    images start .. start + c, drawn DECODE_BATCH images at a time (c <= DECODE_BATCH).
    For n <= DECODE_BATCH the one chunk is prior_latents(generator, T, n, z_size); the
    chunks of a larger n do not depend on how many of them are consumed."""
    for start in range(0, n, DECODE_BATCH):
        yield start, prior_latents(generator, T, min(DECODE_BATCH, n - start), z_size)


def fix_step_latents(
    generator: tf.random.Generator, T: int, n: int, z_size: int, step: int
) -> tf.Tensor:
    """Prior latents `[T, n, z_size]` whose step `step` (1-based) is one sample shared by
    all n images, while every other step varies from image to image."""
    z = prior_latents(generator, T, n, z_size)
    shared = tf.broadcast_to(generator.normal([1, 1, z_size]), [1, n, z_size])
    return tf.concat([z[: step - 1], shared, z[step:]], axis=0)


def interpolate_latents(start: tf.Tensor, end: tf.Tensor, columns: int) -> tf.Tensor:
    """Linear interpolation of all T steps at once, one line per row.

    Args:
      start, end: `[T, rows, z_size]` the endpoints of each row's line.
      columns: points per line, the first `start` and the last `end` exactly.

    Returns `[T, rows * columns, z_size]`, row-major: image r*columns + j is
    (1 - a_j) start_r + a_j end_r with a_j = j / (columns - 1).
    """
    if columns < 2:
        raise DrawError(f"an interpolation needs at least 2 columns, got {columns}")
    alpha = tf.reshape(tf.linspace(0.0, 1.0, columns), [1, 1, columns, 1])
    line = (1.0 - alpha) * start[:, :, tf.newaxis] + alpha * end[:, :, tf.newaxis]
    T, rows, z_size = start.shape
    return tf.reshape(line, [T, rows * columns, z_size])


class Sampler:
    """The compiled decoder and encoder-decoder of a trained model, run in chunks.

    Args:
      model: a DRAW (draw.model.DRAW) with its weights.
      batch: images per call of the compiled functions (bounds the memory).
    """

    def __init__(self, model, batch: int = DECODE_BATCH):
        self.model = model
        self.config = model.config
        self.batch = batch
        T, z_size = self.config.T, self.config.z_size
        image = [None, model.B, model.A, model.C]
        self._generate = tf.function(
            lambda z: model.generate(z=z), input_signature=[tf.TensorSpec([T, None, z_size])]
        )
        self._posterior = tf.function(
            lambda x, noise: model(x, noise=noise),
            input_signature=[tf.TensorSpec(image), tf.TensorSpec([T, None, z_size])],
        )

    def _batched(self, fn, *inputs, axes, keep):
        """Runs fn over chunks of `self.batch` images along each input's axis in `axes`,
        keeps `keep(outputs)` of each chunk (a dict of `[T, chunk, ...]` tensors) and
        concatenates them along their image axis (1)."""
        n = inputs[0].shape[axes[0]]
        parts = []
        for start in range(0, n, self.batch):
            part = slice(start, start + self.batch)
            chunk = [v[(slice(None),) * a + (part,)] for v, a in zip(inputs, axes)]
            parts.append({k: v.numpy() for k, v in keep(fn(*chunk)).items()})
        return {k: np.concatenate([p[k] for p in parts], axis=1) for k in parts[0]}

    def decode(self, z) -> dict:
        """Decodes latents `[T, n, z_size]` without an encoder.

        Returns numpy: canvas `[T, n, H, W, C]` images sigmoid(c_t) in [0, 1], z, and
        write_window `[T, n, 3]` (gx, gy, delta) with write attention.
        """
        z = tf.convert_to_tensor(z, tf.float32)
        return self._batched(self._generate, z, axes=[1], keep=_as_images)

    def final_logits(self, z) -> np.ndarray:
        """The final canvases c_T `[n, H, W, C]` (logits) of latents `[T, n, z_size]`."""
        z = tf.convert_to_tensor(z, tf.float32)
        keep = lambda outputs: {"logits": outputs["canvas"][-1:]}  # noqa: E731
        return self._batched(self._generate, z, axes=[1], keep=keep)["logits"][0]

    def reconstruct(self, x, noise) -> dict:
        """Runs the encoder and decoder on images x `[n, H, W, C]` in [0, 1].

        noise: `[T, n, z_size]` eps for z_t = mu_t + sigma_t eps_t (zeros give the
        posterior-mean path, z_t = mu_t).
        Returns numpy: canvas `[T, n, H, W, C]` images in [0, 1], mu, log_sigma, z
        `[T, n, z_size]`, and read_window / write_window `[T, n, 3]` with attention.
        """
        x = tf.convert_to_tensor(x, tf.float32)
        noise = tf.convert_to_tensor(noise, tf.float32)
        return self._batched(self._posterior, x, noise, axes=[0, 1], keep=_as_images)

    def posterior_means(self, x) -> np.ndarray:
        """The latents `[T, n, z_size]` of images x on the posterior-mean path: every
        z_t = mu_t, each step's mean given the means of the steps before it."""
        zeros = tf.zeros([self.config.T, len(x), self.config.z_size])
        return self.reconstruct(x, noise=zeros)["z"]


def _as_images(outputs: dict) -> dict:
    """The model's outputs with the canvases as images sigmoid(c_t) in [0, 1]."""
    return {**outputs, "canvas": tf.sigmoid(outputs["canvas"])}


# generate.py: its options and modes, and the folder their files go to.

INTERPOLATION_COLUMNS = 10  # points on each line of the interpolation figure
FIX_STEP_PANEL_COLUMNS = 5
INTERPOLATE_FROM = ("prior", "data")
MAX_SAMPLES = 10_000_000  # --num_samples; the memory each mode needs is checked too
PICTURE_LIMIT = 2_500  # --stochastic draws the first 2,500 samples; its .npy holds all
RESERVE_FRACTION, RESERVE_BYTES = 0.05, 10**9  # disk space generated files never take


@dataclass
class Options:
    """generate.py's flags: the modes (any together) and how they sample."""

    stochastic: bool = option(False, "Sample images from the prior: z_t ~ N(0, I).")
    reconstruct: bool = option(False, "Reconstruct test images, with a canvas GIF.")
    fix_step: str = option(
        "", "N (1..T) or all: grids whose images share the sample z_N (Figure 1)."
    )
    interpolate: bool = option(False, "Lines in latent space, 10 points each (Figure 2).")
    interpolate_from: str = option(
        "prior",
        "Interpolation endpoints: prior (z ~ N(0, I)) or data (posterior means of test images).",
        choices=INTERPOLATE_FROM,
    )
    kernels: bool = option(
        False, "PNG of the learned first-layer conv kernels (--model other than draw)."
    )
    show_attention: bool = option(False, "Draw the read and write glimpses on the GIFs.")
    glimpses: bool = option(
        False,
        "--model=glimpse_classifier: its windows on --num_samples test images, glimpse by "
        "glimpse (glimpses.png: the first 10 images across, the glimpses down; "
        "glimpses.gif: one frame per glimpse).",
    )
    num_samples: int = option(
        100,
        "Images per grid (rows of 10 for --interpolate). --stochastic draws the first 2,500 "
        "and writes all of them to its .npy files, in bounded memory.",
        range=(1, MAX_SAMPLES),
    )
    out_dir: str = option("", "Output folder. Default: RUN/samples.")
    export: str = option(
        "",
        "Write the model as a TensorFlow SavedModel to this folder, with the serving "
        "signatures generate, reconstruct and decode (docs/export.md); it loads with "
        "tf.saved_model.load, without this project.",
    )
    seed: int = option(0, "Seed of all the sampling.", shared=True, range=(0, SEED_LIMIT - 1))

    def modes(self) -> list[str]:
        """The names of the modes asked for, in MODES' order."""
        return [name for name in MODES if getattr(self, name)]

    def validate(self, config, image_shape=None) -> None:
        """DrawError with one sentence for the first value that cannot work with the
        trained run's config (and, given its image_shape, for a request whose arrays
        clearly cannot fit in memory)."""
        if not self.modes() and not self.export:
            raise DrawError(f"choose what to generate: --{', --'.join(MODES)} or --export=DIR")
        check_fields(self)
        self._validate_classifier(config)
        if self.fix_step:
            fixed_steps(self.fix_step, config.T)
        if self.show_attention and not (config.read_attn or config.write_attn):
            raise DrawError("--show_attention needs a model with read or write attention")
        if self.kernels:
            figures.check_has_kernels(config)
        if image_shape is not None and self.modes():
            needed = max(memory_needed(mode, self, config, image_shape) for mode in self.modes())
            what = f"--num_samples={self.num_samples} with --{', --'.join(self.modes())}"
            distribute.check_fits(needed, what)

    def _validate_classifier(self, config) -> None:
        """A classifier has only --glimpses (glimpse_classifier) and --export; a DRAW model
        has every mode but --glimpses."""
        if config.model not in CLASSIFIERS:
            if self.glimpses:
                raise DrawError(
                    "--glimpses is for --model=glimpse_classifier; a DRAW model shows its "
                    "glimpses with --reconstruct --show_attention"
                )
            return
        for mode in self.modes():
            if mode != "glimpses":
                raise DrawError(
                    f"--{mode} is for the DRAW models; --model={config.model} is a classifier "
                    "(--glimpses or --export=DIR)"
                )
        if self.glimpses and config.model != "glimpse_classifier":
            raise DrawError(f"--glimpses needs --model=glimpse_classifier, not {config.model}")


def memory_needed(mode: str, options: Options, config, image_shape) -> int:
    """Bytes a mode holds at once: its canvases over the T steps as float32 (x2: the
    decoder's output and the copy of the pictures), the animation frames."""
    n = options.num_samples
    if mode == "stochastic":
        n = min(n, PICTURE_LIMIT)  # beyond it, the arrays are streamed to disk
    elif mode == "reconstruct":
        n *= 2  # each image beside its reconstruction
    elif mode == "fix_step":
        n *= config.T if options.fix_step == "all" else 1
    elif mode == "interpolate":
        n = math.ceil(n / INTERPOLATION_COLUMNS) * (INTERPOLATION_COLUMNS + 2)
    else:
        return 0
    scale = figures.ATTENTION_SCALE**2 if options.show_attention else 1
    return config.T * n * math.prod(image_shape) * (2 * distribute.FLOAT + scale)


def fixed_steps(fix_step: str, T: int) -> list[int]:
    """--fix_step's value as the 1-based steps to fix, one grid each: "all" is 1..T."""
    if fix_step == "all":
        return list(range(1, T + 1))
    try:
        step = int(fix_step)
    except ValueError:
        raise DrawError(f"--fix_step={fix_step} is neither a step 1..{T} nor all") from None
    if not 1 <= step <= T:
        raise DrawError(f"--fix_step={step} is outside 1..T={T}")
    return [step]


class Context:
    """What a mode works with.

    Args:
      sampler: a Sampler of the trained model.
      options: the Options.
      test_images: returns the test split as the model sees it, float `[n, H, W, C]`
        (called only by the modes that need it).
      log: progress lines of long work go here (None: silent).
    """

    def __init__(self, sampler, options: Options, test_images: Callable[[], np.ndarray], log=None):
        self.sampler = sampler
        self.log = log
        self.config = sampler.config
        self.options = options
        self._test_images = test_images
        self._cached = None

    def generator(self, stream: str) -> tf.random.Generator:
        """A fresh generator for the named stream of the seed."""
        return named_stream(self.options.seed, stream)

    def test_images(self, needed: int) -> np.ndarray:
        if self._cached is None:
            images = np.asarray(self._test_images(), np.float32)
            model = self.sampler.model
            if images.shape[1:] != (model.B, model.A, model.C):
                raise DrawError(
                    f"the test images are {images.shape[1:]}, the model was trained on "
                    f"{(model.B, model.A, model.C)}"
                )
            self._cached = images
        if needed > len(self._cached):
            raise DrawError(
                f"--num_samples={self.options.num_samples} needs {needed} test images, the "
                f"test split has {len(self._cached)}"
            )
        return self._cached


@dataclass
class Output:
    """One file to write: its name in the output folder and a function that writes its
    bytes to a binary file object, or (`to_path`) one that writes the file at a path it
    is given; `size`: its bytes if known, checked against the free disk space before
    anything is written."""

    name: str
    save: Callable
    to_path: bool = False
    size: int = 0


class OutputDir:
    """The folder generated files go to: every file is written atomically, and an existing
    file is replaced only with overwrite.

    Args:
      path: the folder (created if missing).
      overwrite: whether an existing file of the same name may be replaced.
    """

    def __init__(self, path: str, overwrite: bool = False):
        self.path = path
        self.overwrite = overwrite

    def check_writable(self) -> None:
        """DrawError unless the folder, or the nearest of its parents that exists (where
        it would be created), is a folder this process may write into; creates nothing."""
        existing = os.path.abspath(self.path)
        while not os.path.lexists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            reason = f"{existing} is not a folder"
        elif not os.access(existing, os.W_OK | os.X_OK):
            reason = f"{existing} is not writable"
        else:
            return
        raise DrawError(f"--out_dir={self.path} cannot be written: {reason}")

    def create(self) -> None:
        """Creates the folder (if missing) and proves it writable; DrawError if it is not."""
        try:
            os.makedirs(self.path, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.path):
                pass
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise DrawError(f"--out_dir={self.path} cannot be written: {reason}") from None

    def remove_leftovers(self) -> list[str]:
        """Deletes the temporary files killed writers left in the folder."""
        return remove_leftovers(self.path)

    def check_space(self, needed: int) -> None:
        """DrawError if writing `needed` bytes would leave the folder's file system with
        less than 5% of its space (at least 1 GB) free: other writers on it, such as a
        run's checkpoints, keep their room."""
        usage = shutil.disk_usage(self.path)
        reserve = max(RESERVE_FRACTION * usage.total, RESERVE_BYTES)
        if needed and needed > usage.free - reserve:
            raise DrawError(
                f"the files would need {distribute.format_bytes(needed)} in {self.path}, which "
                f"has {distribute.format_bytes(usage.free)} free, of which "
                f"{distribute.format_bytes(reserve)} are kept free; choose a smaller "
                "--num_samples or another --out_dir"
            )

    def write(self, outputs: list[Output]) -> list[str]:
        """Writes every output, or none if one would replace a file without overwrite, the
        disk has too little room for them, or one cannot be written.

        Returns the paths written, in order.
        """
        names = [o.name for o in outputs]
        if len(set(names)) != len(names):
            raise ValueError(f"two outputs share a name: {names}")
        paths = [os.path.join(self.path, name) for name in names]
        for path in paths:
            check_replaceable(path)  # a link or a folder is reported, never replaced
            if os.path.lexists(path) and not self.overwrite:
                raise DrawError(
                    f"{path} exists; pass --overwrite to replace it or choose another --out_dir"
                )
        self.create()
        self.remove_leftovers()
        self.check_space(sum(o.size for o in outputs))
        # Every file is complete (in its temporary file) before the first is renamed into
        # place, so that a writer killed on the way leaves no result, only temporary files.
        with contextlib.ExitStack() as temporaries:
            staged = []
            for output, path in zip(outputs, paths):
                try:
                    tmp = temporaries.enter_context(temporary_file(self.path, output.name))
                    fill(tmp, output.save, output.to_path)
                except OSError as e:
                    reason = e.strerror or type(e).__name__
                    raise DrawError(f"cannot write {path}: {reason}") from None
                staged.append(tmp)
            for tmp, path in zip(staged, paths):
                os.replace(tmp, path)
        return paths


def grid_columns(n: int) -> int:
    """Columns of a near-square grid of n images (10 for 100)."""
    return math.ceil(math.sqrt(n))


def _attention_boxes(ctx: Context, outputs: dict, write_offset: int = 0):
    """The glimpse boxes of outputs' windows (figures.attention_boxes), if the options
    ask for them."""
    if not ctx.options.show_attention:
        return ()
    return figures.attention_boxes(ctx.config, ctx.sampler.model.A, outputs, write_offset)


def _animation(name, steps, columns, boxes) -> Output:
    scale = figures.ATTENTION_SCALE if boxes else 1
    frames = figures.animation_frames(steps, columns, boxes, scale)
    return Output(name, figures.save_gif(frames))


def stochastic(ctx: Context) -> list[Output]:
    """Images from the prior: the final canvases as a grid, the canvas over the T steps as
    an animation, and the canvases sigmoid(c_t) `[T, n, H, W, C]` and latents
    `[T, n, z_size]` as .npy. The pictures show the first PICTURE_LIMIT samples; beyond
    that, the arrays are decoded and written to disk chunk by chunk (bounded memory)."""
    config, n = ctx.config, ctx.options.num_samples
    shown = min(n, PICTURE_LIMIT)
    parts = []
    for start, z in _latent_chunks(ctx):
        if start >= shown:
            break
        parts.append(ctx.sampler.decode(z[:, : shown - start]))
    out = {key: np.concatenate([part[key] for part in parts], axis=1) for key in parts[0]}
    canvases, columns = out["canvas"], grid_columns(shown)
    pictures = [
        Output("stochastic.png", figures.save_png(figures.grid_picture(canvases[-1], columns))),
        _animation("stochastic.gif", canvases, columns, _attention_boxes(ctx, out)),
    ]
    if n == shown:
        return pictures + [
            Output("stochastic_canvases.npy", figures.save_npy(canvases.astype(np.float32))),
            Output("stochastic_z.npy", figures.save_npy(out["z"])),
        ]
    if ctx.log:
        ctx.log(f"the pictures show the first {shown:,} of {n:,} samples; the .npy files all")
    model = ctx.sampler.model
    image_shape = (model.B, model.A, model.C)
    return pictures + [
        _streamed(ctx, "stochastic_canvases.npy", (config.T, n, *image_shape), decode=True),
        _streamed(ctx, "stochastic_z.npy", (config.T, n, config.z_size), decode=False),
    ]


def _latent_chunks(ctx: Context):
    config = ctx.config
    return prior_latent_chunks(
        ctx.generator("stochastic"), config.T, ctx.options.num_samples, config.z_size
    )


def _streamed(ctx: Context, name: str, shape: tuple, decode: bool) -> Output:
    """An .npy of the stochastic samples' canvases (decode) or latents, `shape`
    `[T, n, ...]`, written chunk by chunk: numpy.lib.format.open_memmap lays out the file
    (header and size), then each chunk's T slabs go to their offsets with os.pwrite, which
    (unlike writing through the memory map) keeps no file pages in the process."""

    def save(path):
        layout = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
        offset = layout.offset
        del layout
        T, n = shape[:2]
        slab = distribute.FLOAT * math.prod(shape[2:])  # bytes of one sample at one step
        progress = Progress(f"writing {name}", n, ctx.log, every=30.0)
        with open(path, "r+b") as f:
            for start, z in _latent_chunks(ctx):
                chunk = ctx.sampler.decode(z)["canvas"] if decode else z.numpy()
                chunk = np.ascontiguousarray(chunk, np.float32)
                for t in range(T):
                    os.pwrite(f.fileno(), chunk[t].tobytes(), offset + (t * n + start) * slab)
                progress.update(start + chunk.shape[1])

    return Output(name, save, to_path=True, size=distribute.FLOAT * math.prod(shape) + 128)


def reconstruct(ctx: Context) -> list[Output]:
    """The first n test images, each beside its reconstruction (z_t drawn from the
    posterior), as a grid and as an animation of the canvas with the glimpse boxes (read
    on the image, write on the canvas)."""
    config, n = ctx.config, ctx.options.num_samples
    x = ctx.test_images(n)[:n]
    eps = prior_latents(ctx.generator("reconstruct"), config.T, n, config.z_size)
    out = ctx.sampler.reconstruct(x, eps)  # z_t = mu_t + sigma_t eps_t, eps_t ~ N(0, I)
    pairs = np.concatenate([np.broadcast_to(x, out["canvas"].shape), out["canvas"]], axis=3)
    columns = grid_columns(n)
    boxes = _attention_boxes(ctx, out, write_offset=x.shape[2])
    return [
        Output("reconstruct.png", figures.save_png(figures.grid_picture(pairs[-1], columns))),
        _animation("reconstruct.gif", pairs, columns, boxes),
    ]


def fix_step(ctx: Context) -> list[Output]:
    """The report's Figure 1: grids of n images sharing the sample z_N, one grid per fixed
    step N (all: N = 1..T in one labelled figure); the latents `[grids, T, n, z]` as .npy."""
    config, n = ctx.config, ctx.options.num_samples
    steps = fixed_steps(ctx.options.fix_step, config.T)
    generator = ctx.generator("fix_step")
    z = tf.stack([fix_step_latents(generator, config.T, n, config.z_size, N) for N in steps])
    decoded = ctx.sampler.decode(
        tf.reshape(tf.transpose(z, [1, 0, 2, 3]), [config.T, -1, config.z_size])
    )
    images = decoded["canvas"][-1].reshape((len(steps), n) + decoded["canvas"].shape[2:])
    columns = grid_columns(n)
    grids = [figures.grid_picture(grid, columns) for grid in images]
    if len(steps) == 1:
        name, picture = f"fix_step_{steps[0]}", grids[0]
    else:
        labels = [f"z_{N} fixed" for N in steps]
        name = "fix_step_all"
        picture = figures.labelled_panel(grids, labels, min(len(grids), FIX_STEP_PANEL_COLUMNS))
    return [
        Output(f"{name}.png", figures.save_png(picture)),
        Output(f"{name}_z.npy", figures.save_npy(z.numpy())),
    ]


def interpolate(ctx: Context) -> list[Output]:
    """The report's Figure 2: rows = ceil(n / 10) lines in latent space, all T steps at
    once, 10 points each; endpoints from the prior, or the posterior means of two test
    images (shown at the row's ends). Also the latents `[T, rows * 10, z]` as .npy."""
    config, options = ctx.config, ctx.options
    rows = math.ceil(options.num_samples / INTERPOLATION_COLUMNS)
    generator = ctx.generator("interpolate")
    if options.interpolate_from == "prior":
        start, end = (prior_latents(generator, config.T, rows, config.z_size) for _ in range(2))
    else:
        x = ctx.test_images(2 * rows)
        chosen = tf.argsort(generator.uniform([len(x)]))[: 2 * rows].numpy()
        ends = x[chosen[:rows]], x[chosen[rows:]]
        start, end = (tf.constant(ctx.sampler.posterior_means(e)) for e in ends)
    z = interpolate_latents(start, end, INTERPOLATION_COLUMNS)
    images = ctx.sampler.decode(z)["canvas"][-1]
    columns = INTERPOLATION_COLUMNS
    if options.interpolate_from == "data":
        lines = images.reshape((rows, columns) + images.shape[1:])
        images = np.concatenate([ends[0][:, None], lines, ends[1][:, None]], axis=1)
        images, columns = images.reshape((-1,) + images.shape[2:]), columns + 2
    name = f"interpolate_{options.interpolate_from}"
    return [
        Output(f"{name}.png", figures.save_png(figures.grid_picture(images, columns))),
        Output(f"{name}_z.npy", figures.save_npy(z.numpy())),
    ]


def kernels(ctx: Context) -> list[Output]:
    """The learned first-layer convolution kernels of Models I-III (report section 5.1),
    one labelled row per convolution stack (Model I: x_conv and x_hat_conv)."""
    figure = figures.kernel_figure(figures.first_layer_kernels(ctx.sampler.model))
    return [Output("kernels.png", figures.save_png(figure))]


GLIMPSE_PICTURE_IMAGES = 10  # images across glimpses.png


def glimpses(ctx: Context) -> list[Output]:
    """The glimpse classifier's windows on the first --num_samples test images: a PNG of
    the first GLIMPSE_PICTURE_IMAGES (images across, glimpses down) and a GIF of all of
    them, one frame per glimpse."""
    n = ctx.options.num_samples
    x = ctx.test_images(n)[:n]
    model, N = ctx.sampler.model, ctx.config.read_n
    windows = tf.function(lambda x: model(x)["read_window"])
    read_window = np.concatenate(
        [windows(x[i : i + DECODE_BATCH]).numpy() for i in range(0, n, DECODE_BATCH)], axis=1
    )
    shown = min(n, GLIMPSE_PICTURE_IMAGES)
    picture = figures.glimpse_picture(x[:shown], read_window[:, :shown], N)
    frames = figures.glimpse_frames(x, read_window, N, grid_columns(n), scale=2 if n <= 16 else 1)
    return [
        Output("glimpses.png", figures.save_png(Image.fromarray(picture))),
        Output("glimpses.gif", figures.save_gif(frames)),
    ]


MODES: dict[str, Callable[[Context], list[Output]]] = {
    "stochastic": stochastic,
    "reconstruct": reconstruct,
    "fix_step": fix_step,
    "interpolate": interpolate,
    "kernels": kernels,
    "glimpses": glimpses,
}

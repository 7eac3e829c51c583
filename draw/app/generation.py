"""generate.py's options and modes: what it makes from a trained DRAW.

`Options` defines generate.py's flags (one field each) and validates them. A mode takes a
`Context` (the compiled sampler, the options, the test images on demand) and returns the
files it wants written (`Output`); it writes nothing itself, so that `OutputDir.write` can
check every target before any file is touched. `MODES` maps a mode's name (its flag) to
its function: a new mode is a function, a line in MODES and a field of Options.

Each mode draws from its own random stream of the seed (draw.sampling.named_stream), so a
mode's pictures depend on the seed alone, not on which other modes ran in the same
invocation.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from PIL import Image

from draw import distribute, figures
from draw.app.output_dir import Output
from draw.errors import DrawError
from draw.models import check_glimpses, check_kernels, names_of, task_of
from draw.options import SEED_LIMIT, check_fields, option
from draw.progress import Progress
from draw.registry import CLASSIFICATION
from draw.sampling import (
    DECODE_BATCH,
    fix_step_latents,
    interpolate_latents,
    named_stream,
    prior_latent_chunks,
    prior_latents,
)

INTERPOLATION_COLUMNS = 10  # points on each line of the interpolation figure
FIX_STEP_PANEL_COLUMNS = 5
INTERPOLATE_FROM = ("prior", "data")
MAX_SAMPLES = 10_000_000  # --num_samples; the memory each mode needs is checked too
PICTURE_LIMIT = 2_500  # --stochastic draws the first 2,500 samples; its .npy holds all


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
        False, "PNG of the learned first-layer conv kernels (a --model with convolution layers)."
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
            check_kernels(config)
        if image_shape is not None and self.modes():
            needed = max(memory_needed(mode, self, config, image_shape) for mode in self.modes())
            what = f"--num_samples={self.num_samples} with --{', --'.join(self.modes())}"
            distribute.check_fits(needed, what)

    def _validate_classifier(self, config) -> None:
        """A classifier has only --glimpses (glimpse_classifier) and --export; a DRAW model
        has every mode but --glimpses."""
        if task_of(config) is not CLASSIFICATION:
            if self.glimpses:
                raise DrawError(
                    f"--glimpses is for --model={names_of(lambda entry: entry.glimpses)}; a "
                    "DRAW model shows its glimpses with --reconstruct --show_attention"
                )
            return
        for mode in self.modes():
            if mode != "glimpses":
                raise DrawError(
                    f"--{mode} is for the DRAW models; --model={config.model} is a classifier "
                    "(--glimpses or --export=DIR)"
                )
        if self.glimpses:
            check_glimpses(config)


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

"""What generate.py makes from a trained DRAW: its options, one function per mode, and the
folder the files go to.

`Options` defines generate.py's flags (one field each) and validates them. A mode takes a
`Context` (the compiled sampler, the options, the test images on demand) and returns the
files it wants written (`Output`); it writes nothing itself, so that `OutputDir.write` can
check every target before any file is touched. `MODES` maps a mode's name (its flag) to
its function: a new mode is a function, a line in MODES and a field of Options.

Each mode draws from its own random stream of the seed, so a mode's pictures depend on
the seed alone, not on which other modes ran in the same invocation.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import tensorflow as tf

from draw import figures, plots, sampling
from draw.config import check_choices, option
from draw.errors import DrawError
from draw.run_dir import atomic_write

INTERPOLATION_COLUMNS = 10  # points on each line of the interpolation figure
FIX_STEP_PANEL_COLUMNS = 5
INTERPOLATE_FROM = ("prior", "data")


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
    num_samples: int = option(100, "Images per grid (rows of 10 for --interpolate).")
    out_dir: str = option("", "Output folder. Default: RUN/samples.")
    export: str = option(
        "",
        "Write the model as a TensorFlow SavedModel to this folder, with the serving "
        "signatures generate, reconstruct and decode (docs/export.md); it loads with "
        "tf.saved_model.load, without this project.",
    )
    seed: int = option(0, "Seed of all the sampling.", shared=True)

    def modes(self) -> list[str]:
        """The names of the modes asked for, in MODES' order."""
        return [name for name in MODES if getattr(self, name)]

    def validate(self, config) -> None:
        """DrawError with one sentence for the first value that cannot work with the
        trained run's config."""
        if not self.modes() and not self.export:
            raise DrawError(f"choose what to generate: --{', --'.join(MODES)} or --export=DIR")
        check_choices(self)
        if self.num_samples <= 0:
            raise DrawError(f"--num_samples must be positive, got {self.num_samples}")
        if self.seed < 0:
            raise DrawError(f"--seed must be non-negative, got {self.seed}")
        if self.fix_step:
            fixed_steps(self.fix_step, config.T)
        if self.show_attention and not (config.read_attn or config.write_attn):
            raise DrawError("--show_attention needs a model with read or write attention")
        if self.kernels:
            figures.check_has_kernels(config)


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
      sampler: a draw.sampling.Sampler of the trained model.
      options: the Options.
      test_images: returns the test split as the model sees it, float `[n, H, W, C]`
        (called only by the modes that need it).
    """

    def __init__(self, sampler, options: Options, test_images: Callable[[], np.ndarray]):
        self.sampler = sampler
        self.config = sampler.config
        self.options = options
        self._test_images = test_images
        self._cached = None

    def generator(self, stream: str) -> tf.random.Generator:
        """A fresh generator for the named stream of the seed."""
        return sampling.named_stream(self.options.seed, stream)

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
    bytes to a binary file object."""

    name: str
    save: Callable[[BinaryIO], None]


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
        """Creates the folder and proves it writable; DrawError if it is not."""
        try:
            os.makedirs(self.path, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.path):
                pass
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise DrawError(f"--out_dir={self.path} cannot be written: {reason}") from None

    def write(self, outputs: list[Output]) -> list[str]:
        """Writes every output, or none if one would replace a file without overwrite.

        Returns the paths written, in order.
        """
        names = [o.name for o in outputs]
        if len(set(names)) != len(names):
            raise ValueError(f"two outputs share a name: {names}")
        paths = [os.path.join(self.path, name) for name in names]
        if not self.overwrite:
            for path in paths:
                if os.path.lexists(path):
                    raise DrawError(
                        f"{path} exists; pass --overwrite to replace it or choose another --out_dir"
                    )
        self.check_writable()
        for output, path in zip(outputs, paths):
            atomic_write(path, output.save)
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
    an animation, and the canvases sigmoid(c_t) `[T, n, H, W, C]` and latents as .npy."""
    config, n = ctx.config, ctx.options.num_samples
    z = sampling.prior_latents(ctx.generator("stochastic"), config.T, n, config.z_size)
    out = ctx.sampler.decode(z)
    columns = grid_columns(n)
    return [
        Output(
            "stochastic.png", figures.save_png(figures.grid_picture(out["canvas"][-1], columns))
        ),
        _animation("stochastic.gif", out["canvas"], columns, _attention_boxes(ctx, out)),
        Output("stochastic_canvases.npy", figures.save_npy(out["canvas"].astype(np.float32))),
        Output("stochastic_z.npy", figures.save_npy(out["z"])),
    ]


def reconstruct(ctx: Context) -> list[Output]:
    """The first n test images, each beside its reconstruction (z_t drawn from the
    posterior), as a grid and as an animation of the canvas with the glimpse boxes (read
    on the image, write on the canvas)."""
    config, n = ctx.config, ctx.options.num_samples
    x = ctx.test_images(n)[:n]
    eps = sampling.prior_latents(ctx.generator("reconstruct"), config.T, n, config.z_size)
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
    z = tf.stack(
        [sampling.fix_step_latents(generator, config.T, n, config.z_size, N) for N in steps]
    )
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
        start, end = (
            sampling.prior_latents(generator, config.T, rows, config.z_size) for _ in range(2)
        )
    else:
        x = ctx.test_images(2 * rows)
        chosen = tf.argsort(generator.uniform([len(x)]))[: 2 * rows].numpy()
        ends = x[chosen[:rows]], x[chosen[rows:]]
        start, end = (tf.constant(ctx.sampler.posterior_means(e)) for e in ends)
    z = sampling.interpolate_latents(start, end, INTERPOLATION_COLUMNS)
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
    figure = plots.kernel_figure(figures.first_layer_kernels(ctx.sampler.model))
    return [Output("kernels.png", plots.save_png(figure))]


MODES: dict[str, Callable[[Context], list[Output]]] = {
    "stochastic": stochastic,
    "reconstruct": reconstruct,
    "fix_step": fix_step,
    "interpolate": interpolate,
    "kernels": kernels,
}

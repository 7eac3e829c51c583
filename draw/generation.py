"""What generate.py makes from a trained DRAW, one function per mode.

A mode takes a `Context` (the compiled sampler, the request, the test images on demand)
and returns the files it wants written (`draw.outputs.Output`); it writes nothing itself,
so that generate.py can check every target before any file is touched. `MODES` maps a
mode's name (its generate.py flag) to its function: a new mode is a function and a line.

Each mode draws from its own random stream of the request's seed, so a mode's pictures
depend on the seed alone, not on which other modes ran in the same invocation.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from draw import figures, sampling
from draw.errors import DrawError
from draw.outputs import Output

INTERPOLATION_COLUMNS = 10  # points on each line of the interpolation figure
ATTENTION_SCALE = 3  # animations with glimpse boxes are drawn 3x larger
FIX_STEP_PANEL_COLUMNS = 5
INTERPOLATE_FROM = ("prior", "data")


@dataclass
class Request:
    """What the user asked for (generate.py's flags).

    num_samples: images per grid (rows * 10 for --interpolate).
    seed: seed of all the sampling.
    fix_step: "" (off), "N" (1..T) or "all".
    interpolate_from: "prior" (endpoints z ~ N(0, I)) or "data" (posterior means of two
      test images).
    show_attention: draw the read and write glimpse boxes on the animations.
    """

    num_samples: int = 100
    seed: int = 0
    fix_step: str = ""
    interpolate_from: str = "prior"
    show_attention: bool = False


def check_request(request: Request, config) -> None:
    """DrawError with one sentence for the first value that cannot work with config."""
    if request.num_samples <= 0:
        raise DrawError(f"--num_samples must be positive, got {request.num_samples}")
    if request.seed < 0:
        raise DrawError(f"--seed must be non-negative, got {request.seed}")
    if request.interpolate_from not in INTERPOLATE_FROM:
        raise DrawError(
            f"--interpolate_from={request.interpolate_from} is not one of "
            f"{', '.join(INTERPOLATE_FROM)}"
        )
    if request.fix_step:
        fixed_steps(request.fix_step, config.T)
    if request.show_attention and not (config.read_attn or config.write_attn):
        raise DrawError("--show_attention needs a model with read or write attention")


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
      request: the Request.
      test_images: returns the test split as the model sees it, float `[n, H, W, C]`
        (called only by the modes that need it).
    """

    def __init__(self, sampler, request: Request, test_images: Callable[[], np.ndarray]):
        self.sampler = sampler
        self.config = sampler.config
        self.request = request
        self._test_images = test_images
        self._cached = None

    def generator(self, stream: str) -> tf.random.Generator:
        """A fresh generator for the named stream of the request's seed."""
        return sampling.make_generator(self.request.seed, zlib.crc32(stream.encode()))

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
                f"--num_samples={self.request.num_samples} needs {needed} test images, the "
                f"test split has {len(self._cached)}"
            )
        return self._cached


def grid_columns(n: int) -> int:
    """Columns of a near-square grid of n images (10 for 100)."""
    return math.ceil(math.sqrt(n))


def _attention_boxes(ctx: Context, outputs: dict, write_offset: int = 0):
    """The glimpse boxes of outputs' windows, if the request asks for them: read boxes on
    the image at the cell's left, write boxes on the canvas at write_offset."""
    if not ctx.request.show_attention:
        return ()
    config, width, boxes = ctx.config, ctx.sampler.model.A, []
    if "read_window" in outputs:
        window = outputs["read_window"]
        boxes.append(figures.Boxes(window, config.read_n, figures.READ_COLOUR, width))
    if "write_window" in outputs:
        window = outputs["write_window"]
        boxes.append(
            figures.Boxes(window, config.write_n, figures.WRITE_COLOUR, width, write_offset)
        )
    return tuple(boxes)


def _animation(name, steps, columns, boxes) -> Output:
    scale = ATTENTION_SCALE if boxes else 1
    frames = figures.animation_frames(steps, columns, boxes, scale)
    return Output(name, figures.save_gif(frames))


def stochastic(ctx: Context) -> list[Output]:
    """Images from the prior: the final canvases as a grid, the canvas over the T steps as
    an animation, and the canvases sigmoid(c_t) `[T, n, H, W, C]` and latents as .npy."""
    config, n = ctx.config, ctx.request.num_samples
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
    config, n = ctx.config, ctx.request.num_samples
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
    config, n = ctx.config, ctx.request.num_samples
    steps = fixed_steps(ctx.request.fix_step, config.T)
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
    config, request = ctx.config, ctx.request
    rows = math.ceil(request.num_samples / INTERPOLATION_COLUMNS)
    generator = ctx.generator("interpolate")
    if request.interpolate_from == "prior":
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
    if request.interpolate_from == "data":
        lines = images.reshape((rows, columns) + images.shape[1:])
        images = np.concatenate([ends[0][:, None], lines, ends[1][:, None]], axis=1)
        images, columns = images.reshape((-1,) + images.shape[2:]), columns + 2
    name = f"interpolate_{request.interpolate_from}"
    return [
        Output(f"{name}.png", figures.save_png(figures.grid_picture(images, columns))),
        Output(f"{name}_z.npy", figures.save_npy(z.numpy())),
    ]


def kernels(ctx: Context) -> list[Output]:
    """The learned first-layer convolution kernels of Models I-III (report section 5.1),
    one labelled row per convolution stack (Model I: x_conv and x_hat_conv)."""
    from models.kernels import first_layer_kernels, kernel_picture

    blocks = first_layer_kernels(ctx.sampler.model)
    pictures = [figures.to_pil(kernel_picture({name: k})) for name, k in blocks.items()]
    labels = [f"{name}: first-layer kernels" for name in blocks]
    return [Output("kernels.png", figures.save_png(figures.labelled_panel(pictures, labels, 1)))]


MODES: dict[str, Callable[[Context], list[Output]]] = {
    "stochastic": stochastic,
    "reconstruct": reconstruct,
    "fix_step": fix_step,
    "interpolate": interpolate,
    "kernels": kernels,
}

"""Every picture the scripts save: images (Pillow) and figures with axes (matplotlib).

Images: grids, PNG and GIF savers, canvas animations, glimpse boxes. Images come in as
float `[n, H, W, C]` in [0, 1]; one channel gives a grey ("L") picture, three an "RGB"
one. Grids are `image_grid` (1 pixel of grey between images; TensorBoard's summaries use
it too). An animation has one frame per DRAW step with a bar under the grid that fills up
as the steps go by (it also keeps consecutive frames distinct, so no GIF encoder merges
them).

Figures with axes, labels and a legend: the first-layer kernels of Models I-III
(generate.py --kernels), the NN-NLL histogram of evaluate.py --nn-nll and the chart of
evaluate.py --compare. They use matplotlib's object API (a Figure on the Agg canvas)
rather than pyplot: no global state, no display needed.

`save_png(picture)` and `save_gif(frames)` are savers (file object -> None) for
draw.files.atomic_write.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from draw.errors import DrawError

# Pictures of images (Pillow).

PAD = 1  # pixels between images in a grid
BAR = 2  # height of the animation's progress bar, in grid pixels
FRAME_MS = 250  # duration of a frame of an animation
LAST_FRAME_MS = 1500  # the finished canvas stays longer
READ_COLOUR = (0, 200, 0)
WRITE_COLOUR = (230, 0, 0)
ATTENTION_SCALE = 3  # pictures with glimpse boxes are drawn 3x larger


def image_grid(images: np.ndarray, columns: int, pad: int = 1, pad_value: float = 0.5):
    """Tiles images into a grid.

    images: `[n, H, W, C]` in [0, 1]. Returns `[rows*(H+pad)-pad, columns*(W+pad)-pad, C]`
    with rows = ceil(n / columns); missing cells are left at pad_value.
    """
    images = np.asarray(images)
    n, height, width, channels = images.shape
    rows = -(-n // columns)
    grid = np.full(
        (rows * (height + pad) - pad, columns * (width + pad) - pad, channels),
        pad_value,
        dtype=images.dtype,
    )
    for i in range(n):
        r, c = divmod(i, columns)
        top, left = r * (height + pad), c * (width + pad)
        grid[top : top + height, left : left + width] = images[i]
    return grid


def to_pil(array: np.ndarray, scale: int = 1) -> Image.Image:
    """`[H, W, C]` float in [0, 1] (C = 1 or 3) -> a PIL image, each pixel scale x scale."""
    pixels = np.clip(np.rint(np.asarray(array, np.float64) * 255), 0, 255).astype(np.uint8)
    if scale > 1:
        pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    if pixels.shape[-1] == 1:
        return Image.fromarray(pixels[..., 0])
    return Image.fromarray(pixels)


def grid_picture(images: np.ndarray, columns: int, scale: int = 1) -> Image.Image:
    """images `[n, H, W, C]` tiled `columns` wide (see image_grid)."""
    return to_pil(image_grid(images, columns, pad=PAD), scale)


def glimpse_box(gx, gy, delta, N):
    """The square a glimpse covers, in image coordinates where pixel (a, b) (1-based, as
    gx and gy are) spans [a-1, a] x [b-1, b]: centre (gx - 1/2, gy - 1/2), side N*delta.

    gx, gy, delta: arrays of the same shape. Returns (left, top, right, bottom) arrays.
    """
    half = N * np.asarray(delta) / 2.0
    cx, cy = np.asarray(gx) - 0.5, np.asarray(gy) - 0.5
    return cx - half, cy - half, cx + half, cy + half


@dataclass
class Boxes:
    """The glimpses of one attention head to draw on an animation.

    windows: `[T, n, 3]` (gx, gy, delta) per step and image; N: the glimpse grid size;
    x_offset, width: where the image they belong to lies in a grid cell (pixels from the
    cell's left, and its width); a box is clipped to its image.
    """

    windows: np.ndarray
    N: int
    colour: tuple
    width: int
    x_offset: int = 0


def _draw_boxes(picture, boxes, step, cell_shape, columns, scale):
    """Draws each head's box of `step` on every image of the grid picture, in place."""
    height, cell_width = cell_shape
    for head in boxes:
        gx, gy, delta = np.moveaxis(head.windows[step], -1, 0)
        left, top, right, bottom = glimpse_box(gx, gy, delta, head.N)
        for i in range(len(gx)):
            r, c = divmod(i, columns)
            x0, y0 = c * (cell_width + PAD) + head.x_offset, r * (height + PAD)
            region = tuple(v * scale for v in (x0, y0, x0 + head.width, y0 + height))
            image = picture.crop(region)  # drawing on the crop clips the box to the image
            corners = (left[i], top[i], right[i], bottom[i])
            ImageDraw.Draw(image).rectangle(
                [float(v * scale) - offset for v, offset in zip(corners, (0, 0, 1, 1))],
                outline=head.colour,
            )
            picture.paste(image, region)


def animation_frames(
    steps: np.ndarray, columns: int, boxes: tuple[Boxes, ...] = (), scale: int = 1
) -> list[Image.Image]:
    """One picture per DRAW step.

    steps: `[T, n, H, W, C]` in [0, 1], the grid's images at every step (e.g. the
      canvases sigmoid(c_t), or each test image beside its canvas).
    boxes: glimpse boxes to draw on each frame (the frames then are RGB).
    Returns T pictures of the grid with a progress bar of BAR*scale rows below it.
    """
    T, n, height, width, channels = steps.shape
    frames = []
    for t in range(T):
        grid = image_grid(steps[t], columns, pad=PAD)
        bar = np.full((BAR + PAD, grid.shape[1], channels), 0.5, dtype=grid.dtype)
        bar[PAD:, : int(round(grid.shape[1] * (t + 1) / T))] = 1.0
        picture = to_pil(np.concatenate([grid, bar], axis=0), scale)
        if boxes:
            picture = picture.convert("RGB")
            _draw_boxes(picture, boxes, t, (height, width), columns, scale)
        frames.append(picture)
    return frames


def attention_boxes(config, width: int, outputs: dict, write_offset: int = 0):
    """The glimpse boxes of outputs' windows `[T, n, 3]` (those present): read boxes on the
    image at the cell's left, write boxes on the canvas at write_offset; config gives the
    glimpse sizes, width the images' width."""
    boxes = []
    if "read_window" in outputs:
        boxes.append(Boxes(outputs["read_window"], config.read_n, READ_COLOUR, width))
    if "write_window" in outputs:
        window = outputs["write_window"]
        boxes.append(Boxes(window, config.write_n, WRITE_COLOUR, width, write_offset))
    return tuple(boxes)


def drawing_picture(config, x: np.ndarray, outputs: dict) -> np.ndarray:
    """Images x `[n, H, W, C]` beside their canvases at every step, the read and write
    windows drawn, the T steps from top to bottom: `[T * rows, n * cols, 3]` uint8 (the
    frames of generate.py's reconstruct.gif with --show_attention). outputs: the model's
    on x, with canvases `[T, n, H, W, C]` in [0, 1]."""
    canvas = outputs["canvas"]
    pairs = np.concatenate([np.broadcast_to(x, canvas.shape), canvas], axis=3)
    boxes = attention_boxes(config, x.shape[2], outputs, write_offset=x.shape[2])
    frames = animation_frames(pairs, len(x), boxes, ATTENTION_SCALE)
    return np.concatenate([np.asarray(frame.convert("RGB")) for frame in frames], axis=0)


def glimpse_frames(x: np.ndarray, read_window: np.ndarray, N: int, columns: int, scale=2):
    """The glimpse classifier's windows on its images, one frame per glimpse.

    x: `[n, H, W, C]` in [0, 1]; read_window: `[T, n, 3]` (gx, gy, delta) of each glimpse.
    Returns T RGB pictures of the images' grid, glimpse t's N x N window drawn in frame t.
    """
    steps = np.broadcast_to(x, (len(read_window), *x.shape))
    boxes = (Boxes(read_window, N, READ_COLOUR, x.shape[2]),)
    return animation_frames(steps, columns, boxes, scale)


def glimpse_picture(x: np.ndarray, read_window: np.ndarray, N: int, scale=2) -> np.ndarray:
    """glimpse_frames of images x side by side, the T glimpses from top to bottom:
    `[T * rows, n * cols, 3]` uint8."""
    frames = glimpse_frames(x, read_window, N, len(x), scale)
    return np.concatenate([np.asarray(frame) for frame in frames], axis=0)


def labelled_panel(pictures: list[Image.Image], labels: list[str], columns: int):
    """Pictures of one size side by side, `columns` wide, each with a label above it."""
    font = ImageFont.load_default()
    width, height = pictures[0].size
    label_height = 14
    gap = 8
    rows = -(-len(pictures) // columns)
    panel = Image.new(
        pictures[0].mode,
        (columns * (width + gap) - gap, rows * (height + label_height + gap) - gap),
        color=255 if pictures[0].mode == "L" else (255, 255, 255),
    )
    draw = ImageDraw.Draw(panel)
    for i, (picture, label) in enumerate(zip(pictures, labels)):
        r, c = divmod(i, columns)
        x, y = c * (width + gap), r * (height + label_height + gap)
        draw.text((x + 2, y + 1), label, fill=0 if panel.mode == "L" else (0, 0, 0), font=font)
        panel.paste(picture, (x, y + label_height))
    return panel


def save_png(picture: Image.Image | Figure):
    """A saver (file object -> None) writing a picture or a figure (100 dpi) as PNG."""
    if isinstance(picture, Figure):
        return lambda f: FigureCanvasAgg(picture).print_png(f)
    return lambda f: picture.save(f, format="PNG", optimize=True)


def save_gif(frames: list[Image.Image], frame_ms: int = FRAME_MS, last_ms: int = LAST_FRAME_MS):
    """A saver writing frames as a looping GIF, the last frame held for last_ms."""
    durations = [frame_ms] * (len(frames) - 1) + [last_ms]

    def save(f):
        frames[0].save(
            f,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=0,
            optimize=False,
        )

    return save


def save_npy(array: np.ndarray):
    """A saver writing array in NumPy's .npy format."""
    return lambda f: np.save(f, np.asarray(array), allow_pickle=False)


def first_layer_kernels(model) -> dict[str, np.ndarray]:
    """{conv block name: kernels `[filters, k, k, C]`} of the model's first conv layers
    (those of its `conv_blocks()`); DrawError for a model without them."""
    if not hasattr(model, "conv_blocks"):
        raise DrawError(
            f"--kernels needs a model with convolution layers; {type(model).__name__} has none"
        )
    return {
        name: np.transpose(block.first_kernels.numpy(), (3, 0, 1, 2))
        for name, block in model.conv_blocks().items()
    }


# Figures with axes (matplotlib).

BINS = 40


def nn_nll_histogram(scores, label: str) -> Figure:
    """The histogram of per-sample NN-NLL scores `[n]` (nats), their mean marked.

    label: what was scored, e.g. the run and the reference images (the title)."""
    scores = np.asarray(scores, np.float64)
    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.add_subplot()
    axes.hist(scores, bins=BINS, color="tab:blue", alpha=0.8, label=f"{len(scores)} samples")
    axes.axvline(scores.mean(), color="tab:red", label=f"mean {scores.mean():.2f} nats")
    axes.set_xlabel("NN-NLL of a generated image (nats)")
    axes.set_ylabel("samples")
    axes.set_title(label, fontsize="small")
    axes.legend()
    return figure


def comparison_chart(rows: list[dict], legend: dict[str, str]) -> Figure:
    """One group of horizontal bars per run (the rows of evaluate.py --compare), one bar
    per column of legend ({column: its label}) the rows hold, in nats."""
    measures = [m for m in legend if any(row.get(m) is not None for row in rows)]
    labels = [f"{os.path.basename(str(row['run']))}\n{row['summary']}" for row in rows]
    height = 0.8 / max(len(measures), 1)
    figure = Figure(
        figsize=(7, 1.2 + 0.5 * len(rows) * max(len(measures), 1)), layout="constrained"
    )
    axes = figure.add_subplot()
    positions = np.arange(len(rows))
    for i, measure in enumerate(measures):
        values = [row.get(measure) for row in rows]
        offsets = positions + (i - (len(measures) - 1) / 2) * height
        bars = axes.barh(
            offsets, [np.nan if v is None else v for v in values], height, label=legend[measure]
        )
        axes.bar_label(bars, fmt="%.2f", padding=2, fontsize="small")
    axes.set_yticks(positions, labels, fontsize="small")
    axes.invert_yaxis()  # the first run on top, as in the table
    axes.set_xlabel("nats per image (lower is better)")
    axes.margins(x=0.12)  # room for the bars' labels
    figure.legend(loc="outside lower center", ncols=len(measures), fontsize="small")
    return figure


def kernel_figure(kernels: dict[str, np.ndarray]) -> Figure:
    """The first-layer kernels, one row per convolution stack (its name on the left).

    kernels: {stack name: `[filters, k, k, C]`}. One channel: the weights on one colour
    scale symmetric about 0 for the whole figure (red positive, blue negative), with its
    colour bar; three channels: each kernel min-max scaled to [0, 1] as an RGB image."""
    rows, columns = len(kernels), max(len(w) for w in kernels.values())
    figure = Figure(figsize=(0.8 * columns + 1.5, 0.9 * rows + 0.6), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    limit = max(float(np.abs(w).max()) for w in kernels.values()) or 1.0
    image = None
    for axes_row, (name, weights) in zip(grid, kernels.items()):
        axes_row[0].set_ylabel(name, rotation=0, ha="right", va="center")
        for i, axes in enumerate(axes_row):
            axes.set_xticks([])
            axes.set_yticks([])
            if i >= len(weights):
                axes.set_axis_off()
            elif weights.shape[-1] == 1:
                image = axes.imshow(weights[i, :, :, 0], cmap="RdBu_r", vmin=-limit, vmax=limit)
            else:
                low, high = weights[i].min(), weights[i].max()
                axes.imshow((weights[i] - low) / max(high - low, 1e-12))
    if image is not None:
        figure.colorbar(image, ax=grid, label="weight", shrink=0.9)
    size = "x".join(str(d) for d in next(iter(kernels.values())).shape[1:3])
    figure.suptitle(f"first-layer convolution kernels ({size})", fontsize="medium")
    return figure

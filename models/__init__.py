"""The model variants of the report, built from a DrawConfig.

Today: the DRAW core (draw.model.DRAW) with its ablation switches; the report's Models
I-III (section 4.2) are added here as small subclasses of it.
"""

from __future__ import annotations

from draw.model import DRAW


def build_model(config, image_shape) -> DRAW:
    """The model of config for images of `image_shape` (H, W, C), with its weights created."""
    model = DRAW(config, image_shape, name="draw")
    model.build_variables()
    return model

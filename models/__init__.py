"""The model variants of the report and the classifiers of the DRAW paper's Table 1, built
from a DrawConfig.

--model=draw is the DRAW core (draw.model.DRAW) with its ablation switches (--T,
--read_attn, --write_attn, --noprivy, --read_input); the report's Models I-III (section
4.2) are small subclasses of it that change only the core's hooks.
"""

from __future__ import annotations

from draw.config import CLASSIFIERS
from draw.errors import DrawError
from draw.model import DRAW
from draw.models.classifier import ConvClassifier, GlimpseClassifier
from draw.models.conv_encoder import ConvEncoderDRAW
from draw.models.conv_read import ConvReadDRAW
from draw.models.supervised import NUM_CLASSES, SupervisedDRAW

MODELS = {
    "draw": DRAW,
    "conv_read": ConvReadDRAW,
    "supervised": SupervisedDRAW,
    "conv_encoder": ConvEncoderDRAW,
    "glimpse_classifier": GlimpseClassifier.from_draw_config,
    "conv_classifier": ConvClassifier.from_draw_config,
}


def build_model(config, image_shape):
    """The model of config for images of `image_shape` (H, W, C), with its weights created."""
    model = MODELS[config.model](config, image_shape, name="draw")
    model.build_variables()
    return model


def check_data(config, data) -> None:
    """DrawError when the data cannot serve config's model (Model II needs digit labels)."""
    if config.model not in ("supervised", *CLASSIFIERS):
        return
    for split, labels in (("train", data.train_labels), ("test", data.test_labels)):
        if labels is None or len(labels) == 0 or labels.min() < 0 or labels.max() >= NUM_CLASSES:
            raise DrawError(
                f"--model=supervised needs class labels 0..{NUM_CLASSES - 1}; the {split} split "
                f"of {config.dataset} has none"
            )

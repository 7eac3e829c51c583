"""The part Models I-III share: CNN features of x, computed once per image (x does not
change over the T steps) and given to the encoder at every step."""

from __future__ import annotations

from draw.errors import DrawError
from draw.model import DRAW
from draw.models.blocks import ConvFeatures


def conv_filters(config) -> tuple[int, ...]:
    """--conv_filters as a tuple of positive ints; DrawError if malformed."""
    try:
        filters = tuple(int(f) for f in config.conv_filters.split(","))
    except ValueError:
        filters = ()
    if len(filters) != 2 or min(filters) <= 0:
        raise DrawError(
            f"--conv_filters={config.conv_filters} must be two positive integers, e.g. 16,32"
        )
    return filters


def conv_features(config, name):
    """The ConvFeatures block of --conv_filters, --conv_kernel, --conv_stride."""
    return ConvFeatures(conv_filters(config), config.conv_kernel, config.conv_stride, name=name)


class ImageFeaturesDRAW(DRAW):
    """DRAW whose encoder input at every step ends with flatten(conv(conv(x))).

    Args: those of DRAW; `x_features`: whether to build the features of x (Model I without
    x in its read has none).
    """

    def __init__(self, config, image_shape, x_features=True, **kwargs):
        super().__init__(config, image_shape, **kwargs)
        self.x_conv = conv_features(config, "x_conv") if x_features else None

    @classmethod
    def check_config(cls, config) -> None:
        """DrawError for settings of config this model cannot take (its registry entry's
        check): --conv_filters must parse."""
        conv_filters(config)

    def image_context(self, x):
        """x `[batch, C, B, A]` -> (features `[batch, k]`, {})."""
        if self.x_conv is None:
            return None, {}
        return self.x_conv(x), {}

    def conv_blocks(self):
        """{name: ConvFeatures} of this model, for kernel plots."""
        return {} if self.x_conv is None else {"x_conv": self.x_conv}

"""The part Models I-III share: CNN features of x, computed once per image (x does not
change over the T steps) and given to the encoder at every step."""

from __future__ import annotations

from draw.config import conv_filters
from draw.model import DRAW
from draw.models.blocks import ConvFeatures


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

    def image_context(self, x):
        """x `[batch, C, B, A]` -> (features `[batch, k]`, {})."""
        if self.x_conv is None:
            return None, {}
        return self.x_conv(x), {}

    def conv_blocks(self):
        """{name: ConvFeatures} of this model, for kernel plots."""
        return {} if self.x_conv is None else {"x_conv": self.x_conv}

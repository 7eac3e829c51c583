"""Model I, each-step convolution (report section 4.2.1).

"The read function (without attention) now passes the training image and error image
through two convolution layers. The flattened filter maps are then ... concatenated with
the source image (and error image respectively) or ... returned unchanged."

    concat:  encoder input = [x, x_hat, conv(x_hat), conv(x), h_dec_{t-1}]
    replace: encoder input = [conv(x_hat), conv(x), h_dec_{t-1}]

x and x_hat have separate conv stacks. conv(x) is the same at every step, so it is
computed once (the core's image context); conv(x_hat) is recomputed at each step.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from draw.errors import DrawError
from draw.models.image_features import ImageFeaturesDRAW, conv_features


@keras.saving.register_keras_serializable(package="draw")
class ConvReadDRAW(ImageFeaturesDRAW):
    def __init__(self, config, image_shape, **kwargs):
        reads_x = config.read_input == "both"
        super().__init__(config, image_shape, x_features=reads_x, **kwargs)
        self.x_hat_conv = conv_features(config, "x_hat_conv")
        self.replace = config.conv_read_mode == "replace"

    @classmethod
    def check_config(cls, config) -> None:
        super().check_config(config)
        if config.read_attn:
            raise DrawError(
                "--model=conv_read convolves the whole images (the report's read without "
                "attention): add --noread_attn"
            )
        if not config.conv_read_mode:
            raise DrawError("--model=conv_read needs --conv_read_mode=concat or replace")

    def read(self, x, x_hat, h_dec_prev):
        """The raw read (no attention), then the conv maps of x_hat beside it or alone."""
        r, window = super().read(x, x_hat, h_dec_prev)
        features = self.x_hat_conv(x_hat)
        return (features if self.replace else tf.concat([r, features], axis=-1)), window

    def conv_blocks(self):
        return {**super().conv_blocks(), "x_hat_conv": self.x_hat_conv}

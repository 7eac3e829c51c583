"""Model III, convolutional encoder (report section 4.2.3).

"Instead of passing original image, we passed the cnn features of the image to the
Encoder RNN, and the loss is backpropagated to the added CNN."

    encoder input = [read(x_hat), conv(x), h_dec_{t-1}]     (x itself is not read)
"""

from __future__ import annotations

import keras

from draw.errors import DrawError
from draw.models.image_features import ImageFeaturesDRAW


@keras.saving.register_keras_serializable(package="draw")
class ConvEncoderDRAW(ImageFeaturesDRAW):
    def __init__(self, config, image_shape, **kwargs):
        super().__init__(config, image_shape, **kwargs)
        self.reads_x = False  # the CNN features replace x

    @classmethod
    def check_config(cls, config) -> None:
        super().check_config(config)
        if config.read_input == "error":
            raise DrawError(
                "--read_input does not apply to --model=conv_encoder, whose encoder always "
                "reads the error image and CNN features in place of x"
            )

"""The convolution block of the report's Models I-III (section 5.1).

Images inside DRAW are channels-first `[batch, C, B, A]`; TensorFlow's CPU convolutions
want channels-last, so the blocks take channels-first images and transpose once.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class ConvFeatures(keras.layers.Layer):
    """Convolution layers (ReLU, 'same' padding) whose feature maps are flattened.

    Args:
      filters: filters of each layer, e.g. (16, 32).
      kernel: square kernel size; stride: stride of every layer.

    call: `[batch, C, B, A]` -> `[batch, h * w * filters[-1]]` with h = ceil(B / stride^L).
    """

    def __init__(self, filters, kernel, stride, **kwargs):
        super().__init__(**kwargs)
        # Attributes rather than a list: Keras 3 lists are invisible to tf.train.Checkpoint.
        for i, f in enumerate(filters):
            conv = keras.layers.Conv2D(
                f, kernel, strides=stride, padding="same", activation="relu", name=f"conv{i + 1}"
            )
            setattr(self, f"conv{i + 1}", conv)
        self.num_layers = len(filters)

    @property
    def convs(self):
        return [getattr(self, f"conv{i + 1}") for i in range(self.num_layers)]

    def feature_maps(self, images):
        """`[batch, C, B, A]` -> the last layer's maps `[batch, h, w, filters[-1]]`."""
        maps = tf.transpose(images, [0, 2, 3, 1])
        for conv in self.convs:
            maps = conv(maps)
        return maps

    def call(self, images):
        maps = self.feature_maps(images)
        return tf.reshape(maps, [tf.shape(maps)[0], -1])

    @property
    def first_kernels(self):
        """The first layer's kernels `[kernel, kernel, C, filters[0]]` (for plots)."""
        return self.convs[0].kernel

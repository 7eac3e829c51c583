"""Model II, supervised encoder (report section 4.2.2).

"Two convolution layers with 5x5 kernels take as input the image and produce filter
response maps which are concatenated with the original encoder input at all time steps.
The convolution layer output is fed to two fully connected layers after which a soft-max
cross-entropy loss function as the classification loss L_c."

    encoder input = [read(x, x_hat), conv(x), h_dec_{t-1}]
    class_logits  = Dense(NUM_CLASSES)(Dense(class_hidden, relu)(conv(x)))
    loss          = L_x + L_z + class_weight * L_c,   L_c = softmax cross-entropy
"""

from __future__ import annotations

import keras
import tensorflow as tf

from draw.models.image_features import ImageFeaturesDRAW

NUM_CLASSES = 10  # digits: MNIST 0..9, SVHN with label 10 mapped to 0


@keras.saving.register_keras_serializable(package="draw")
class SupervisedDRAW(ImageFeaturesDRAW):
    def __init__(self, config, image_shape, **kwargs):
        super().__init__(config, image_shape, **kwargs)
        self.classifier = keras.Sequential(
            [
                keras.layers.Dense(config.class_hidden, activation="relu", name="hidden"),
                keras.layers.Dense(NUM_CLASSES, name="logits"),
            ],
            name="classifier",
        )
        self.lc_tracker = keras.metrics.Mean(name="L_c")
        self.accuracy_tracker = keras.metrics.Mean(name="accuracy")

    @property
    def metrics(self):
        return super().metrics + [self.lc_tracker, self.accuracy_tracker]

    def image_context(self, x):
        """(conv features `[batch, k]`, {"class_logits": `[batch, NUM_CLASSES]`})."""
        features, _ = super().image_context(x)
        return features, {"class_logits": self.classifier(features)}

    def compute_losses(self, x, outputs, labels=None):
        """The core's losses plus, given labels, L_c `[batch]` (added to loss with weight
        class_weight) and accuracy `[batch]` (1 where the arg-max class is the label)."""
        losses = super().compute_losses(x, outputs)
        if labels is None:
            return losses
        logits = outputs["class_logits"]
        labels = tf.cast(labels, tf.int32)
        L_c = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels), tf.float32)
        losses["loss"] = losses["loss"] + self.config.class_weight * L_c
        return {**losses, "L_c": L_c, "accuracy": correct}

    def update_metrics(self, losses):
        if "L_c" in losses:
            self.lc_tracker.update_state(losses["L_c"])
            self.accuracy_tracker.update_state(losses["accuracy"])
        return super().update_metrics(losses)

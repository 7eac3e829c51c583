"""Classifiers of cluttered digits (the DRAW paper, section 4.1, Table 1).

GlimpseClassifier, the paper's "differentiable RAM": the read attention alone driving a
recurrent classifier. With h_0 = 0, for t = 1..T:

    window_t = Dense_5(h_{t-1})          # gx~, gy~, log sigma^2, log delta~, log gamma
    r_t      = gamma * Fy . x . Fx^T     # one N x N glimpse of the image
    h_t      = LSTM(h_{t-1}, r_t)
    p(y | x) = softmax(Dense_10(h_T))    # loss: cross-entropy of the true digit

The window and the filterbank are draw.attention's, unchanged. Where the first glimpse
looks is set by the window Dense's bias, since h_0 = 0: with a zero bias the first window
is centred, at a stride delta = (max(A, B) - 1) / (N - 1) (9 pixels for 100 x 100 and
N = 12) but with sigma = 1, a sparse view that misses most of the digit.
`log_sigma2_bias` starts log sigma^2 there instead (3: sigma ~ 4.5, half the stride, so
the first glimpse is a blurred view of the whole image; docs/cluttered.md measures it).

ConvClassifier, the paper's baseline: two convolution layers, then a hidden layer and the
softmax, with about the parameter count of GlimpseClassifier at T=8, N=12, 256 units.

Both share the DRAW core's train and test steps (draw.model.DRAW.train_step, the plain
Keras step) through `compute_losses`, `update_metrics` and `metrics`, as does the step
train.py runs (draw.train_step.TrainStep: gradients summed over the replicas, non-finite
steps not applied).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from draw import attention
from draw.errors import DrawError
from draw.model import DRAW, run_steps

NUM_CLASSES = 10
WINDOW_PARAMS = ("gx", "gy", "log_sigma2", "log_delta", "log_gamma")  # the Dense's 5 outputs


class _Classifier(keras.Model):
    """Loss, metrics and the train/test steps every classifier here shares; a subclass
    defines `call(x) -> {"logits": [batch, NUM_CLASSES], ...}`."""

    num_classes = NUM_CLASSES

    def __init__(self, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.B, self.A, self.C = (int(d) for d in image_shape)
        self.config = None  # the run's DrawConfig, when built from one
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.Mean(name="accuracy")

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker]

    @property
    def variant_metrics(self) -> list[str]:
        return ["accuracy"]

    @classmethod
    def from_draw_config(cls, config, image_shape, **kwargs):
        """The classifier of a run's DrawConfig (models.build_model's entry)."""
        model = cls(image_shape, **cls.arguments(config), **kwargs)
        model.config = config
        return model

    def build_variables(self):
        """Creates every weight by running one image of zeros through the model."""
        self(tf.zeros([1, self.B, self.A, self.C]))

    def compute_losses(self, x, outputs, labels=None):
        """loss (softmax cross-entropy, nats) and accuracy (1 where the arg-max class is
        the label), each `[batch]`."""
        logits = outputs["logits"]
        labels = tf.cast(labels, tf.int32)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        predicted = tf.argmax(logits, -1, output_type=tf.int32)
        return {"loss": loss, "accuracy": tf.cast(tf.equal(predicted, labels), tf.float32)}

    def update_metrics(self, losses):
        self.loss_tracker.update_state(losses["loss"])
        self.accuracy_tracker.update_state(losses["accuracy"])
        return {m.name: m.result() for m in self.metrics}

    # The DRAW core's steps, which use only compute_losses, update_metrics and metrics.
    train_step = DRAW.train_step
    test_step = DRAW.test_step


@keras.saving.register_keras_serializable(package="draw")
class GlimpseClassifier(_Classifier):
    """Differentiable RAM: T glimpses of N x N through the read attention, one LSTM.

    Args:
      image_shape: `(B, A, C)` of the images (100, 100, 1 for cluttered MNIST).
      T: number of glimpses; N: glimpse grid size; units: LSTM units.
      log_sigma2_bias: the window Dense's initial bias on log sigma^2 (the other four
        outputs start at 0), which sets the first glimpse's filter width.
    """

    @staticmethod
    def arguments(config) -> dict:
        return dict(
            T=config.T,
            N=config.read_n,
            units=config.dec_size,
            log_sigma2_bias=config.log_sigma2_bias,
        )

    @staticmethod
    def describe(config) -> str:
        """The model of config in a phrase, with its sizes (a shipped model's card)."""
        return (
            f"{config.T} glimpses of {config.read_n}x{config.read_n}, one LSTM of "
            f"{config.dec_size} units (differentiable RAM)"
        )

    @staticmethod
    def check_config(config) -> None:
        """DrawError for settings of config this model cannot take (its registry entry's
        check)."""
        if not config.read_attn:
            raise DrawError(
                "--model=glimpse_classifier reads through the attention window: drop --noread_attn"
            )

    def __init__(self, image_shape, T=8, N=12, units=256, log_sigma2_bias=3.0, **kwargs):
        super().__init__(image_shape, **kwargs)
        self.T, self.N, self.units = T, N, units
        self.log_sigma2_bias = float(log_sigma2_bias)
        self.window = attention.AttentionWindow(N, self.A, self.B, name="window")
        bias = [self.log_sigma2_bias if p == "log_sigma2" else 0.0 for p in WINDOW_PARAMS]
        self.window.params.bias_initializer = keras.initializers.Constant(bias)
        self.lstm = keras.layers.LSTMCell(units, name="lstm")
        self.logits_layer = keras.layers.Dense(NUM_CLASSES, name="logits")

    def call(self, x, training=False):
        """x: `[batch, B, A, C]` in [0, 1]. Returns a dict: logits `[batch, NUM_CLASSES]`,
        glimpses `[T, batch, C, N, N]`, read_window `[T, batch, 3]` (gx, gy, delta in
        1-based pixel coordinates) and sigma2 `[T, batch, 1]`."""
        batch_size = tf.shape(x)[0]
        images = tf.transpose(x, [0, 3, 1, 2])  # [batch, C, B, A]

        def step(state, _):
            window = self.window(state[0])  # from h_{t-1}
            r = attention.glimpse(images, window)  # [batch, C, N, N]
            _, state = self.lstm(tf.reshape(r, [batch_size, -1]), state)
            geometry = tf.concat([window.gx, window.gy, window.delta], -1)
            sigma2 = _sigma2(window, self.N, self.A)
            return state, {"glimpses": r, "read_window": geometry, "sigma2": sigma2}

        zeros = tf.zeros([batch_size, self.units])
        (h, _), outputs = run_steps(step, [zeros, zeros], tf.zeros([self.T, 1]))
        return {"logits": self.logits_layer(h), **outputs}

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": [self.B, self.A, self.C],
            "T": self.T,
            "N": self.N,
            "units": self.units,
            "log_sigma2_bias": self.log_sigma2_bias,
        }


def _sigma2(window, N, A):
    """The window's filter variance `[batch, 1]`, recovered from its filterbank: Fx's
    first row is a Gaussian, so sigma^2 = its variance (exact unless the image border cuts
    it; for pictures only)."""
    a = tf.range(1, A + 1, dtype=window.Fx.dtype)
    row = window.Fx[:, N // 2, :]  # [batch, A], sums to 1
    mean = tf.reduce_sum(row * a, -1, keepdims=True)
    return tf.reduce_sum(row * tf.square(a - mean), -1, keepdims=True)


@keras.saving.register_keras_serializable(package="draw")
class ConvClassifier(_Classifier):
    """Two convolution layers (5 x 5, 16 filters at stride 2 and 32 filters, each ReLU
    and 2 x 2 max-pooled), a hidden layer of `hidden` ReLU units and the softmax; 424k
    weights at hidden=128 for 100 x 100 images, about GlimpseClassifier's 414k."""

    @staticmethod
    def arguments(config) -> dict:
        return dict(hidden=config.class_hidden)

    @staticmethod
    def describe(config) -> str:
        """The model of config in a phrase, with its sizes (a shipped model's card)."""
        return f"two convolution layers and a hidden layer of {config.class_hidden} units"

    def __init__(self, image_shape, hidden=128, **kwargs):
        super().__init__(image_shape, **kwargs)
        self.hidden = hidden
        self.net = keras.Sequential(
            [
                keras.layers.Conv2D(16, 5, strides=2, activation="relu", name="conv1"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Conv2D(32, 5, activation="relu", name="conv2"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Flatten(),
                keras.layers.Dense(hidden, activation="relu", name="hidden"),
                keras.layers.Dense(NUM_CLASSES, name="logits"),
            ],
            name="net",
        )

    def call(self, x, training=False):
        """x: `[batch, B, A, C]` in [0, 1] -> {"logits": `[batch, NUM_CLASSES]`}."""
        return {"logits": self.net(x)}

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": [self.B, self.A, self.C],
            "hidden": self.hidden,
        }

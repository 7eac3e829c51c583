"""The DRAW model (Gregor et al. 2015) as a keras.Model: Eric Jang's draw.py in TF2.

The recurrence of docs/design.md, in its order and with its names. For t = 1..T:

    x_hat   = x - sigmoid(c_{t-1})
    r_t     = read(x, x_hat, h_dec_{t-1})
    h_enc_t = LSTM_enc(h_enc_{t-1}, [r_t, h_dec_{t-1}])
    z_t     = mu_t + exp(log_sigma_t) * eps_t,   eps_t ~ N(0, I), fresh at every step
    h_dec_t = LSTM_dec(h_dec_{t-1}, z_t)
    c_t     = c_{t-1} + write(h_dec_t)

Variants (models/, the report's ablations and Models I-III) change the core only through
the hooks `image_context` (computed once per image), `read` and `encoder_input`, and by
extending `compute_losses` and the metrics. The encoder's input is
[encoder_input(r_t, context), h_dec_{t-1}] (h_dec only when privy).

Images enter and leave as `[batch, B, A, C]` (height, width, channels) in [0, 1]; inside,
the canvas is channels-first `[batch, C, B, A]` (see draw.attention).
"""

from __future__ import annotations

import dataclasses
import math

import keras
import tensorflow as tf

from draw import attention
from draw.config import DrawConfig
from draw.losses import kl_loss, reconstruction_loss


def use_jang_lstm_init(cell: keras.layers.LSTMCell, input_width: int) -> None:
    """Gives an unbuilt Keras LSTMCell the initial weights of TensorFlow 1's LSTMCell, which
    Eric Jang's draw.py used: one Glorot-uniform draw over the concatenated kernel
    `[input_width + units, 4 * units]`, so the input and the recurrent kernel share the
    limit sqrt(6 / (input_width + 5 * units)) (Keras draws them apart, the recurrent one
    orthogonal). TensorFlow 1 adds 1.0 to the forget gate's pre-activation with a bias
    that starts at 0; Keras' unit_forget_bias starts that bias at 1, the same function
    with the same gradients, so the bias is left as Keras makes it."""
    limit = math.sqrt(6.0 / (input_width + 5 * cell.units))
    cell.kernel_initializer = keras.initializers.RandomUniform(-limit, limit)
    cell.recurrent_initializer = keras.initializers.RandomUniform(-limit, limit)


def _geometry(window):
    """A window's (gx, gy, delta) as `[batch, 3]`, or None without attention."""
    return None if window is None else tf.concat([window.gx, window.gy, window.delta], -1)


# Up to this many steps the recurrence is unrolled in Python, beyond it a tf.while_loop:
# unrolling makes the first step (the trace) longer as T grows, for a slightly shorter step
# (measured by `python -m bench.run --cases=trick_unroll`; figures in bench/README.md).
UNROLL_MAX_T = 16


def run_steps(step, state, inputs):
    """The recurrence `state, outputs_t = step(state, inputs[t])` for t = 0..T-1, where T =
    len(inputs). Returns the last state and the outputs stacked, each `[T, ...]`.

    The first step is traced on its own (it gives the outputs' structure); the other
    T - 1 are unrolled when T <= UNROLL_MAX_T, else run in a tf.while_loop."""
    T = inputs.shape[0]
    state, first = step(state, inputs[0])
    if T <= UNROLL_MAX_T:
        outs = [first]
        for t in range(1, T):
            state, out = step(state, inputs[t])
            outs.append(out)
        return state, tf.nest.map_structure(lambda *v: tf.stack(v), *outs)
    arrays = tf.nest.map_structure(
        lambda v: tf.TensorArray(v.dtype, size=T, element_shape=v.shape).write(0, v), first
    )

    def body(t, state, arrays):
        state, out = step(state, inputs[t])
        return t + 1, state, tf.nest.map_structure(lambda a, v: a.write(t, v), arrays, out)

    _, state, arrays = tf.while_loop(
        lambda t, *_: t < T, body, (tf.constant(1), state, arrays), maximum_iterations=T - 1
    )
    return state, tf.nest.map_structure(lambda a: a.stack(), arrays)


@keras.saving.register_keras_serializable(package="draw")
class DRAW(keras.Model):
    """DRAW with optional read and write attention.

    Args:
      config: the run's DrawConfig (T, sizes, attention switches, seed).
      image_shape: `(B, A, C)`, the dataset's height, width and channels.

    `model.save("draw.keras")` and `keras.saving.load_model("draw.keras")` round-trip it
    (and the variants of models/): `get_config` stores the two arguments as JSON.
    """

    def __init__(self, config: DrawConfig, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.B, self.A, self.C = (int(d) for d in image_shape)
        B, A, C = self.B, self.A, self.C
        if config.read_attn:
            self.reader = attention.AttentiveRead(config.read_n, A, B, name="read")
        else:
            self.reader = attention.Read(name="read")
        if config.write_attn:
            self.writer = attention.AttentiveWrite(config.write_n, A, B, C, name="write")
        else:
            self.writer = attention.Write(A, B, C, name="write")
        self.reads_x = config.read_input == "both"  # --read_input=error: only x_hat
        self.encoder = keras.layers.LSTMCell(config.enc_size, name="encoder")
        self.decoder = keras.layers.LSTMCell(config.dec_size, name="decoder")
        self.mu_layer = keras.layers.Dense(config.z_size, name="mu")
        self.log_sigma_layer = keras.layers.Dense(config.z_size, name="log_sigma")
        self.noise_seed = keras.random.SeedGenerator(config.seed, name="noise_seed")
        # A SeedGenerator is not itself checkpointable: tracking its state variable here
        # puts the noise stream in the checkpoint, so a resumed run draws what it would have.
        self.noise_state = self.noise_seed.state
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.lx_tracker = keras.metrics.Mean(name="L_x")
        self.lz_tracker = keras.metrics.Mean(name="L_z")

    @property
    def metrics(self):
        return [self.loss_tracker, self.lx_tracker, self.lz_tracker]

    @property
    def variant_metrics(self) -> list[str]:
        """The names of the metrics a variant adds to loss, L_x and L_z (Model II: L_c,
        accuracy), for progress lines and result files."""
        return [m.name for m in self.metrics[3:]]

    def get_config(self):
        """The constructor's arguments, JSON-ready: the DrawConfig's fields and the image
        shape `[B, A, C]`, beside the model's name."""
        return {
            **super().get_config(),
            "config": dataclasses.asdict(self.config),
            "image_shape": [self.B, self.A, self.C],
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        draw_config = DrawConfig.from_dict(config.pop("config"))
        return cls(draw_config, config.pop("image_shape"), **config)

    def build(self, input_shape=None):
        """Creates the layers' weights with one step of the recurrence on zeros (the order,
        names and initial values of the weights are those of the recurrence)."""
        zeros = tf.zeros([1, self.C, self.B, self.A])
        h_dec = tf.zeros([1, self.config.dec_size])
        r, _ = self.read(zeros, zeros, h_dec)
        encoder_input = self._encoder_concat(r, self.image_context(zeros)[0], h_dec)
        if self.config.lstm_init == "jang":
            use_jang_lstm_init(self.encoder, encoder_input.shape[-1])
            use_jang_lstm_init(self.decoder, self.config.z_size)
        h_enc, _ = self.encoder(encoder_input, [tf.zeros([1, self.config.enc_size])] * 2)
        self.mu_layer(h_enc)
        self.log_sigma_layer(h_enc)
        self._decode(tf.zeros([1, self.config.z_size]), zeros, [h_dec, h_dec])
        self.built = True

    def build_variables(self):
        """Creates every weight by running one image of zeros through the model."""
        zeros = tf.zeros([1, self.B, self.A, self.C])
        self(zeros, noise=tf.zeros([self.config.T, 1, self.config.z_size]))

    def sample_noise(self, batch_size):
        """eps_t ~ N(0, I) for every step: `[T, batch, z_size]`, independent across steps,
        from the model's generator (its state is in the checkpoint)."""
        shape = (self.config.T, batch_size, self.config.z_size)
        return keras.random.normal(shape, seed=self.noise_seed)

    def _zero_state(self, batch_size):
        c = tf.zeros([batch_size, self.C, self.B, self.A])
        enc_state = [tf.zeros([batch_size, self.config.enc_size])] * 2
        dec_state = [tf.zeros([batch_size, self.config.dec_size])] * 2
        return c, enc_state, dec_state

    def _decode(self, z, c, dec_state):
        """One decoder step: h_dec_t = LSTM_dec(h_dec_{t-1}, z_t); c_t = c_{t-1} +
        write(h_dec_t). z `[batch, z_size]`, c `[batch, C, B, A]`, dec_state [h, cell].

        Returns (c_t, the decoder's state [h_dec_t, cell], the write window's
        (gx, gy, delta) `[batch, 3]` or None)."""
        h_dec, dec_state = self.decoder(z, dec_state)
        update, write_window = self.writer(h_dec)
        return c + update, dec_state, _geometry(write_window)

    # Hooks for the variants (report sections 4.1.1 and 4.2).
    def image_context(self, x):
        """What a variant computes once from `x [batch, C, B, A]` for every step.

        Returns (context `[batch, k]` given to the encoder at every step, or None; a dict of
        extra outputs of `call`).
        """
        return None, {}

    def read(self, x, x_hat, h_dec_prev):
        """r_t = read(x, x_hat, h_dec_{t-1}): x, x_hat `[batch, C, B, A]`, h_dec_prev
        `[batch, dec_size]` -> (r `[batch, width]`, Window or None)."""
        return self.reader(x if self.reads_x else None, x_hat, h_dec_prev)

    def encoder_input(self, r, context):
        """The encoder's input besides h_dec_{t-1}: r_t, then the variant's context if any."""
        return r if context is None else tf.concat([r, context], axis=-1)

    def _encoder_concat(self, r, context, h_dec_prev):
        """[encoder_input(r_t, context), h_dec_{t-1}] (h_dec only when privy)."""
        privy = [h_dec_prev] if self.config.privy else []
        return tf.concat([self.encoder_input(r, context)] + privy, axis=-1)

    def call(self, x, noise=None, training=False):
        """Runs the T steps of encoder and decoder on a batch of images.

        Each layer is called on its own inputs, as in Eric Jang's draw.py.

        Args:
          x: `[batch, B, A, C]` float32 in [0, 1].
          noise: `[T, batch, z_size]` eps for the sampler, or None to draw fresh N(0, I).

        Returns a dict:
          canvas: `[T, batch, B, A, C]` the canvases c_1..c_T (logits; images are
            sigmoid(canvas)).
          mu, log_sigma, z: `[T, batch, z_size]`.
          read_window, write_window (with attention only): `[T, batch, 3]`, the window's
            (gx, gy, delta) in 1-based pixel coordinates.
        """
        batch_size = tf.shape(x)[0]
        x = tf.transpose(x, [0, 3, 1, 2])  # [batch, C, B, A]
        if noise is None:
            noise = self.sample_noise(batch_size)
        context, extra_outputs = self.image_context(x)

        def step(state, eps):
            c, enc_state, dec_state = state
            h_dec = dec_state[0]  # h_dec_{t-1}
            x_hat = x - tf.sigmoid(c)
            r, read_window = self.read(x, x_hat, h_dec)
            h_enc, enc_state = self.encoder(self._encoder_concat(r, context, h_dec), enc_state)
            mu, log_sigma = self.mu_layer(h_enc), self.log_sigma_layer(h_enc)
            z = mu + tf.exp(log_sigma) * eps
            c, dec_state, write_window = self._decode(z, c, dec_state)
            out = {"canvas": c, "mu": mu, "log_sigma": log_sigma, "z": z}
            out.update(read_window=_geometry(read_window), write_window=write_window)
            return (c, enc_state, dec_state), {k: v for k, v in out.items() if v is not None}

        c, enc_state, dec_state = self._zero_state(batch_size)
        _, outputs = run_steps(step, (c, enc_state, dec_state), noise)
        outputs["canvas"] = tf.transpose(outputs["canvas"], [0, 1, 3, 4, 2])
        outputs.update(extra_outputs)
        return outputs

    def generate(self, num_images=None, z=None):
        """Stochastic generation from the prior: no input image, no encoder.

        Args:
          num_images: how many images to draw (ignored when z is given).
          z: `[T, n, z_size]` latents to decode, or None to draw z_t ~ N(0, I).

        Returns a dict: canvas `[T, n, B, A, C]` (logits c_1..c_T), z `[T, n, z_size]`,
        and write_window `[T, n, 3]` with write attention.
        """
        if z is None:
            z = self.sample_noise(num_images)
        batch_size = tf.shape(z)[1]

        def step(state, z_t):
            c, dec_state = state
            c, dec_state, write_window = self._decode(z_t, c, dec_state)
            out = {"canvas": c}
            if write_window is not None:
                out["write_window"] = write_window
            return (c, dec_state), out

        c, _, dec_state = self._zero_state(batch_size)
        _, outputs = run_steps(step, (c, dec_state), z)
        outputs["canvas"] = tf.transpose(outputs["canvas"], [0, 1, 3, 4, 2])
        outputs["z"] = z
        return outputs

    def compute_losses(self, x, outputs, labels=None):
        """Per-image losses in nats: dict of `[batch]` tensors L_x, L_z and loss.

        labels `[batch]` int: used only by variants with a supervised loss (Model II).
        """
        L_x = reconstruction_loss(x, outputs["canvas"][-1])
        L_z = kl_loss(outputs["mu"], outputs["log_sigma"])
        return {"L_x": L_x, "L_z": L_z, "loss": L_x + L_z}

    def update_metrics(self, losses):
        self.loss_tracker.update_state(losses["loss"])
        self.lx_tracker.update_state(losses["L_x"])
        self.lz_tracker.update_state(losses["L_z"])
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        """One Adam step on a batch `(x [batch, B, A, C], labels [batch])` on one device,
        the Keras way: losses, gradients, update, metrics. Returns the metrics' results.

        train.py runs draw.train_step.TrainStep instead: the same losses and gradients on
        the replicas of a tf.distribute strategy, and no update when they are not finite.
        """
        x, labels = data
        with tf.GradientTape() as tape:
            losses = self.compute_losses(x, self(x, training=True), labels)
            loss = tf.reduce_mean(losses["loss"])
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return self.update_metrics(losses)

    def test_step(self, data):
        """Losses of a batch `(x, labels)` without an update."""
        x, labels = data
        return self.update_metrics(self.compute_losses(x, self(x, training=False), labels))

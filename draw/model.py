"""The DRAW model (Gregor et al. 2015) as a keras.Model: Eric Jang's draw.py in TF2.

The recurrence is DESIGN.md section 3, in its order and with its names. For t = 1..T:

    x_hat   = x - sigmoid(c_{t-1})
    r_t     = read(x, x_hat, h_dec_{t-1})
    h_enc_t = LSTM_enc(h_enc_{t-1}, [r_t, h_dec_{t-1}])
    z_t     = mu_t + exp(log_sigma_t) * eps_t,   eps_t ~ N(0, I), fresh at every step
    h_dec_t = LSTM_dec(h_dec_{t-1}, z_t)
    c_t     = c_{t-1} + write(h_dec_t)

Images enter and leave as `[batch, B, A, C]` (height, width, channels) in [0, 1]; inside,
the canvas is channels-first `[batch, C, B, A]` (see draw.attention).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from draw import attention
from draw.config import DrawConfig
from draw.distribute import sum_over_replicas
from draw.losses import kl_loss, reconstruction_loss


class DRAW(keras.Model):
    """DRAW with optional read and write attention.

    Args:
      config: the run's DrawConfig (T, sizes, attention switches, seed).
      image_shape: `(B, A, C)`, the dataset's height, width and channels.
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

    def build_variables(self):
        """Creates every weight by running one image of zeros through the model."""
        zeros = tf.zeros([1, self.B, self.A, self.C])
        self(zeros, noise=tf.zeros([self.config.T, 1, self.config.z_size]))

    def sample_noise(self, batch_size):
        """eps_t ~ N(0, I) for every step: `[T, batch, z_size]`, independent across steps.

        In a tf.distribute replica context with R replicas, each replica draws the noise
        of the whole global batch `[T, R*batch, z_size]` from the (mirrored) generator state
        and keeps its own slice: replicas get different noise, and R replicas use exactly
        the noise one device would draw for the global batch.
        """
        replica = tf.distribute.get_replica_context()
        replicas = replica.num_replicas_in_sync if replica is not None else 1
        shape = (self.config.T, batch_size * replicas, self.config.z_size)
        noise = keras.random.normal(shape, seed=self.noise_seed)
        if replicas == 1:
            return noise
        start = tf.cast(replica.replica_id_in_sync_group, tf.int32) * batch_size
        return noise[:, start : start + batch_size]

    def _zero_state(self, batch_size):
        c = tf.zeros([batch_size, self.C, self.B, self.A])
        enc_state = [tf.zeros([batch_size, self.config.enc_size])] * 2
        dec_state = [tf.zeros([batch_size, self.config.dec_size])] * 2
        return c, enc_state, dec_state

    def _decode(self, z, dec_state, c):
        """One decoder step: h_dec_t = LSTM_dec(h_dec_{t-1}, z_t); c_t = c_{t-1} + write."""
        h_dec, dec_state = self.decoder(z, dec_state)
        update, write_window = self.writer(h_dec)
        return h_dec, dec_state, c + update, write_window

    def call(self, x, noise=None, training=False):
        """Runs the T steps of encoder and decoder on a batch of images.

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
        c, enc_state, dec_state = self._zero_state(batch_size)
        h_dec = dec_state[0]
        steps = {key: [] for key in ("canvas", "mu", "log_sigma", "z")}
        windows = {"read_window": [], "write_window": []}
        for t in range(self.config.T):
            x_hat = x - tf.sigmoid(c)
            r, read_window = self.reader(x, x_hat, h_dec)
            h_enc, enc_state = self.encoder(tf.concat([r, h_dec], axis=-1), enc_state)
            mu = self.mu_layer(h_enc)
            log_sigma = self.log_sigma_layer(h_enc)
            z = mu + tf.exp(log_sigma) * noise[t]
            h_dec, dec_state, c, write_window = self._decode(z, dec_state, c)
            for key, value in (("canvas", c), ("mu", mu), ("log_sigma", log_sigma), ("z", z)):
                steps[key].append(value)
            for key, window in (("read_window", read_window), ("write_window", write_window)):
                if window is not None:
                    windows[key].append(tf.concat([window.gx, window.gy, window.delta], -1))
        outputs = {key: tf.stack(values) for key, values in steps.items()}
        outputs["canvas"] = tf.transpose(outputs["canvas"], [0, 1, 3, 4, 2])
        outputs.update({key: tf.stack(v) for key, v in windows.items() if v})
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
        c, _, dec_state = self._zero_state(tf.shape(z)[1])
        canvases, windows = [], []
        for t in range(self.config.T):
            _, dec_state, c, write_window = self._decode(z[t], dec_state, c)
            canvases.append(c)
            if write_window is not None:
                windows.append(
                    tf.concat([write_window.gx, write_window.gy, write_window.delta], -1)
                )
        outputs = {"canvas": tf.transpose(tf.stack(canvases), [0, 1, 3, 4, 2]), "z": z}
        if windows:
            outputs["write_window"] = tf.stack(windows)
        return outputs

    def compute_losses(self, x, outputs):
        """Per-image losses in nats: dict of `[batch]` tensors L_x, L_z and loss."""
        L_x = reconstruction_loss(x, outputs["canvas"][-1])
        L_z = kl_loss(outputs["mu"], outputs["log_sigma"])
        return {"L_x": L_x, "L_z": L_z, "loss": L_x + L_z}

    def _update_metrics(self, losses):
        self.loss_tracker.update_state(losses["loss"])
        self.lx_tracker.update_state(losses["L_x"])
        self.lz_tracker.update_state(losses["L_z"])
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        """One Adam step on a batch `(x [batch, B, A, C], labels [batch])`.

        Under a tf.distribute strategy it runs on every replica (strategy.run) with the
        replica's share of the global batch; the optimizer (draw.distribute.
        SummedGradientsAdam) clips and applies the gradients summed over the replicas.
        """
        x, _ = data
        with tf.GradientTape() as tape:
            losses = self.compute_losses(x, self(x, training=True))
            # Summed over this replica's images / the global batch size: the gradients
            # summed over the replicas are those of the mean loss of the global batch.
            loss = tf.nn.compute_average_loss(losses["loss"])
        grads = sum_over_replicas(tape.gradient(loss, self.trainable_variables))
        grad_norm = tf.linalg.global_norm(grads)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {**self._update_metrics(losses), "grad_norm": grad_norm}

    def test_step(self, data):
        """Losses of a batch `(x, labels)` without an update."""
        x, _ = data
        return self._update_metrics(self.compute_losses(x, self(x, training=False)))

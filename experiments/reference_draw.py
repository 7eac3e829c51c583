"""An independent DRAW trainer, the yardstick of experiments/fidelity.py:

    python -m experiments.reference_draw [--train_iters=2000] [--seed=0] [--test_npy=PATH]

Written from the DRAW paper's equations in plain TensorFlow and sharing no code with the
project (its own MNIST loading, model, Adam and loop), so that a slip cannot hide in both.
Eric Jang's setup: T=10, 256-unit LSTMs, z=10, 5x5 read and write attention, batch 100,
TF1's Adam (1e-3, beta_1 0.5, beta_2 0.999, epsilon 1e-8), each gradient clipped to norm 5,
dynamic binarization of the 60,000 training images. Prints the test-set bound L_x + L_z
(nats, one posterior sample per image) of the 0/1 images in --test_npy, else of its own
binarization of the test split.
"""

import gzip
import os
import sys
import time

import numpy as np
import tensorflow as tf
from absl import app, flags

A = B = 28  # image width and height
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = flags.FLAGS


def load_images(split):
    """MNIST images of split 'train' or 't10k' as float32 [n, B*A] grey levels in [0, 1]."""
    with gzip.open(os.path.join(ROOT, "data", "mnist_idx", f"{split}-images-idx3-ubyte.gz")) as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, B * A) / np.float32(255)


def binarize(rng, x):
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)


class Draw(tf.Module):
    """Read and write attention, privy encoder, Gaussian latents; weights as in Jang's code."""

    def __init__(self, rng, T=10, lstm_size=256, z_size=10, read_n=5, write_n=5):
        def dense(n_in, n_out):  # tf.get_variable's Glorot-uniform kernel, zero bias
            limit = np.sqrt(6.0 / (n_in + n_out))
            kernel = rng.uniform(-limit, limit, (n_in, n_out)).astype(np.float32)
            return tf.Variable(kernel), tf.Variable(tf.zeros([n_out]))

        self.T, self.z_size, self.units = T, z_size, lstm_size
        self.read_n, self.write_n = read_n, write_n
        self.read_window, self.write_window = dense(lstm_size, 5), dense(lstm_size, 5)
        self.enc = dense(2 * read_n**2 + 2 * lstm_size, 4 * lstm_size)
        self.mu, self.log_sigma = dense(lstm_size, z_size), dense(lstm_size, z_size)
        self.dec = dense(z_size + lstm_size, 4 * lstm_size)
        self.write = dense(lstm_size, write_n**2)

    def window(self, params, h_dec, N):
        """Filterbanks Fx [b, N, A], Fy [b, N, B] and gamma [b, 1, 1] (1-based grid, eqs 19-27)."""
        gx_, gy_, log_sigma2, log_delta, log_gamma = tf.split(linear(params, h_dec), 5, 1)
        delta = (max(A, B) - 1) / (N - 1) * tf.exp(log_delta)  # [b, 1]
        offsets = tf.range(1, N + 1, dtype=tf.float32) - N / 2 - 0.5  # [N]

        def bank(centre, size):  # centre [b, 1] -> rows exp(-(a - mu_i)^2 / 2 sigma^2), normalized
            mu = (centre + offsets * delta)[:, :, None]  # [b, N, 1]
            a = tf.range(1, size + 1, dtype=tf.float32)
            F = tf.exp(-tf.square(a - mu) / (2 * tf.exp(log_sigma2)[:, :, None]))
            return F / tf.maximum(tf.reduce_sum(F, 2, keepdims=True), 1e-8)

        gamma = tf.exp(log_gamma)[:, :, None]
        return bank((A + 1) / 2 * (gx_ + 1), A), bank((B + 1) / 2 * (gy_ + 1), B), gamma

    def losses(self, x, noise):
        """Per-image L_x and L_z [b] (nats) of x [b, B*A] with eps_t = noise[t], [T, b, z]."""
        b = tf.shape(x)[0]
        zeros = tf.zeros([b, self.units])
        h_enc, c_enc, h_dec, c_dec, canvas, L_z = zeros, zeros, zeros, zeros, 0 * x, 0.0
        N, M = self.read_n, self.write_n
        for t in range(self.T):
            x_hat = x - tf.sigmoid(canvas)
            Fx, Fy, gamma = self.window(self.read_window, h_dec, N)
            r = [
                gamma * Fy @ tf.reshape(img, [b, B, A]) @ tf.transpose(Fx, [0, 2, 1])
                for img in (x, x_hat)
            ]
            r = tf.reshape(tf.concat(r, 1), [b, 2 * N * N])  # [x glimpse, x_hat glimpse]
            h_enc, c_enc = lstm(self.enc, tf.concat([r, h_dec], 1), h_enc, c_enc)
            mu, log_sigma = linear(self.mu, h_enc), linear(self.log_sigma, h_enc)
            z = mu + tf.exp(log_sigma) * noise[t]
            L_z += 0.5 * tf.reduce_sum(mu**2 + tf.exp(2 * log_sigma) - 2 * log_sigma - 1, 1)
            h_dec, c_dec = lstm(self.dec, z, h_dec, c_dec)
            Fx, Fy, gamma = self.window(self.write_window, h_dec, M)
            w = tf.reshape(linear(self.write, h_dec), [b, M, M])
            canvas += tf.reshape(tf.transpose(Fy, [0, 2, 1]) @ w @ Fx / gamma, [b, B * A])
        L_x = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=canvas), 1)
        return L_x, L_z


def linear(params, x):
    return x @ params[0] + params[1]


def lstm(params, x, h, c):
    """tf.contrib.rnn.LSTMCell: gates i, j, f, o from [x, h]; 1.0 added to the forget gate."""
    i, j, f, o = tf.split(linear(params, tf.concat([x, h], 1)), 4, 1)
    c = tf.sigmoid(f + 1.0) * c + tf.sigmoid(i) * tf.tanh(j)
    return tf.sigmoid(o) * tf.tanh(c), c


class Adam(tf.Module):
    """TF1's AdamOptimizer, which Jang's code ran: var -= lr_t m / (sqrt(v) + epsilon)."""

    def __init__(self, variables, lr=1e-3, beta_1=0.5, beta_2=0.999, epsilon=1e-8):
        self.hyper, self.t = (lr, beta_1, beta_2, epsilon), tf.Variable(0.0)
        self.m = [tf.Variable(tf.zeros_like(v)) for v in variables]
        self.v = [tf.Variable(tf.zeros_like(v)) for v in variables]

    def apply(self, grads, variables):
        lr, beta_1, beta_2, epsilon = self.hyper
        t = self.t.assign_add(1.0)
        lr_t = lr * tf.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        for g, var, m, v in zip(grads, variables, self.m, self.v):
            m.assign(beta_1 * m + (1 - beta_1) * g)
            v.assign(beta_2 * v + (1 - beta_2) * g * g)
            var.assign_sub(lr_t * m / (tf.sqrt(v) + epsilon))


def train(model, images, iters, batch_size, seed, log_every=0):
    """Trains on dynamically binarized batches of images [n, B*A]; the losses per step."""
    rng, noise = np.random.default_rng(seed), tf.random.Generator.from_seed(seed)
    variables = model.trainable_variables
    adam = Adam(variables)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            L_x, L_z = model.losses(x, noise.normal([model.T, batch_size, model.z_size]))
            loss = tf.reduce_mean(L_x + L_z)
        grads = [tf.clip_by_norm(g, 5.0) for g in tape.gradient(loss, variables)]
        adam.apply(grads, variables)
        return loss

    losses, order, start = [], [], time.time()
    for i in range(1, iters + 1):
        if len(order) < batch_size:  # a new epoch: a fresh permutation
            order = rng.permutation(len(images))
        batch, order = order[:batch_size], order[batch_size:]
        losses.append(float(step(binarize(rng, images[batch]))))
        if log_every and i % log_every == 0:
            loss, rate = np.mean(losses[-log_every:]), i / (time.time() - start)
            print(f"step {i:6d}/{iters}  loss {loss:8.2f}  {rate:.1f} it/s", flush=True)
    return losses


def test_bound(model, images, seed, batch_size=1000):
    """Mean L_x + L_z, L_x, L_z (nats) over binarized images [n, B*A]."""
    noise = tf.random.Generator.from_seed(seed)
    run = tf.function(lambda x: model.losses(x, noise.normal([model.T, len(x), model.z_size])))
    terms = [run(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    L_x, L_z = (float(tf.reduce_mean(tf.concat(parts, 0))) for parts in zip(*terms))
    return L_x + L_z, L_x, L_z


def main(argv):
    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
    if FLAGS.test_npy:
        test = np.load(FLAGS.test_npy).reshape(-1, B * A).astype(np.float32)
        if not np.isin(test, (0.0, 1.0)).all():
            sys.exit(f"{FLAGS.test_npy} holds values other than 0 and 1: not binarized images")
    else:
        test = binarize(np.random.default_rng(FLAGS.seed + 1), load_images("t10k"))
    sizes = ("T", "lstm_size", "z_size", "read_n", "write_n")
    model = Draw(np.random.default_rng(FLAGS.seed), **{k: FLAGS[k].value for k in sizes})
    start = time.time()
    options = (FLAGS[k].value for k in ("train_iters", "batch_size", "seed", "log_every"))
    train(model, load_images("train"), *options)
    bound, L_x, L_z = test_bound(model, test, FLAGS.seed)
    print(f"trained {FLAGS.train_iters} iterations in {time.time() - start:.1f} s")
    print(
        f"test-set bound ({len(test)} images): L_x + L_z = {bound:.2f} nats "
        f"(L_x {L_x:.2f}, L_z {L_z:.2f})"
    )


if __name__ == "__main__":  # flags defined here only: importing this defines none
    model_flags = dict(T=10, lstm_size=256, z_size=10, read_n=5, write_n=5, batch_size=100)
    # threads: TensorFlow's intra-op threads (0: its default); one, as train.py on 2 cores
    run_flags = dict(train_iters=2000, seed=0, log_every=500, threads=1)
    for name, default in {**model_flags, **run_flags}.items():
        flags.DEFINE_integer(name, default, name)
    flags.DEFINE_string("test_npy", "", "Binarized test images (0/1); default: binarize our own.")
    app.run(main)

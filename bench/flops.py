"""Floating-point operations of one DRAW training iteration, counted from the shapes.

Only matrix products are counted, 2*m*k*n each (a multiply and an add per term); the
elementwise work (gates, sigmoids, the filterbank's exponentials, Adam) is left out, so
the figure is a lower bound on the work done. Per step and image the forward pass has:

  encoder LSTM   [r, h_dec, h_enc] (r_size + dec + enc) x 4*enc
  mu, log_sigma  enc x z, twice
  decoder LSTM   [z, h_dec] (z + dec) x 4*dec
  write          dec x write_size (C*N*N with attention, C*B*A without)
  windows        dec x 5 for read and for write (with attention)
  glimpse        per channel of x and x_hat: (B x A)(A x N) then (N x B)(B x N)
  patch          per channel: (N x N)(N x A) then (B x N)(N x A)

A training iteration is the forward pass and the backward pass, and the backward pass of
a product y = a b is two products of the same size (da = dy b^T, db = a^T dy), so an
iteration is 3x the forward FLOPs. Generation runs only the decoder and write. The
classifiers of cluttered MNIST are counted the same way (classifier_forward_flops).
"""

from __future__ import annotations

from draw.models import CLASSIFIERS


def _step_products(config, image_shape, with_encoder=True):
    """(m-free) k*n sizes of the per-image products of one step, as a list of (k, n)."""
    B, A, C = image_shape
    enc, dec, z = config.enc_size, config.dec_size, config.z_size
    products = [(z + dec, 4 * dec)]
    if config.write_attn:
        N = config.write_n
        products += [(dec, C * N * N), (dec, 5)]
        products += [(N * N, A)] * C + [(B * N, A)] * C  # w Fx, then Fy^T (w Fx)
    else:
        products += [(dec, C * B * A)]
    if with_encoder:
        side = config.read_n**2 if config.read_attn else B * A
        r_size = 2 * C * side
        products += [(r_size + dec + enc, 4 * enc), (enc, z), (enc, z)]
        if config.read_attn:
            N = config.read_n
            products += [(dec, 5)]
            products += [(B * A, N)] * (2 * C) + [(N * B, N)] * (2 * C)  # img Fx^T, Fy (.)
    return products


def forward_flops(config, image_shape, batch, with_encoder=True) -> int:
    """FLOPs of one forward pass over `batch` images (T steps)."""
    per_step = sum(2 * k * n for k, n in _step_products(config, image_shape, with_encoder))
    return per_step * batch * config.T


def train_flops(config, image_shape, batch) -> int:
    """FLOPs of one training iteration: forward + backward = 3x forward."""
    if config.model in CLASSIFIERS:
        return 3 * classifier_forward_flops(config, image_shape, batch)
    return 3 * forward_flops(config, image_shape, batch)


def classifier_forward_flops(config, image_shape, batch) -> int:
    """FLOPs of a classifier's forward pass over `batch` images. The glimpse classifier,
    per glimpse and image: the window dec x 5, the glimpse (B x A)(A x N) then
    (N x B)(B x N) per channel, the LSTM [r, h] (C*N*N + dec) x 4*dec; then the logits
    dec x 10 once. The convolutional one: each convolution's output pixels x filters x
    kernel area x input channels, then its dense layers."""
    B, A, C = image_shape
    if config.model == "conv_classifier":
        # conv1 5x5 stride 2 (16 filters), pool 2, conv2 5x5 (32 filters), pool 2 (valid).
        h1, w1 = (B - 5) // 2 + 1, (A - 5) // 2 + 1
        h2, w2 = h1 // 2 - 4, w1 // 2 - 4
        flat = (h2 // 2) * (w2 // 2) * 32
        macs = h1 * w1 * 16 * 25 * C + h2 * w2 * 32 * 25 * 16
        macs += flat * config.class_hidden + config.class_hidden * 10
        return 2 * macs * batch
    N, dec = config.read_n, config.dec_size
    per_glimpse = dec * 5 + C * (B * A * N + N * B * N) + (C * N * N + dec) * 4 * dec
    return 2 * (per_glimpse * config.T + dec * 10) * batch


def generate_flops(config, image_shape, num_images) -> int:
    """FLOPs of generating `num_images` images (decoder and write only)."""
    return forward_flops(config, image_shape, num_images, with_encoder=False)

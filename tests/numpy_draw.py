"""An independent NumPy implementation of docs/design.md, written from the equations
with explicit loops, used to check the TensorFlow code (float64 throughout)."""

import numpy as np


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def filterbank(gx, gy, sigma2, delta, N, A, B, eps=1e-8):
    """gx etc.: [batch] arrays. Returns Fx [batch, N, A], Fy [batch, N, B]."""
    batch = len(gx)
    Fx, Fy = np.zeros((batch, N, A)), np.zeros((batch, N, B))
    for n in range(batch):
        for i in range(1, N + 1):  # the paper's 1-based grid index
            mu_x = gx[n] + (i - N / 2 - 0.5) * delta[n]
            mu_y = gy[n] + (i - N / 2 - 0.5) * delta[n]
            for a in range(1, A + 1):  # 1-based pixel coordinates
                Fx[n, i - 1, a - 1] = np.exp(-((a - mu_x) ** 2) / (2 * sigma2[n]))
            for b in range(1, B + 1):
                Fy[n, i - 1, b - 1] = np.exp(-((b - mu_y) ** 2) / (2 * sigma2[n]))
        Fx[n] /= np.maximum(Fx[n].sum(axis=1, keepdims=True), eps)
        Fy[n] /= np.maximum(Fy[n].sum(axis=1, keepdims=True), eps)
    return Fx, Fy


def window(h_dec, kernel, bias, N, A, B):
    """The attention window of a decoder state: (Fx, Fy, gamma)."""
    p = h_dec @ kernel + bias
    gx = (A + 1) / 2 * (p[:, 0] + 1)
    gy = (B + 1) / 2 * (p[:, 1] + 1)
    sigma2 = np.exp(p[:, 2])
    delta = (max(A, B) - 1) / (N - 1) * np.exp(p[:, 3])
    gamma = np.exp(p[:, 4])
    Fx, Fy = filterbank(gx, gy, sigma2, delta, N, A, B)
    return Fx, Fy, gamma


def read_glimpse(images, Fx, Fy, gamma):
    """images [batch, C, B, A] -> [batch, C, N, N] = gamma * Fy img Fx^T per channel."""
    out = np.einsum("bnh,bchw,bmw->bcnm", Fy, images, Fx)
    return out * gamma[:, None, None, None]


def write_patch(w, Fx, Fy, gamma):
    """w [batch, C, N, N] -> [batch, C, B, A] = (1/gamma) Fy^T w Fx per channel."""
    out = np.einsum("bnh,bcnm,bmw->bchw", Fy, w, Fx)
    return out / gamma[:, None, None, None]


def lstm(x, state, kernel, recurrent_kernel, bias):
    """Keras' LSTMCell: gates i, f, c, o; sigmoid recurrent activation, tanh activation."""
    h, c = state
    gates = x @ kernel + h @ recurrent_kernel + bias
    i, f, g, o = np.split(gates, 4, axis=1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, (h, c)


def conv2d_same(images, kernel, bias, stride):
    """TensorFlow's 'same' convolution with ReLU, by explicit patches.

    images [batch, H, W, Cin], kernel [k, k, Cin, Cout] -> [batch, ceil(H/s), ceil(W/s), Cout].
    """
    batch, H, W, _ = images.shape
    k = kernel.shape[0]
    out_h, out_w = -(-H // stride), -(-W // stride)
    pad_h = max((out_h - 1) * stride + k - H, 0)
    pad_w = max((out_w - 1) * stride + k - W, 0)
    padded = np.pad(
        images, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0))
    )
    out = np.zeros((batch, out_h, out_w, kernel.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            patch = padded[:, i * stride : i * stride + k, j * stride : j * stride + k, :]
            out[:, i, j, :] = np.einsum("bhwc,hwcf->bf", patch, kernel)
    return np.maximum(out + bias, 0.0)


def conv_features(W, name, images, config):
    """The report's two conv layers on channels-first images, flattened: [batch, k]."""
    maps = np.transpose(images, (0, 2, 3, 1))
    for layer in ("conv1", "conv2"):
        maps = conv2d_same(
            maps, W[f"{name}/{layer}/kernel"], W[f"{name}/{layer}/bias"], config.conv_stride
        )
    return maps.reshape(len(maps), -1)


def class_logits(weights, config, x):
    """Model II's classifier on x [batch, B, A, C]: two dense layers on the conv features."""
    W = {k.split("/", 1)[1]: np.asarray(v, np.float64) for k, v in weights.items()}
    features = conv_features(W, "x_conv", np.transpose(x, (0, 3, 1, 2)), config)
    hidden = np.maximum(features @ W["classifier/hidden/kernel"] + W["classifier/hidden/bias"], 0)
    return hidden @ W["classifier/logits/kernel"] + W["classifier/logits/bias"]


def softmax_cross_entropy(logits, labels):
    """-log softmax(logits)[label] per row."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_softmax[np.arange(len(labels)), labels]


def draw_forward(weights, config, x, noise):
    """The DRAW recurrence. weights: {path: array}; x [batch, B, A, C]; noise [T, batch, z].

    Follows config's ablations (privy, read_input) and models (report section 4.2):
    conv_read reads [x, x_hat, f(x_hat)] (concat) or f(x_hat) (replace); supervised and
    conv_encoder append f(x) to the encoder input; conv_encoder does not read x.

    Returns (canvas logits [T, batch, B, A, C], mu [T, batch, z], log_sigma [T, batch, z]).
    """
    W = {k.split("/", 1)[1]: np.asarray(v, np.float64) for k, v in weights.items()}
    batch, B, A, C = x.shape
    x = np.transpose(x, (0, 3, 1, 2)).astype(np.float64)
    c = np.zeros_like(x)
    enc = (np.zeros((batch, config.enc_size)),) * 2
    dec = (np.zeros((batch, config.dec_size)),) * 2
    h_dec = dec[0]
    reads_x = config.read_input == "both" and config.model != "conv_encoder"
    context = None
    if config.model in ("supervised", "conv_encoder") or (config.model == "conv_read" and reads_x):
        context = conv_features(W, "x_conv", x, config)
    canvases, mus, log_sigmas = [], [], []
    for t in range(config.T):
        x_hat = x - sigmoid(c)
        images = np.concatenate([x, x_hat], axis=1) if reads_x else x_hat
        if config.read_attn:
            N = config.read_n
            Fx, Fy, gamma = window(
                h_dec, W["read/window/params/kernel"], W["read/window/params/bias"], N, A, B
            )
            r = read_glimpse(images, Fx, Fy, gamma).reshape(batch, -1)
        else:
            r = images.reshape(batch, -1)
        if config.model == "conv_read":
            features = conv_features(W, "x_hat_conv", x_hat, config)
            r = features if config.conv_read_mode == "replace" else np.concatenate([r, features], 1)
        parts = [r] + ([] if context is None else [context]) + ([h_dec] if config.privy else [])
        h_enc, enc = lstm(
            np.concatenate(parts, axis=1),
            enc,
            W["encoder/kernel"],
            W["encoder/recurrent_kernel"],
            W["encoder/bias"],
        )
        mu = h_enc @ W["mu/kernel"] + W["mu/bias"]
        log_sigma = h_enc @ W["log_sigma/kernel"] + W["log_sigma/bias"]
        z = mu + np.exp(log_sigma) * noise[t]
        h_dec, dec = lstm(
            z, dec, W["decoder/kernel"], W["decoder/recurrent_kernel"], W["decoder/bias"]
        )
        w = h_dec @ W["write/dense/kernel"] + W["write/dense/bias"]
        if config.write_attn:
            N = config.write_n
            Fx, Fy, gamma = window(
                h_dec, W["write/window/params/kernel"], W["write/window/params/bias"], N, A, B
            )
            c = c + write_patch(w.reshape(batch, C, N, N), Fx, Fy, gamma)
        else:
            c = c + w.reshape(batch, C, B, A)
        canvases.append(np.transpose(c, (0, 2, 3, 1)))
        mus.append(mu)
        log_sigmas.append(log_sigma)
    return np.stack(canvases), np.stack(mus), np.stack(log_sigmas)


def bernoulli_nll(x, logits):
    """-(x log p + (1 - x) log(1 - p)) with p = sigmoid(logits), summed per image."""
    p = sigmoid(logits.astype(np.float64))
    nll = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    return nll.reshape(len(x), -1).sum(axis=1)


def gaussian_kl(mu, log_sigma):
    """KL(N(mu, sigma^2) || N(0, 1)) summed over steps [0] and units [2]: [batch].

    The textbook form log(s_p / s_q) + (s_q^2 + (m_q - m_p)^2) / (2 s_p^2) - 1/2.
    """
    sigma_q, sigma_p, mu_p = np.exp(log_sigma), 1.0, 0.0
    kl = np.log(sigma_p / sigma_q) + (sigma_q**2 + (mu - mu_p) ** 2) / (2 * sigma_p**2) - 0.5
    return kl.sum(axis=(0, 2))

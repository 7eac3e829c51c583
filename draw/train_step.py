"""The training step train.py runs: a model's losses and gradients on every replica of a
tf.distribute strategy, summed over the replicas, and Adam's update applied only when
they are finite.

A model gives `compute_losses(x, outputs, labels)` (per-image losses `[batch]`, "loss"
among them), `update_metrics(losses)` and, if it draws noise, `sample_noise(batch_size)`
and `call(x, noise=...)`; its own `train_step` is the plain Keras step, on one device and
without the guard. For a global batch of N images split over R replicas (b = N / R each):

    on every replica (strategy.run):
        eps    = the replica's slice of the noise one device draws for the N images
        loss   = the replica's summed per-image losses / N
        grads  = d loss / d weights, summed over the replicas  (those of the mean over N)
        finite = loss summed over the replicas and the norm of grads are finite
        if finite: the metrics take the replica's per-image losses
    once, outside the replicas:
        if finite: Adam applies grads (each clipped to clipnorm), and then
                   weights_finite = every weight and Adam moment is finite

So one step on R replicas is the step one device takes on the whole batch, noise included
(tests/test_distribute.py checks it). Keras' optimizer, given gradients inside the
replicas, clips each replica's share before it sums them; given the summed gradients
outside the replicas, it clips the batch's gradient, and the tf.cond of the guard can hold
the update (inside the replicas, Keras updates through a merge_call, which cannot).
"""

from __future__ import annotations

import tensorflow as tf

from draw.distribute import sum_over_replicas


def all_finite(variables) -> tf.Tensor:
    """Whether every element of the floating-point variables is finite: a boolean scalar
    from one reduction per variable (`python -m bench.run --cases=finite_check` times it)."""
    checks = [
        tf.reduce_all(tf.math.is_finite(v)) for v in variables if tf.as_dtype(v.dtype).is_floating
    ]
    return tf.reduce_all(tf.stack(checks))


def replica_noise(model, batch_size):
    """This replica's eps `[T, batch_size, z_size]`: with R replicas in sync, its slice of
    the noise `[T, R * batch_size, z_size]` drawn (from the mirrored generator state) for
    the global batch, so replicas get different noise and R replicas use exactly the noise
    one device draws for the whole batch."""
    replica = tf.distribute.get_replica_context()
    replicas = replica.num_replicas_in_sync
    noise = model.sample_noise(batch_size * replicas)
    if replicas == 1:
        return noise
    start = tf.cast(replica.replica_id_in_sync_group, tf.int32) * batch_size
    return noise[:, start : start + batch_size]


def forward(model, x, training=False):
    """model(x) on this replica; a model that draws noise (DRAW and its variants, not the
    classifiers) gets the replica's slice of the global batch's noise (replica_noise)."""
    if not hasattr(model, "sample_noise"):
        return model(x, training=training)
    return model(x, noise=replica_noise(model, tf.shape(x)[0]), training=training)


def test_step(model, batch):
    """What model.test_step does, on this replica, with the replica's slice of the global
    batch's noise: the losses of `(x [b, B, A, C], labels [b])`, the metrics updated.
    Returns the metrics' results."""
    x, labels = batch
    return model.update_metrics(model.compute_losses(x, forward(model, x), labels))


class TrainStep:
    """`step(batch)`: one training step of model on the replicas of strategy (the default:
    the one in scope), on a batch `(x [b, B, A, C], labels [b])` per replica (a
    distributed batch, draw.distribute.distribute_train_batches). Returns the scalars
    grad_norm, finite (False: nothing was updated, not the weights, Adam nor the metrics)
    and weights_finite (False: the applied update left a weight or an Adam moment NaN or
    infinite).

    The optimizer is the model's (model.compile), created under strategy's scope; call the
    step outside that scope, as a training loop does. jit_compile compiles it with XLA.
    """

    def __init__(self, model, strategy=None, jit_compile=False):
        self.model = model
        self.strategy = strategy or tf.distribute.get_strategy()
        self._on_replica = tf.function(self.on_replica, jit_compile=jit_compile)
        # On one replica XLA compiles the whole step, update included; on a TPU's
        # replicas (the only other case draw.distribute.check_jit_compile lets through)
        # the replica's part.
        one = self.strategy.num_replicas_in_sync == 1
        self._step = tf.function(self.step, jit_compile=jit_compile and one)

    def __call__(self, batch):
        return self._step(batch)

    def on_replica(self, batch):
        """The replica's losses, the summed gradients and the verdict; the metrics when
        finite. Returns {"grads": [per weight], "grad_norm": scalar, "finite": scalar}."""
        model = self.model
        x, labels = batch
        with tf.GradientTape() as tape:
            losses = model.compute_losses(x, forward(model, x, training=True), labels)
            # Summed over this replica's images / the global batch size: summed over the
            # replicas, the loss and its gradients are those of the global batch's mean.
            loss = tf.nn.compute_average_loss(losses["loss"])
        grads = sum_over_replicas(tape.gradient(loss, model.trainable_variables))
        grad_norm = tf.linalg.global_norm(grads)
        # The same verdict on every replica. The norm is NaN or Inf when any gradient
        # element is (or when finite gradients are too large for a float32 norm, which
        # per-variable clipping could not use either).
        total_loss = sum_over_replicas([loss])[0]
        finite = tf.math.logical_and(tf.math.is_finite(total_loss), tf.math.is_finite(grad_norm))

        def update():  # tf.cond needs both branches to return the same structure
            model.update_metrics(losses)
            return tf.constant(True)

        tf.cond(finite, update, lambda: tf.constant(False))
        return {"grads": grads, "grad_norm": grad_norm, "finite": finite}

    def step(self, batch):
        """on_replica on every replica, then the update once, with replica 0's summed
        gradients (of this worker; the same on every replica)."""
        results = self.strategy.run(self._on_replica, args=(batch,))
        first = tf.nest.map_structure(
            lambda value: self.strategy.experimental_local_results(value)[0], results
        )
        model, optimizer = self.model, self.model.optimizer

        def update():
            optimizer.apply(first["grads"], model.trainable_variables)
            return all_finite(model.trainable_variables + optimizer.variables)

        weights_finite = tf.cond(first["finite"], update, lambda: tf.constant(True))
        return {
            "grad_norm": first["grad_norm"],
            "finite": first["finite"],
            "weights_finite": weights_finite,
        }

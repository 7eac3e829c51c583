"""Where the computation runs and what fits there: tf.distribute strategies (one device,
the GPUs of one machine, several machines, a TPU), TensorFlow's intra-op threads, and the
memory a request needs.

`--strategy` picks the tf.distribute strategy the Trainer builds its model, optimizer and
metrics under:

    default       one device (the first GPU when there is one, the input prefetched to it;
                  else the CPU, with TensorFlow's default strategy)
    mirrored      MirroredStrategy: every GPU of this machine (the CPU when there is none)
    multi_worker  MultiWorkerMirroredStrategy: the machines named by TF_CONFIG
    tpu           TPUStrategy on the TPU named by --tpu

Training is SPMD: every worker runs the same program (the same steps, summaries and
checkpoint saves, so that their collective operations match), and only the chief writes
files. The global batch (--batch_size) is split evenly over the replicas; each replica's
loss is its images' summed loss divided by the GLOBAL batch size and the gradients are
summed over the replicas (draw.train_step), so one step on R replicas is the step one
device takes on the whole batch (tests/test_distribute.py checks it to float tolerance).

Memory: the estimates count the float32 tensors that must exist at once (weights, gradients and
Adam's two moments; the activations kept for the backward pass; the arrays a script
holds); they are lower bounds, so a request is refused only when it clearly cannot fit in
this machine's physical memory, and the message says how much it would need.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import tensorflow as tf

from draw.config import DrawConfig
from draw.errors import DrawError, first_line


def make_strategy(config) -> tf.distribute.Strategy:
    """The strategy of config.strategy; DrawError (one line) when it cannot be set up.

    multi_worker must be created before TensorFlow runs any operation (train.py creates
    the strategy first).
    """
    name = config.strategy
    if name == "default":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.OneDeviceStrategy(gpus[0].name)
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        _check_tf_config()
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except (RuntimeError, ValueError) as e:
            raise DrawError(f"--strategy=multi_worker: {first_line(e)}") from None
    return _tpu_strategy(config.tpu)  # "tpu", the last of config.strategy's choices


def describe(strategy: tf.distribute.Strategy, name: str, logical_devices=None) -> str:
    """One line: the devices the strategy trains on (for multi_worker, those of each worker,
    while the replicas count the whole cluster), its name and replicas, and the GPUs
    TensorFlow sees. logical_devices: tf.config.LogicalDevice list (those of this process
    when None)."""
    if logical_devices is None:
        logical_devices = tf.config.list_logical_devices()
    try:
        devices = list(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy: TensorFlow places each op itself
        devices = [default_placement(logical_devices)]
    short = ", ".join(d.split("device:")[-1] for d in devices)
    if name == "multi_worker":
        short += " per worker"
    replicas = strategy.num_replicas_in_sync
    gpus = [d for d in logical_devices if d.device_type == "GPU"]
    seen = (
        f"{len(gpus)} GPU(s) visible"
        if gpus
        else "no GPU visible (for an NVIDIA GPU: pip install tensorflow[and-cuda])"
    )
    plural = "s" if replicas > 1 else ""
    return f"training on {short} (--strategy={name}, {replicas} replica{plural}); {seen}"


def default_placement(logical_devices) -> str:
    """The device TensorFlow places an op without a device scope on: the first GPU when
    there is one, else the first CPU."""
    for kind in ("GPU", "CPU"):
        found = [d.name for d in logical_devices if d.device_type == kind]
        if found:
            return found[0]
    raise DrawError("TensorFlow sees neither a GPU nor a CPU")


def _check_tf_config() -> None:
    """A TF_CONFIG that is set must be JSON with a cluster and this worker's task."""
    text = os.environ.get("TF_CONFIG", "")
    if not text:
        return  # MultiWorkerMirroredStrategy then runs as a single worker
    try:
        tf_config = json.loads(text)
        cluster, task = tf_config["cluster"], tf_config["task"]
        task["type"], int(task["index"])
        if not isinstance(cluster, dict):
            raise TypeError("cluster is not a dict")
    except (ValueError, KeyError, TypeError) as e:
        raise DrawError(
            f"TF_CONFIG is not a valid cluster description ({type(e).__name__}: "
            f"{first_line(e)}); see the README's section on several devices"
        ) from None


def _tpu_strategy(tpu: str) -> tf.distribute.TPUStrategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or None)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as e:
        which = f"the TPU '{tpu}'" if tpu else "a TPU (name one with --tpu; local on a TPU VM)"
        raise DrawError(f"--strategy=tpu: cannot reach {which}: {first_line(e)}") from None


def per_replica_batch_size(batch_size: int, strategy: tf.distribute.Strategy) -> int:
    """The global batch's share of one replica; DrawError if it does not split evenly."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise DrawError(
            f"--batch_size={batch_size} does not split evenly over the {replicas} replicas "
            f"of the strategy; use a multiple of {replicas}"
        )
    return batch_size // replicas


def check_jit_compile(jit_compile: bool, strategy: tf.distribute.Strategy) -> None:
    """XLA (--jit_compile) fails on a step that runs on several replicas of one process
    (a compiled step reads another device's copy of a variable; Keras itself turns XLA off
    under tf.distribute): DrawError then. TPUs compile with XLA anyway."""
    replicas = strategy.num_replicas_in_sync
    if jit_compile and replicas > 1 and not isinstance(strategy, tf.distribute.TPUStrategy):
        raise DrawError(
            f"--jit_compile does not work with the {replicas} replicas of this strategy; "
            "use --nojit_compile"
        )


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this worker writes the run's files (checkpoints, summaries, config)."""
    return bool(strategy.extended.should_checkpoint)


INPUT_OPTIONS = tf.distribute.InputOptions(experimental_fetch_to_device=True)


def distribute_train_batches(strategy, global_batches, global_batch_size: int):
    """Each replica's share of the global training batches, prefetched to its device.

    global_batches: `() -> tf.data.Dataset` of `(x [batch, H, W, C], labels [batch])` with
    `global_batch_size` images (data.pipeline.train_batches, a pure function of the
    step). Every input pipeline (one per worker) builds the same global batch and keeps
    the slices of its replicas, so replica r trains on images `r*b .. (r+1)*b - 1` of the
    batch one device would train on (b = global_batch_size / replicas).
    """
    replicas = strategy.num_replicas_in_sync
    b = per_replica_batch_size(global_batch_size, strategy)

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        local = replicas // context.num_input_pipelines  # replicas this pipeline feeds
        first = context.input_pipeline_id * local

        def slices(x, labels):
            x = tf.reshape(x, [replicas, b, *x.shape[1:]])[first : first + local]
            labels = tf.reshape(labels, [replicas, b])[first : first + local]
            return x, labels

        return global_batches().map(slices).unbatch().prefetch(tf.data.AUTOTUNE)

    return strategy.distribute_datasets_from_function(dataset_fn, INPUT_OPTIONS)


def distribute_batches(strategy, batches: tf.data.Dataset):
    """A batched dataset (e.g. the test split) split over the replicas; a last, smaller
    batch may leave some replicas fewer images (the metrics count images, not batches)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(batches.with_options(options), INPUT_OPTIONS)


def replica_function(strategy, fn, jit_compile: bool = False):
    """`fn(*args)` run on every replica inside one tf.function; returns replica 0's result
    (of this worker), for results that are the same on every replica (reduced values).

    jit_compile compiles fn (the per-replica step) with XLA.
    """
    step = tf.function(fn, jit_compile=jit_compile)

    @tf.function
    def run(*args):
        results = strategy.run(step, args=args)
        return tf.nest.map_structure(
            lambda value: strategy.experimental_local_results(value)[0], results
        )

    return run


def sum_over_replicas(values):
    """The sum of `values` (a list of tensors) over the replicas, in a replica context;
    `values` itself without a strategy."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return values
    return context.all_reduce(tf.distribute.ReduceOp.SUM, values)


class WorkerCheckpointDir:
    """Where a worker writes checkpoints: the run's folder on the chief; a temporary
    folder elsewhere (multi-worker saving needs every worker to take part, as reading some
    variables is a collective operation), deleted after each save."""

    def __init__(self, strategy, checkpoint_dir: str):
        self.chief = is_chief(strategy)
        self.path = checkpoint_dir
        if not self.chief:  # created by the first save
            self.path = os.path.join(tempfile.gettempdir(), f"draw_worker_{os.getpid()}_{id(self)}")

    def after_save(self) -> None:
        if not self.chief:
            shutil.rmtree(self.path, ignore_errors=True)


# TensorFlow's intra-op threads. At DRAW's usual sizes (batch 100, 256 LSTM units) a
# training iteration is a few thousand small ops, and splitting each over all cores costs
# more in synchronisation than it gains: one thread per op (the inter-op pool still runs
# independent ops side by side) trains jang faster (bench.run's cases train_jang and
# train_jang_all_threads; figures in bench/README.md). XLA and larger models (paper_svhn's
# 800-unit LSTMs) keep TensorFlow's default.
AUTO_THREADS = -1
# Up to this many LSTM units, training on CPU uses one thread per op.
SMALL_MODEL_UNITS = 256


def intra_op_threads_for(
    setting: int, training_config: DrawConfig | None, accelerator: bool
) -> int | None:
    """The intra-op thread count for `--intra_op_threads=setting`, or None for TensorFlow's
    default (one per logical CPU). AUTO_THREADS gives 1 when training (training_config given) a
    model of at most SMALL_MODEL_UNITS units without an accelerator or XLA, else None."""
    if setting < AUTO_THREADS:
        raise DrawError(
            f"--intra_op_threads={setting}: give a thread count, 0 for TensorFlow's "
            "default or -1 for automatic"
        )
    cpus = os.cpu_count() or 1
    if setting > cpus:
        raise DrawError(
            f"--intra_op_threads={setting} exceeds the {cpus} logical CPUs of this machine"
        )
    if setting != AUTO_THREADS:
        return setting or None
    config = training_config
    if config is None or accelerator or config.strategy == "tpu" or config.jit_compile:
        return None
    small = max(config.enc_size, config.dec_size) <= SMALL_MODEL_UNITS
    return 1 if small else None


def threads_in_force() -> int | None:
    """TensorFlow's intra-op thread count in this process; None for its default."""
    return tf.config.threading.get_intra_op_parallelism_threads() or None


def configure_threads(setting: int, training_config: DrawConfig | None = None) -> int | None:
    """Sets TensorFlow's intra-op pool from `--intra_op_threads` before TensorFlow runs any
    op; returns the count in force (None: TensorFlow's default).

    Once the runtime has started (as when a test calls a script's main twice) the count
    cannot change: AUTO_THREADS then keeps the count in force, and an explicit count that differs
    from it is a DrawError."""
    accelerator = bool(tf.config.list_physical_devices("GPU"))
    wanted = intra_op_threads_for(setting, training_config, accelerator)
    current = threads_in_force()
    if wanted == current:
        return current
    try:
        tf.config.threading.set_intra_op_parallelism_threads(wanted or 0)
    except RuntimeError:  # the runtime is already initialised
        if setting != AUTO_THREADS:
            raise DrawError(
                f"--intra_op_threads={setting} cannot be applied: TensorFlow's runtime "
                "has already started in this process"
            ) from None
        return current
    return wanted


# The memory a request needs.

FLOAT = 4  # bytes of a float32


def physical_memory() -> int:
    """Bytes of physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def format_bytes(n: float) -> str:
    """`512 MB`, `3.2 GB`, `1.5 TB` (powers of 1000, as disks and `free -h --si`)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if n >= 100 or unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def check_fits(needed: int, what: str, limit: int | None = None) -> None:
    """DrawError if `needed` bytes exceed the machine's physical memory (or limit)."""
    available = physical_memory() if limit is None else limit
    if needed > available:
        raise DrawError(
            f"{what} would need at least {format_bytes(needed)} of memory, more than the "
            f"{format_bytes(available)} this machine has"
        )


def parameter_count(config, image_shape) -> int:
    """DRAW's parameters (the encoder and decoder LSTMs, the latent and window
    layers, the write layer), without a variant's convolutions (small beside them)."""
    B, A, C = image_shape
    read = 2 * config.read_n**2 * C if config.read_attn else 2 * B * A * C
    encoder_input = read + (config.dec_size if config.privy else 0)
    lstm = 4 * (encoder_input + config.enc_size + 1) * config.enc_size
    lstm += 4 * (config.z_size + config.dec_size + 1) * config.dec_size
    latent = 2 * (config.enc_size + 1) * config.z_size
    write = config.write_n**2 * C if config.write_attn else B * A * C
    windows = 5 * (int(config.read_attn) + int(config.write_attn))
    return lstm + latent + (config.dec_size + 1) * (write + windows)


def activations_per_image(config, image_shape) -> int:
    """Floats one image keeps over the T steps for the backward pass."""
    B, A, C = image_shape
    units = config.enc_size + config.dec_size
    filterbanks = 2 * (config.read_n + config.write_n) * (A + B)
    glimpses = 2 * config.read_n**2 * C + config.write_n**2 * C
    per_step = 6 * units + 4 * B * A * C + filterbanks + glimpses + 3 * config.z_size
    return config.T * per_step


def training_bytes(config, image_shape, replicas: int = 1) -> int:
    """Memory of one training replica: weights, gradients and Adam's moments, and the
    activations of its share of the batch."""
    per_replica_batch = -(-config.batch_size // replicas)
    state = 4 * parameter_count(config, image_shape)
    activations = per_replica_batch * activations_per_image(config, image_shape)
    return FLOAT * (state + activations)


def check_training(config, image_shape, replicas: int = 1) -> None:
    """DrawError if training config on images of image_shape clearly cannot fit."""
    check_fits(
        training_bytes(config, image_shape, replicas),
        f"training this model ({parameter_count(config, image_shape):,} parameters, "
        f"batch {config.batch_size}, T={config.T})",
    )

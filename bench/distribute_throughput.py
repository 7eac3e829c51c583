"""Training images/s with one device versus a MirroredStrategy over N logical CPU devices.

    python bench/distribute_throughput.py [--devices=0,1,2] [--steps=50] [--preset=jang]

Each entry of --devices runs in its own process (the CPU is split into logical devices
before TensorFlow starts): 0 means no strategy (TensorFlow's default), N >= 1 a
MirroredStrategy over N logical CPU devices. The model trains on MNIST (the embedded copy)
with the preset's batch size (the global batch, split over the replicas); after --warmup
steps, --steps steps are timed. Logical CPU devices share the machine's cores, so this
measures the strategy's overhead on CPU, not a speed-up: that needs GPUs or machines.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(devices: int, steps: int, warmup: int, preset: str) -> float:
    """Images/s of `steps` training steps; devices = 0: no strategy."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if devices:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * devices
        )
    sys.path.insert(0, REPO)
    from data import load_dataset, pipeline
    from draw import distribute
    from draw.config import make_config
    from draw.run_dir import RunDir
    from draw.training import Trainer

    config = make_config(preset)
    strategy = None
    if devices:
        strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(devices)])
    data = load_dataset(config)
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(config, RunDir(folder), data, log=lambda *_: None, strategy=strategy)
        batches = distribute.distribute_train_batches(
            trainer.strategy,
            lambda: pipeline.train_batches(data, config.batch_size, config.seed, config.binarize),
            config.batch_size,
        )
        iterator = iter(batches)
        for _ in range(warmup):
            trainer.train_fn(next(iterator))["grad_norm"].numpy()
        started = time.perf_counter()
        for _ in range(steps):
            result = trainer.train_fn(next(iterator))
        result["grad_norm"].numpy()
        return steps * config.batch_size / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="0,1,2", help="comma-separated; 0 = no strategy")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--preset", default="jang")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(f"{measure(args.child, args.steps, args.warmup, args.preset):.1f}")
        return
    print(f"preset {args.preset}, {args.steps} timed steps after {args.warmup} warm-up steps")
    for devices in (int(d) for d in args.devices.split(",")):
        command = [sys.executable, os.path.abspath(__file__), f"--child={devices}"]
        command += [f"--steps={args.steps}", f"--warmup={args.warmup}", f"--preset={args.preset}"]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        label = "no strategy" if devices == 0 else f"MirroredStrategy, {devices} logical CPU(s)"
        print(f"{label:40s} {float(output.strip().splitlines()[-1]):8.1f} images/s")


if __name__ == "__main__":
    main()

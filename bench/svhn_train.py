"""Speed and peak memory of train.py on full-size SVHN-layout files.

    python bench/write_svhn_files.py /tmp/svhn      # once: 73,257 + 26,032 images
    python bench/svhn_train.py /tmp/svhn [--iters=40] [--preset=paper_svhn] [train.py flags]

Runs `train.py --dataset=svhn --data_dir=DIR` in a fresh run directory for --iters
iterations (progress every 10) and prints: train.py's own lines with timestamps (among
them the time of the first step, which traces and compiles), the seconds per iteration
and images/s of every 10-iteration window after the first, timed between train.py's
progress lines, the whole run's wall time (including loading and the final test-set
bound over all 26,032 test images) and the peak resident memory of the training process
(ru_maxrss of the child).
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WINDOW = 10


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1].startswith("--"):
        sys.exit(__doc__)
    data_dir, extra = argv[1], argv[2:]
    iters = next((int(a.split("=")[1]) for a in extra if a.startswith("--iters=")), 40)
    extra = [a for a in extra if not a.startswith("--iters=")]
    if not any(a.startswith("--preset=") for a in extra):
        extra.append("--preset=paper_svhn")
    with tempfile.TemporaryDirectory(prefix="svhn_bench_") as logdir:
        command = [
            sys.executable,
            os.path.join(REPO, "train.py"),
            "--dataset=svhn",
            f"--data_dir={data_dir}",
            f"--logdir={logdir}",
            f"--train_iters={iters}",
            f"--log_every={WINDOW}",
            *extra,
        ]
        print(" ".join(command[1:]), flush=True)
        started = time.perf_counter()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO, env=env)
        progress = []  # (seconds since start, step) of each progress line
        for line in process.stdout:
            now = time.perf_counter() - started
            print(f"  {now:7.1f}s  {line.rstrip()}", flush=True)
            match = re.match(r"step\s+(\d+)/", line)
            if match:
                progress.append((now, int(match.group(1))))
        status = process.wait()
        wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if status != 0:
        sys.exit(f"train.py failed with status {status}")
    batch = next((int(a.split("=")[1]) for a in extra if a.startswith("--batch_size=")), 100)
    print(f"peak RSS of train.py: {peak_mb:.0f} MB; wall time {wall:.0f}s for {iters} iterations")
    # Windows after the first (which holds the step that traces and compiles).
    seconds_per_iter = [(t1 - t0) / (s1 - s0) for (t0, s0), (t1, s1) in zip(progress, progress[1:])]
    for value in seconds_per_iter:
        print(f"window of {WINDOW} iterations: {value:.2f} s/iteration = {batch / value:.1f} img/s")
    if seconds_per_iter:
        mean = sum(seconds_per_iter) / len(seconds_per_iter)
        print(f"mean after warm-up: {mean:.2f} s/iteration, {batch / mean:.1f} img/s")


if __name__ == "__main__":
    main(sys.argv)

"""The fidelity benchmark: train.py against an independent DRAW trainer, trained the same way.

    python -m experiments.fidelity [--train_iters=2000] [--seeds=0,1] [--project_flags=FLAGS ...]

For each seed, trains experiments/reference_draw.py (written from the paper's equations, sharing
no code with the project) and `python train.py` (jang preset: T=10, 256-unit LSTMs, z=10,
5x5 attention, batch 100, dynamic binarization) for --train_iters iterations, measures both
test-set bounds L_x + L_z (nats per image, all 10,000 test images) on the same binarized test
split (the project's fixed binarization, handed to the reference as a .npy file; the project's
bound is `python evaluate.py --elbo`), and prints them side by side with their means and the
training wall times. A project variant PASSES when its mean bound is no worse than the
reference's mean + --tolerance nats (2: about the seed-to-seed spread at 2,000 iterations);
exit status 1 if any fails.

--project_flags (repeatable) adds train.py flags; each value is one project variant, e.g.
    python -m experiments.fidelity --project_flags=--lstm_init=jang \
        --project_flags=--lstm_init=keras
At most --jobs trainings run at once, each with one intra-op thread. The wall time is the
training command's (start-up, training and its own end-of-run test bound). Runs, logs and
the figures (fidelity.json, updated as each run ends) are kept in --workdir; a new invocation
trains them afresh unless --reuse is given.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OWNED = ("seed", "train_iters", "logdir", "dataset", "binarize", "preset", "batch_size")
BOUND = re.compile(r"L_x \+ L_z = ([0-9.]+) nats")

flags.DEFINE_integer("train_iters", 2000, "Training iterations of every run.")
flags.DEFINE_list("seeds", ["0", "1"], "Seeds; each trains the reference and every variant.")
flags.DEFINE_multi_string(
    "project_flags", [""], "Extra train.py flags of one project variant (repeat for several)."
)
flags.DEFINE_float("tolerance", 2.0, "Nats the project's mean may exceed the reference's.")
flags.DEFINE_integer("jobs", 2, "Trainings run at once.")
flags.DEFINE_string("workdir", "runs/fidelity", "Where the runs, logs and fidelity.json go.")
flags.DEFINE_boolean(
    "reuse",
    False,
    "Keep the figures of finished runs that --workdir's fidelity.json records with the same "
    "command and code (the reference file's hash, the project's commit) instead of retraining "
    "them: to resume an interrupted benchmark or add variants.",
)
flags.DEFINE_boolean(
    "reference",
    True,
    "Train the reference (--noreference: the project variants only; with --reuse the table "
    "takes the reference's recorded figures, so invocations can share the work).",
)
flags.DEFINE_integer("heartbeat", 120, "Seconds between lines on the runs in progress.")
FLAGS = flags.FLAGS


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def fail(message: str) -> None:
    print(f"fidelity.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def write_test_set(path: str) -> None:
    """The project's binarized MNIST test split (fixed seed) as uint8 0/1 `[10000, 28, 28, 1]`."""
    # The project's own loader: the binarization train.py tests on.
    from draw.app import startup

    startup.start()  # before the loader imports TensorFlow
    from draw.data import mnist, pipeline

    images = pipeline.test_images(mnist.load(), "dynamic")
    tmp = path + ".tmp.npy"
    np.save(tmp, images.astype(np.uint8))
    os.replace(tmp, path)


def project_commit() -> str:
    """The project's git commit, + "-dirty" when tracked files differ from it."""
    git = ["git", "-C", REPO]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    changed = subprocess.run(
        [*git, "status", "--porcelain", "-uno"], capture_output=True, text=True
    )
    return head.stdout.strip() + ("-dirty" if changed.stdout.strip() else "")


class Job:
    """One training: the reference or a project variant on one seed."""

    def __init__(self, variant: str | None, seed: int, workdir: str, test_npy: str):
        self.variant, self.seed = variant, seed
        name = "reference" if variant is None else "project" + re.sub(r"\W+", "_", variant)
        self.dir = os.path.join(workdir, f"{name}_seed{seed}")
        self.log = self.dir + ".log"
        python = [sys.executable, "-u"]
        common = [f"--seed={seed}", f"--train_iters={FLAGS.train_iters}"]
        if variant is None:
            self.commands = [
                python + ["-m", "experiments.reference_draw", *common, f"--test_npy={test_npy}"]
            ]
        else:
            train = [*common, f"--logdir={self.dir}", "--overwrite", "--log_every=500"]
            self.commands = [
                python + ["train.py", *train, *shlex.split(variant)],
                python + ["evaluate.py", f"--logdir={self.dir}", "--elbo"],
            ]
        self.bound = self.seconds = self.error = None
        self.reused = False

    @property
    def key(self) -> tuple[str, str]:
        """(command, code) of the training: what decides whether a result can be reused."""
        if self.variant is None:
            with open(os.path.join(REPO, "experiments", "reference_draw.py"), "rb") as f:
                code = "reference_draw.py sha256 " + hashlib.sha256(f.read()).hexdigest()[:16]
        else:
            code = "commit " + project_commit()
        return shlex.join(self.commands[0][2:]), code

    def record(self) -> dict:
        command, code = self.key
        return {"run": self.label, "seed": self.seed, "bound": self.bound,
                "train_seconds": self.seconds, "command": command, "code": code,
                "error": self.error}  # fmt: skip

    @property
    def label(self) -> str:
        return "reference" if self.variant is None else f"project {self.variant}".strip()

    def run(self) -> Job:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        with open(self.log, "w") as log:
            for i, command in enumerate(self.commands):
                log.write("$ " + shlex.join(command[1:]) + "\n")
                log.flush()
                start = time.time()
                done = subprocess.run(command, cwd=REPO, env=env, stdout=log, stderr=log)
                if i == 0:
                    self.seconds = time.time() - start
                if done.returncode != 0:
                    self.error = f"exit status {done.returncode}; see {self.log}"
                    return self
        if self.variant is None:
            with open(self.log) as log:
                self.bound = float(BOUND.findall(log.read())[-1])
        else:
            with open(os.path.join(self.dir, "evaluations", "latest.json")) as f:
                self.bound = json.load(f)["elbo"]["loss"]
        return self

    def last_line(self) -> str:
        try:
            with open(self.log) as log:
                lines = [line.strip() for line in log if line.startswith("step")]
            return lines[-1] if lines else "starting"
        except OSError:
            return "waiting"


class Results:
    """fidelity.json: every finished run's record, kept across invocations (newest wins)."""

    def __init__(self, path: str):
        self.path, self.mine = path, []

    def on_disk(self) -> list[dict]:
        if not os.path.exists(self.path):
            return []
        with open(self.path) as f:
            return json.load(f)["runs"]

    def reuse(self, job: Job) -> bool:
        command, code = job.key
        for r in self.on_disk():
            if (r["command"], r.get("code"), r["error"]) == (command, code, None):
                job.bound, job.seconds, job.reused = r["bound"], r["train_seconds"], True
        return job.reused

    def add(self, job: Job) -> None:
        self.mine.append(job.record())
        self.save()

    def save(self, passed: bool | None = None) -> None:
        """Writes the records on disk (another invocation's too) with this one's over them."""
        mine = {r["command"] for r in self.mine}
        records = [r for r in self.on_disk() if r["command"] not in mine] + self.mine
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump({"passed_last": passed, "runs": records}, f, indent=1)
        os.replace(tmp, self.path)


def run_jobs(jobs: list[Job], results: Results) -> None:
    with concurrent.futures.ThreadPoolExecutor(FLAGS.jobs) as pool:
        pending = {pool.submit(job.run): job for job in jobs}
        for job in jobs[: FLAGS.jobs]:
            say(f"start {job.label}, seed {job.seed} (log: {job.log})")
        started = FLAGS.jobs
        while pending:
            done, _ = concurrent.futures.wait(
                pending, FLAGS.heartbeat, concurrent.futures.FIRST_COMPLETED
            )
            for future in done:
                job = pending.pop(future)
                future.result()
                results.add(job)
                result = job.error or f"{job.bound:.2f} nats, trained in {job.seconds:.0f} s"
                say(f"done  {job.label}, seed {job.seed}: {result}")
                if started < len(jobs):
                    nxt = jobs[started]
                    say(f"start {nxt.label}, seed {nxt.seed} (log: {nxt.log})")
                    started += 1
            if not done:
                for job in pending.values():
                    if os.path.exists(job.log):
                        say(f"      {job.label}, seed {job.seed}: {job.last_line()}")


def mean(values):
    return sum(values) / len(values)


def report(jobs: list[Job], variants: list, seeds: list[int]) -> bool:
    """Prints the table and the verdicts; True when every variant passes."""
    by = {(job.variant, job.seed): job for job in jobs}
    labels = [by[(v, seeds[0])].label for v in variants]
    width = max(22, *(len(label) + 2 for label in labels))
    print("\ntest-set bound L_x + L_z (nats), training wall time")
    print("seed".ljust(8) + "".join(label.ljust(width) for label in labels))
    for seed in seeds:
        cells = []
        for v in variants:
            job = by[(v, seed)]
            if job.bound is None:
                cells.append("failed" if job.error else "not run")
            else:
                cells.append(f"{job.bound:7.2f}  ({job.seconds:4.0f} s)")
        print(str(seed).ljust(8) + "".join(cell.ljust(width) for cell in cells))
    if any(job.bound is None for job in jobs):
        print("FAIL: some runs failed or were not run (see their logs; --reuse)")
        return False
    means = {v: mean([by[(v, s)].bound for s in seeds]) for v in variants}
    print("mean".ljust(8) + "".join(f"{means[v]:7.2f}".ljust(width) for v in variants))
    passed = True
    for v in variants[1:]:
        gap = means[v] - means[None]
        ok = gap <= FLAGS.tolerance
        passed &= ok
        print(
            f"{'PASS' if ok else 'FAIL'}: {by[(v, seeds[0])].label}: mean {means[v]:.2f} - "
            f"reference mean {means[None]:.2f} = {gap:+.2f} nats (tolerance {FLAGS.tolerance})"
        )
    return passed


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}; flags are --name=value")
    try:
        seeds = [int(s) for s in FLAGS.seeds]
    except ValueError:
        fail(f"--seeds must be integers, got {FLAGS.seeds}")
    if not seeds or min(seeds) < 0 or FLAGS.train_iters < 1 or FLAGS.jobs < 1:
        fail("--seeds needs seeds >= 0, --train_iters and --jobs must be positive")
    variants = list(dict.fromkeys(f.strip() for f in FLAGS.project_flags))
    for v in variants:
        for word in shlex.split(v):
            name = word.lstrip("-").split("=")[0].removeprefix("no")
            if not word.startswith("--") or name in OWNED:
                fail(f"--project_flags={v!r}: {word} is set by the benchmark or is not a flag")
    workdir = os.path.abspath(FLAGS.workdir)
    os.makedirs(workdir, exist_ok=True)
    test_npy = os.path.join(workdir, "test_binarized.npy")
    say(f"writing the project's binarized test split to {test_npy}")
    write_test_set(test_npy)
    jobs = [Job(v, s, workdir, test_npy) for s in seeds for v in [None, *variants]]
    results = Results(os.path.join(workdir, "fidelity.json"))
    for job in jobs if FLAGS.reuse else []:
        if results.reuse(job):
            say(f"reused {job.label}, seed {job.seed}: {job.bound:.2f} nats ({job.key[1]})")
    start = time.time()
    wanted = [job for job in jobs if not job.reused and (FLAGS.reference or job.variant)]
    run_jobs(wanted, results)
    say(f"all runs done in {(time.time() - start) / 60:.1f} min")
    passed = report(jobs, [None, *variants], seeds)
    results.save(passed)
    sys.exit(0 if passed else 1)


def parse_flags(argv):
    try:
        return FLAGS(argv)
    except flags.Error as e:
        fail(str(e))


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)

"""Timing helpers shared by the benchmark cases: medians of repeats, the reference
matmul, peak resident memory."""

from __future__ import annotations

import resource
import statistics
import time

import tensorflow as tf


def seconds_per_call(fn, calls: int, repeats: int, warmup: int = 2) -> float:
    """Median over `repeats` of the mean wall time of `calls` calls of fn() (which returns
    a tensor or NumPy array, or a dict or tuple of them); the last result is fetched before
    the clock stops, so queued work is counted."""
    for _ in range(warmup):
        _fetch(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            result = fn()
        _fetch(result)
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def interleaved_seconds_per_call(fns: dict, calls: dict, repeats: int, warmup: int = 2):
    """{name: median seconds per call} of several functions timed in turns (A B C A B C
    ...), so that a change in the machine's load hits them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            _fetch(fn())
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(seconds_per_call(fn, calls[name], 1, warmup=0))
    return {name: statistics.median(values) for name, values in times.items()}


def time_first_call(fn) -> float:
    """Seconds of the first call of a fresh tf.function (tracing, compiling, one run)."""
    start = time.perf_counter()
    _fetch(fn())
    return time.perf_counter() - start


def _fetch(result):
    """The value of result (a tensor, a NumPy array, or a dict, tuple or list of them)."""
    if isinstance(result, dict):
        result = next(iter(result.values()))
    elif isinstance(result, (tuple, list)):
        result = result[0]
    return result.numpy() if isinstance(result, tf.Tensor) else result


def matmul(n: int = 1024):
    """A compiled n x n x n float32 matmul (2 n^3 FLOPs) as a function of no arguments."""
    a = tf.random.normal([n, n])
    b = tf.random.normal([n, n])
    product = tf.function(tf.matmul)
    return lambda: product(a, b)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

"""Timing helpers shared by the benchmark cases: medians of repeats, the reference
matmul, peak resident memory."""

from __future__ import annotations

import resource
import statistics
import time

import tensorflow as tf


def seconds_per_call(fn, calls: int, repeats: int, warmup: int = 2) -> float:
    """Median over `repeats` of the mean wall time of `calls` calls of fn() (which returns
    a tensor, or a dict or tuple of them); the last result is fetched before the clock
    stops, so queued work is counted."""
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


def time_first_call(fn) -> float:
    """Seconds of the first call of a fresh tf.function (tracing, compiling, one run)."""
    start = time.perf_counter()
    _fetch(fn())
    return time.perf_counter() - start


def _fetch(result):
    if isinstance(result, dict):
        result = next(iter(result.values()))
    elif isinstance(result, (tuple, list)):
        result = result[0]
    return result.numpy()


def matmul_gflops(n: int = 1024, calls: int = 20, repeats: int = 5) -> float:
    """GFLOP/s of an n x n x n float32 matmul (2 n^3 FLOPs) in this process."""
    a = tf.random.normal([n, n])
    b = tf.random.normal([n, n])
    product = tf.function(tf.matmul)
    seconds = seconds_per_call(lambda: product(a, b), calls, repeats)
    return 2 * n**3 / seconds / 1e9


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

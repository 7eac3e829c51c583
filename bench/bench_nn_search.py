"""Times the nearest-neighbour search of --nn-nll: 1000 queries against the 60,000 MNIST
training images (784 pixels), one matrix product per block of queries.

    python bench/bench_nn_search.py [--queries=1000] [--batch_size=250]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from draw import cli  # noqa: E402,F401  (imports TensorFlow quietly)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--batch_size", type=int, default=250)
    args = parser.parse_args()

    import numpy as np

    from data import mnist
    from draw.evaluation import nearest_neighbours

    train = mnist.load("embedded").train_images.reshape(60000, -1).astype(np.float32) / 255.0
    queries = np.random.default_rng(0).uniform(size=(args.queries, train.shape[1]))
    nearest_neighbours(queries[: args.batch_size], train, args.batch_size)  # trace once
    started = time.perf_counter()
    nearest_neighbours(queries, train, args.batch_size)
    seconds = time.perf_counter() - started
    print(
        f"nearest-neighbour search: {args.queries} queries x {len(train)} references "
        f"in {seconds:.2f} s ({args.queries / seconds:.0f} queries/s)"
    )


if __name__ == "__main__":
    main()

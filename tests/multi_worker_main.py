"""One worker of the multi-worker test (tests/test_distribute.py starts two of them).

    TF_CONFIG=... python -m tests.multi_worker_main RUN_DIR OUT_FILE [key=value ...]

Trains the tiny test model on the bar images under --strategy=multi_worker (the cluster
and this worker's task come from TF_CONFIG) and saves the trained weights, the optimizer
state and the test-set bound to OUT_FILE (.npz). key=value pairs override tiny_config.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(run_dir, out_file, *overrides):
    import numpy as np

    from draw import distribute
    from draw.run_dir import RunDir
    from tests.helpers import tiny_config, tiny_image_data

    values = {k: json.loads(v) for k, v in (item.split("=", 1) for item in overrides)}
    config = tiny_config(strategy="multi_worker", **values)
    strategy = distribute.make_strategy(config)  # first: before TensorFlow runs any op

    from draw.training import Trainer

    trainer = Trainer(config, RunDir(run_dir), tiny_image_data(), log=print, strategy=strategy)
    results = trainer.train()
    arrays = {f"weight/{w.path}": w.numpy() for w in trainer.model.weights}
    arrays.update({f"optimizer/{v.path}": v.numpy() for v in trainer.optimizer.variables})
    arrays.update({f"result/{name}": value for name, value in results.items()})
    np.savez(out_file, chief=distribute.is_chief(strategy), **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Runs several invocations of one script in a single process, as tests.script_runner
does, for scripts whose flags clash with another script's in the test process
(evaluate.py's and generate.py's --num_samples): one TensorFlow import for all of them.

    python -m tests.row_runner ROWS.json

ROWS.json holds {"script": ..., "rows": [{"args": [...], "folder": ...}, ...]}; for each
row it prints, as one JSON line on its stdout, the exit status, stdout, stderr and whether
any file under the row's folder was added, changed or removed.
"""

import json
import os
import sys
import tempfile

from tests.script_runner import run_in_process
from tests.test_cli import checksums


class FdCapture:
    """What pytest's capfd gives run_in_process: the output of file descriptors 1 and 2."""

    def __init__(self):
        self.saved = [os.dup(1), os.dup(2)]
        self.files = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]
        for fd, f in zip((1, 2), self.files):
            os.dup2(f.fileno(), fd)

    def readouterr(self):
        sys.stdout.flush()
        sys.stderr.flush()
        texts = []
        for f in self.files:
            f.seek(0)
            texts.append(f.read().decode(errors="replace"))
            f.seek(0)
            f.truncate()
        return texts

    def result_stream(self):
        return os.fdopen(os.dup(self.saved[0]), "w")


def main(path):
    with open(path) as f:
        request = json.load(f)
    capture = FdCapture()
    with capture.result_stream() as results:
        for row in request["rows"]:
            before = checksums(row["folder"])
            status, out, err = run_in_process(capture, request["script"], *row["args"])
            changed = checksums(row["folder"]) != before
            results.write(json.dumps([status, out, err, changed]) + "\n")
            results.flush()


if __name__ == "__main__":
    main(sys.argv[1])

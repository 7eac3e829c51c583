"""Result files of evaluate.py: JSON and CSV, numbered, never overwritten.

Each evaluation writes FOLDER/NNNN-YYYYmmddTHHMMSS.json and .csv (NNNN one more than the
highest number in FOLDER; the name is claimed with a hard link, which fails instead of
replacing an existing file, so two evaluations running at once cannot overwrite each
other) and then replaces FOLDER/latest.json and latest.csv atomically with copies.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import time

from draw.errors import DrawError
from draw.run_dir import atomic_write_text

_NUMBERED = re.compile(r"^(\d+)-.*\.json$")


def to_csv(rows: list[dict]) -> str:
    """rows of flat {column: value} as CSV text; the columns are the union, in order."""
    columns = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _claim(folder: str, suffix_texts: dict[str, str], stamp: str) -> str:
    """Writes each text to a new file FOLDER/NNNN-stamp<suffix>; returns the stem's path."""
    taken = [int(m.group(1)) for name in os.listdir(folder) if (m := _NUMBERED.match(name))]
    number = max(taken, default=0) + 1
    temps = {}
    try:
        for suffix, text in suffix_texts.items():
            fd, temps[suffix] = tempfile.mkstemp(dir=folder, prefix=".result.")
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.chmod(temps[suffix], 0o644)
        while True:
            stem = os.path.join(folder, f"{number:04d}-{stamp}")
            first, *rest = suffix_texts
            try:
                os.link(temps[first], stem + first)
            except FileExistsError:
                number += 1
                continue
            for suffix in rest:
                os.link(temps[suffix], stem + suffix)
            return stem
    finally:
        for tmp in temps.values():
            if os.path.exists(tmp):
                os.remove(tmp)


def write_results(folder: str, record: dict, rows: list[dict]) -> dict:
    """Writes record as JSON and rows as CSV into folder; returns {kind: path}.

    Earlier result files are never touched, except latest.json / latest.csv, which are
    replaced atomically.
    """
    texts = {".json": json.dumps(record, indent=2, sort_keys=False) + "\n", ".csv": to_csv(rows)}
    try:
        os.makedirs(folder, exist_ok=True)
        stem = _claim(folder, texts, time.strftime("%Y%m%dT%H%M%S"))
        for suffix, text in texts.items():
            atomic_write_text(os.path.join(folder, "latest" + suffix), text)
    except OSError as e:
        raise DrawError(f"cannot write the results into {folder}: {e}") from None
    return {"json": stem + ".json", "csv": stem + ".csv"}

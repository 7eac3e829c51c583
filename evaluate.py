"""Measures a trained DRAW run: `python evaluate.py --help` lists its flags.
The code is draw/app/evaluate.py; an install provides it as the command `draw-evaluate`."""

from draw.app.evaluate import main, run  # noqa: F401  (main: the tests run it in-process)

if __name__ == "__main__":
    run()

"""Samples and figures from a trained DRAW: `python generate.py --help` lists its flags.
The code is draw/app/generate.py; an install provides it as the command `draw-generate`."""

from draw.app.generate import main, run  # noqa: F401  (main: the tests run it in-process)

if __name__ == "__main__":
    run()

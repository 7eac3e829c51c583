"""Trains DRAW: `python train.py --help` lists its flags.
The code is draw/app/train.py; an install provides it as the command `draw-train`."""

from draw.app.train import main, run  # noqa: F401  (main: the tests run it in-process)

if __name__ == "__main__":
    run()

"""The speed and memory suite of draw-tf2: `python -m bench.run` (see bench/README.md)."""

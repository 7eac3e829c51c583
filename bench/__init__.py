"""Benchmarks of draw-tf2: `python bench/run.py` (see bench/README.md)."""

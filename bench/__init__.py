"""Benchmarks of draw-tf2: `python bench/run.py` (see the README's Performance section)."""

"""Experiments of draw-tf2 (see experiments/README.md): the fidelity benchmark
(`python -m experiments.fidelity`) and the reproduction of the report's tables
(`python -m experiments.reproduce`)."""

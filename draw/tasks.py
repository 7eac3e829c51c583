"""The tasks a model serves. A model of the registry (draw.models) names its task, and the
task decides what applies to it: how it is trained and measured, and what generate.py
shows of it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    """What a kind of model does: its name and what a user gets from it."""

    name: str
    summary: str


GENERATION = Task(
    "generation",
    "a DRAW generative model: trained and measured by the variational bound (also the IWAE "
    "estimate and the NN-NLL); generate.py samples, reconstructs and interpolates with it",
)
CLASSIFICATION = Task(
    "classification",
    "a classifier: trained by the cross-entropy of its labels and measured by its test "
    "error; generate.py shows its glimpses",
)

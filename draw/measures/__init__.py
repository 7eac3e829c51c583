"""The measures of a trained model, each declared once in MEASURES, its one registry.

A `Measure` (measure.py) holds everything evaluate.py derives from it: its flag, help,
default and settings (with their ranges), the models it applies to, its columns in the
result files, its label in the --compare chart, its memory estimate and the function that
measures. The measures, one module each:

- bound.py: the test-set bound L_x + L_z (`seeded_elbo`), the default.
- iwae.py: the IWAE estimate of -log p(x) (`importance_sampled_nll`).
- classifier_error.py: a classifier's test error (`test_error`).
- nearest_neighbour.py: the report's nearest-neighbour NLL of generated images
  (`nearest_neighbour_nll`).

A measure of a module of its own declares it there, in a dict `MEASURES` (name to
`Measure`); this package registers it when it is imported (docs/extending.md).
"""

from __future__ import annotations

from draw.measures import bound, classifier_error, iwae, nearest_neighbour
from draw.measures.measure import Inputs, Measure
from draw.registry import TASKS, declared

__all__ = ["MEASURES", "Inputs", "Measure", "chart_labels", "register"]

# name -> Measure, in the order of evaluate.py's flags, the result columns and the bars
# of the --compare chart.
MEASURES: dict[str, Measure] = {}


def register(measure: Measure) -> None:
    """Adds measure to MEASURES; ValueError if its name, flag or a setting is taken."""
    taken = {name for m in MEASURES.values() for name in (m.name, m.flag, *m.settings)}
    clashes = taken & {measure.name, measure.flag, *measure.settings} - {None}
    if clashes or measure.task not in TASKS:
        raise ValueError(f"measure {measure.name}: taken {sorted(clashes)}, or not a task")
    MEASURES[measure.name] = measure


def chart_labels() -> dict[str, str]:
    """{column: legend label} of every column the --compare chart draws, in order."""
    return {column: label for m in MEASURES.values() for column, label in m.chart.items()}


for _measure in (bound.ELBO, iwae.IWAE, classifier_error.CLASSIFICATION, nearest_neighbour.NN_NLL):
    register(_measure)
# A measure of a module of its own declares it there (docs/extending.md).
for _measure in declared(__name__, __path__, "MEASURES", MEASURES).values():
    register(_measure)

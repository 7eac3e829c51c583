"""DRAW in TensorFlow 2 / Keras 3.

The library is one package, `draw`, with the model variants in `draw.models` and the
datasets in `draw.data`. An install puts them at draw/models and draw/data; a clone keeps
them at the top of the repository, in models/ and data/ beside draw/, and this package's
search path includes that folder so that `draw.models` and `draw.data` are found there.
No top-level `models` or `data` package is installed, so a project's own never clashes.
"""

import os

_HERE = os.path.dirname(os.path.abspath(__file__))
if not os.path.isdir(os.path.join(_HERE, "models")):  # a clone: models/, data/ beside draw/
    __path__.append(os.path.dirname(_HERE))  # noqa: F821 (a package's own __path__)

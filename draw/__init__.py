"""DRAW in TensorFlow 2 / Keras 3. The distribution installs three packages side by side:
`draw` (this one), `models` and `data`. A folder of another project that has its own
`models` or `data` package and comes first on sys.path (a script's own folder does) would
hide ours; that is detected here, at import, and reported in one line."""

import importlib.util
import os


def _check_own_packages() -> None:
    """ImportError (one line saying what to do) unless `models` and `data` are the packages
    installed beside this one."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for name in ("models", "data"):
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        ours = os.path.join(root, name, "__init__.py")
        if origin is None or os.path.realpath(origin) != os.path.realpath(ours):
            found = origin or "no package"
            raise ImportError(
                f"draw-tf2 needs its own `{name}` package ({ours}) but `import {name}` finds "
                f"{found}, which comes first on sys.path; use the commands draw-train, "
                f"draw-generate, draw-evaluate, or run Python from a folder without a "
                f"`{name}` package"
            )


_check_own_packages()

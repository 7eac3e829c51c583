"""The layout of docs/architecture.md: every import of the library at module level, no
cycles, every import pointing to a lower layer, and the tools (bench/, experiments/) on top."""

import ast
import os

import pytest

from tests.helpers import REPO

# The library's packages and their folders: models/ and data/ are draw.models and draw.data.
PACKAGE_DIRS = {
    "draw": "draw",
    "draw.app": os.path.join("draw", "app"),
    "draw.models": "models",
    "draw.data": "data",
}
PACKAGES = ("draw",)
TOOLS = ("bench", "experiments")  # at the top, beside the scripts


def _modules(packages=PACKAGES):
    """{module name: path} of every module of the packages (default: the library's)."""
    folders = PACKAGE_DIRS if packages == PACKAGES else {p: p for p in packages}
    modules = {}
    for package, folder in folders.items():
        modules.update(_package_modules(package, folder))
    return modules


def _package_modules(package, folder):
    """{module name: path} of package in folder (relative to REPO), subpackages included."""
    modules = {}
    for name in sorted(os.listdir(os.path.join(REPO, folder))):
        path = os.path.join(REPO, folder, name)
        if name.endswith(".py"):
            stem = name[: -len(".py")]
            modules[package if stem == "__init__" else f"{package}.{stem}"] = path
        elif os.path.isfile(os.path.join(path, "__init__.py")):
            modules.update(_package_modules(f"{package}.{name}", os.path.join(folder, name)))
    return modules


def _project_imports(tree, modules, packages=PACKAGES):
    """(node, imported module of packages) for every import in tree, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in modules
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name.split(".")[0] in packages:
                yield node, name


def _graph():
    modules = _modules()
    graph, nested = {}, []
    for module, path in modules.items():
        with open(path) as f:
            tree = ast.parse(f.read())
        top_level = set(map(id, tree.body))
        graph[module] = set()
        for node, name in _project_imports(tree, modules):
            if id(node) not in top_level:
                nested.append(f"{module}: {name}")
            if name in modules and name != module:
                graph[module].add(name)
    return graph, nested


# The mains import the library inside their functions, after draw.app.startup.start() has
# imported TensorFlow quietly (the library imports TensorFlow).
LATE_IMPORTS = ("draw.app.train", "draw.app.generate", "draw.app.evaluate")


def test_project_imports_are_at_module_level():
    _, nested = _graph()
    assert [n for n in nested if n.split(":")[0] not in LATE_IMPORTS] == []


def test_the_import_graph_has_no_cycle():
    graph, _ = _graph()
    order, state = [], {}

    def visit(module, path):
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", f"import cycle: {' -> '.join(path + [module])}"
        state[module] = "open"
        for imported in sorted(graph[module]):
            visit(imported, path + [module])
        state[module] = "done"
        order.append(module)

    for module in sorted(graph):
        visit(module, [])
    assert len(order) == len(graph) >= 15


# The layers of docs/architecture.md; a module imports only modules of lower layers.
LAYERS = {
    "draw.errors": 0, "draw.progress": 0, "draw": 0,
    "draw.registry": 0, "draw.options": 0.5,
    "draw.config": 1,
    "draw.attention": 2, "draw.losses": 2, "draw.distribute": 2,
    "draw.model": 3, "draw.train_step": 3,
    "draw.models.blocks": 3.1, "draw.models.image_features": 3.2, "draw.models.conv_read": 3.3,
    "draw.models.supervised": 3.3, "draw.models.conv_encoder": 3.3, "draw.models.classifier": 3.1,
    "draw.models": 4, "draw.configure": 4.5,
    "draw.data.arrays": 1, "draw.data.mnist": 2, "draw.data.svhn": 2, "draw.data.pipeline": 2,
    "draw.data.cluttered": 2, "draw.data": 4,
    "draw.classification": 0, "draw.files": 1,
    "draw.run_dir": 5, "draw.figures": 5, "draw.sampling": 5,
    "draw.pretrained": 6,
    "draw.measures.measure": 7, "draw.measures.bound": 7.1, "draw.measures.iwae": 7.1,
    "draw.measures.nearest_neighbour": 7.1, "draw.measures.classifier_error": 7.1,
    "draw.measures": 7.2,
    "draw.training": 8, "draw.api": 8,
    # The application layer, draw/app/: above the library, below the scripts' mains.
    "draw.app": 0, "draw.app.startup": 0,
    "draw.app.output_dir": 8.1, "draw.app.runs": 8.1, "draw.app.shipping": 8.1,
    "draw.app.export": 8.1, "draw.app.results": 8.1,
    "draw.app.generation": 8.2, "draw.app.evaluation": 8.2,
    "draw.app.flags": 9, "draw.app.cli": 9.1,
    "draw.app.train": 10, "draw.app.generate": 10, "draw.app.evaluate": 10,
}  # fmt: skip


# The packages whose registries docs/extending.md adds to: a module added there and not
# listed in LAYERS sits just below its package's __init__.py, which registers it.
REGISTRY_PACKAGES = ("draw.models", "draw.data", "draw.measures")


def layer_of(module):
    if module in LAYERS:
        return LAYERS[module]
    package = module.rpartition(".")[0]
    assert package in REGISTRY_PACKAGES, f"{module} has no layer in LAYERS"
    return LAYERS[package] - 0.01


def test_every_import_points_to_a_lower_layer():
    graph, _ = _graph()
    assert set(LAYERS) <= set(graph)
    upward = [f"{m} -> {i}" for m in graph for i in graph[m] if layer_of(i) >= layer_of(m)]
    assert upward == []


def test_a_module_added_to_a_registry_package_sits_below_the_package():
    assert layer_of("draw.models.toy_variant") < LAYERS["draw.models"]
    assert layer_of("draw.data.toy_squares") < LAYERS["draw.data"]
    with pytest.raises(AssertionError):
        layer_of("draw.unlisted")


def test_the_library_never_imports_the_application_layer():
    """draw/app/ sits above the library: no module outside it imports it."""
    graph, _ = _graph()
    wrong = [
        f"{m} -> {i}"
        for m in graph
        for i in graph[m]
        if i.startswith("draw.app") and not m.startswith("draw.app")
    ]
    assert wrong == []


# The scripts of a clone (layer 11): each runs its main in draw/app/ and imports nothing else.
SCRIPTS = {f"{name}.py": f"draw.app.{name}" for name in ("train", "generate", "evaluate")}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_a_script_imports_only_its_main(script):
    with open(os.path.join(REPO, script)) as f:
        tree = ast.parse(f.read())
    imported = {name for _, name in _project_imports(tree, _modules())}
    assert imported == {SCRIPTS[script]}


def test_the_library_imports_no_tool_nor_test():
    everything = PACKAGES + TOOLS + ("tests",)
    wrong = []
    for module, path in _modules().items():
        with open(path) as f:
            tree = ast.parse(f.read())
        for _, name in _project_imports(tree, {}, everything):
            if name.split(".")[0] not in PACKAGES:
                wrong.append(f"{module} -> {name}")
    assert wrong == []


# The tools' layers above the library's (10: the scripts' layer): a tool's module imports
# the library and lower modules of its own package; bench/ and experiments/ import neither
# each other nor tests/, and the fidelity benchmark's reference trainer imports nothing of
# the project (so that a slip cannot hide in both).
TOOL_LAYERS = {
    "bench": 10, "bench.measure": 10, "bench.flops": 10, "bench.plain": 10,
    "bench.report": 10, "bench.write_svhn_files": 10,
    "bench.cases": 10.1, "bench.tricks": 10.2, "bench.run": 10.3,
    "experiments": 10, "experiments.reference_draw": 10, "experiments.report_tables": 10,
    "experiments.reproduce": 10.1, "experiments.fidelity": 10.1,
    "experiments.cluttered_curve": 10, "experiments.cluttered_plot": 10,
    "experiments.cluttered_table": 10.1,
}  # fmt: skip


def test_the_tools_import_downward():
    library, tools = _modules(), _modules(TOOLS)
    assert set(tools) == set(TOOL_LAYERS)
    layers = {**LAYERS, **TOOL_LAYERS}
    wrong = []
    for module, path in tools.items():
        with open(path) as f:
            tree = ast.parse(f.read())
        for _, name in _project_imports(tree, {**library, **tools}, PACKAGES + TOOLS + ("tests",)):
            top = name.split(".")[0]
            if module == "experiments.reference_draw":
                wrong.append(f"{module} -> {name}")
            elif top == "tests" or (top in TOOLS and top != module.split(".")[0]):
                wrong.append(f"{module} -> {name}")
            elif name not in layers or layers[name] >= layers[module]:
                wrong.append(f"{module} -> {name}")
    assert wrong == []


def test_no_module_imports_a_top_level_models_or_data():
    """models/ and data/ are imported as draw.models and draw.data everywhere, as an install
    names them: a top-level `import models` would load a second copy in a clone and fail
    in an install."""
    wrong = []
    for folder, _, files in os.walk(REPO):
        if any(part.startswith(".") for part in os.path.relpath(folder, REPO).split(os.sep)):
            continue  # .git, .ci's virtual environment
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path) as f:
                    tree = ast.parse(f.read())
                for _, imported in _project_imports(tree, {}, ("models", "data")):
                    wrong.append(f"{os.path.relpath(path, REPO)} -> {imported}")
    assert wrong == []


def test_no_test_module_imports_another_nor_conftest():
    """Shared helpers have one home, tests/helpers.py (fixtures: conftest.py, which pytest
    loads itself): no module of tests/ imports a test module or conftest.py."""
    wrong = []
    for module, path in _modules(("tests",)).items():
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level <= 1:
                # from . import x and from .x import y, inside tests/, are tests.x imports
                package = "tests" if node.level else ""
                stem = ".".join(filter(None, [package, node.module]))
                names = [f"tests.{a.name}" for a in node.names] if stem == "tests" else [stem]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "tests" and len(parts) > 1:
                    if parts[1].startswith("test_") or parts[1] == "conftest":
                        wrong.append(f"{module} -> {name}")
    assert wrong == []

"""The layout of docs/architecture.md: every project import at module level, no cycles."""

import ast
import os

from tests.conftest import REPO

PACKAGES = ("draw", "models", "data")


def _modules():
    """{module name: path} of every module of the library packages."""
    modules = {}
    for package in PACKAGES:
        for name in sorted(os.listdir(os.path.join(REPO, package))):
            if name.endswith(".py"):
                stem = name[: -len(".py")]
                module = package if stem == "__init__" else f"{package}.{stem}"
                modules[module] = os.path.join(REPO, package, name)
    return modules


def _project_imports(tree, modules):
    """(node, imported project module) for every import in tree, at any depth."""
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
            if name.split(".")[0] in PACKAGES:
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


def test_project_imports_are_at_module_level():
    _, nested = _graph()
    assert nested == []


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
    "draw.config": 1,
    "draw.attention": 2, "draw.losses": 2, "draw.distribute": 2,
    "draw.model": 3,
    "models.blocks": 3.1, "models.image_features": 3.2, "models.conv_read": 3.3,
    "models.supervised": 3.3, "models.conv_encoder": 3.3, "models": 4,
    "data.arrays": 1, "data.mnist": 2, "data.svhn": 2, "data.pipeline": 2, "data": 4,
    "draw.run_dir": 5, "draw.figures": 5,
    "draw.generation": 6,
    "draw.evaluation": 7,
    "draw.training": 8, "draw.api": 8,
    "draw.cli": 9,
    "draw.train": 10, "draw.generate": 10, "draw.evaluate": 10,
}  # fmt: skip


def test_every_import_points_to_a_lower_layer():
    graph, _ = _graph()
    assert set(graph) == set(LAYERS)
    upward = [f"{m} -> {i}" for m in graph for i in graph[m] if LAYERS[i] >= LAYERS[m]]
    assert upward == []

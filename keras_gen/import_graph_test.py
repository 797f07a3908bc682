"""The import graph of keras_gen has no cycle, function-local imports included."""

import ast
import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "keras_gen"


def module_files(root=PACKAGE_DIR, package=PACKAGE):
    """Dotted module name -> path of every `.py` file below `root` (tests left out)."""
    modules = {}
    for directory, _, files in os.walk(root):
        parts = os.path.relpath(directory, root).split(os.sep)
        prefix = [package] + [p for p in parts if p != "."]
        for file in files:
            if not file.endswith(".py") or file.endswith("_test.py"):
                continue
            name = prefix if file == "__init__.py" else prefix + [file[:-3]]
            modules[".".join(name)] = os.path.join(directory, file)
    return modules


def _absolute(node, module, is_package):
    """The module an `ImportFrom` names, resolving relative imports against `module`."""
    if not node.level:
        return node.module
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(module, path, modules):
    """The keras_gen modules `module` imports anywhere in its file (top level or in a function).

    `from a.b import c` is an edge to `a.b.c` when that is a module and to `a.b`
    otherwise; the parent packages Python imports on the way are not edges
    (every submodule would otherwise close a cycle with its package's
    `__init__`).
    """
    with open(path, encoding="utf-8") as file:
        tree = ast.parse(file.read(), path)
    is_package = path.endswith("__init__.py")
    edges = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            edges.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, module, is_package)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                edges.add(submodule if submodule in modules else source)
    return sorted(edge for edge in edges if edge in modules and edge != module)


def import_graph(root=PACKAGE_DIR, package=PACKAGE):
    modules = module_files(root, package)
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def find_cycles(graph):
    """Every cycle of `graph` found by depth-first search, each as a list of modules."""
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for target in graph.get(node, ()):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return cycles


def test_keras_gen_has_no_import_cycle():
    cycles = find_cycles(import_graph())
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_a_cycle_through_a_function_local_import_is_found(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def f():\n    from pkg.a import name\n")
    (package / "c.py").write_text("from . import a\n")
    graph = import_graph(str(package), "pkg")
    assert graph["pkg.c"] == ["pkg.a"]
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]

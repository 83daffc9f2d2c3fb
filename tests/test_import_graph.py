"""The repository's own modules import each other without a circle, counting the imports made
inside functions too (a circle closed by a function-level import is still a circle: it only moves
the failure to run time and hides the layering).

Modules: pixelcnn_lib (and its subpackages), tools/*.py and benchmarks/*.py, which import their
siblings by bare name (they put their own folder on sys.path).
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules():
    found = {}
    for path in (ROOT / "pixelcnn_lib").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    for folder in ("tools", "benchmarks"):
        for path in (ROOT / folder).glob("*.py"):
            found[f"{folder}/{path.stem}"] = path
    return found


def imports_of(name, path, known):
    """The known modules that `name` imports anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    folder = name.split("/")[0] if "/" in name else None
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[:len(parent) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            if folder and f"{folder}/{target}" in known:  # a sibling script, imported by bare name
                out.add(f"{folder}/{target}")
            elif target in known:
                out.add(target)
    out.discard(name)
    return out


def find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None
    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a"}}) is None


def test_the_graph_sees_function_level_and_relative_imports():
    known = modules()
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    assert "pixelcnn_lib.checkpoints" in graph["pixelcnn_lib.training"]  # relative, top level
    assert "pixelcnn_lib.training" in graph["pixelcnn_lib.recipes"]      # inside a function


def test_no_import_circle():
    known = modules()
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    # a package's __init__ importing its own submodules is how a package is made, not a circle
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)

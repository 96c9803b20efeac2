"""The packages form layers: each imports only from itself and the layers below it.

    common (with vsrdata/__init__.py and errors.py) < crawler < motion < shards < preprocess
    < vsr_models < evaluate < the CLI (vsrdata/cli/, __main__.py)

Every ``import`` counts, those inside functions too (a lazy import still ties the packages).
Modules form no import cycle either. An AST check, so it runs without importing anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vsrdata"
LAYERS = [
    "common",
    "crawler",
    "motion",
    "shards",
    "preprocess",
    "vsr_models",
    "evaluate",
    "serve",
    "cli",
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("errors", "__init__"):
        return "common"
    if parts[1] in ("__main__", "cli"):
        return "cli"
    return parts[1]


def imports() -> dict[str, set[str]]:
    """module -> the vsrdata modules it imports (the longest existing module of each name)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            found = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # a submodule named in the list is the target; otherwise the module itself
                found = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                         else node.module for a in node.names]  # fmt: skip
            elif isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            for target in found:
                if target.split(".")[0] == "vsrdata":
                    while target not in modules and "." in target:
                        target = target.rsplit(".", 1)[0]
                    if target != name and not name.startswith(target + "."):
                        targets.add(target)  # (a package's own __init__ runs first anyway)
        graph[name] = targets
    return graph


def test_every_package_imports_only_from_below() -> None:
    graph = imports()
    assert {layer(m) for m in graph} <= set(LAYERS), "a new package needs its place in LAYERS"
    upward = sorted(
        f"{m} ({layer(m)}) imports {t} ({layer(t)})"
        for m, targets in graph.items()
        for t in targets
        if LAYERS.index(layer(t)) > LAYERS.index(layer(m))
    )
    assert not upward, "\n".join(upward)


def test_no_import_cycle() -> None:
    graph = imports()
    state: dict[str, int] = {}  # 1: on the path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)

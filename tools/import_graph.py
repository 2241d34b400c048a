"""The library's import graph, read from its own imports: layers, upward imports, cycles.

`python tools/import_graph.py` prints modules per package and every import that runs up a layer
or closes a cycle, and exits 1 if there is one; CI runs it. It reads every `import` statement with
`ast` (function-local and `TYPE_CHECKING` ones too: they are structure all the same) and resolves
names against the files under `assistant/`, so what it sees is what the code says.

It also holds the rules around the library: benchmarks import the library only (no other
benchmark, no test helper), and no test imports a benchmark.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = "assistant"

# Lowest first. A module may import its own layer and the layers below it, never one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "assistant",
            "assistant.errors",
            "assistant.kinds",
            "assistant.closing",
            "assistant.jsonl",
            "assistant.settings",
            "assistant.policy",
            "assistant.schemas",
            "assistant.wording",
        ),
    ),
    ("models and index", ("assistant.llm", "assistant.knowledge", "assistant.interaction_log")),
    (
        "ingestion, triage, tracing",
        ("assistant.ingestion", "assistant.triage", "assistant.tracing"),
    ),
    ("turn decisions", ("assistant.turn",)),
    ("graph", ("assistant.graph",)),
    ("service", ("assistant.thread_store", "assistant.thread_erasure", "assistant.service")),
    ("evaluation", ("assistant.evaluation",)),
    ("training", ("assistant.training",)),
    ("interfaces", ("assistant.interfaces",)),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def library_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / LIBRARY).rglob("*.py"))}


def imported_names(path: Path) -> Iterator[str]:
    """Every module name an import statement of `path` names, `from X import y` as `X.y`
    too (the caller keeps whichever is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The library module an imported name lands in (the longest prefix that is a module)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def layer_of(module: str) -> int:
    best, best_len = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            # The bare package name only claims `assistant/__init__.py` itself.
            if prefix == LIBRARY and module != LIBRARY:
                matches = False
            if matches and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


def library_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {resolve(n, modules) for n in imported_names(path) if n.startswith(LIBRARY)}
        # A package's `__init__` is reached on the way to its modules; only a real import of it
        # (a name it defines) counts, which `resolve` keeps when no submodule matches.
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def outside_rules() -> list[str]:
    """Benchmarks import only the library; tests import no benchmark."""
    problems = []
    benchmark_names = {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    test_helpers = {p.stem for p in (ROOT / "tests").glob("*.py")}
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        for name in imported_names(path):
            top = name.split(".")[0]
            if top in {"benchmarks", "tests"} or top in (benchmark_names | test_helpers) - {
                path.stem
            }:
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    for path in sorted((ROOT / "tests").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "benchmarks" in text and ("spec_from_file_location" in text or "run_path" in text):
            problems.append(f"{path.relative_to(ROOT)} loads a benchmark by path")
        for name in imported_names(path):
            if name.split(".")[0] == "benchmarks":
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    return sorted(set(problems))


def main() -> int:
    modules = library_modules()
    graph = library_graph(modules)
    unplaced = sorted(m for m in modules if layer_of(m) < 0)
    upward = sorted(
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if layer_of(target) > layer_of(source) >= 0
    )
    loops = cycles(graph)
    others = outside_rules()

    per_package = Counter(".".join(m.split(".")[:2]) if "." in m else m for m in modules)
    print(f"{len(modules)} modules, {sum(map(len, graph.values()))} imports between them")
    print(f"{'layer':<28} {'package':<34} modules")
    by_layer: dict[int, list[str]] = defaultdict(list)
    for package in per_package:
        by_layer[layer_of(package if package != LIBRARY else LIBRARY)].append(package)
    for number, (name, _) in enumerate(LAYERS):
        for package in sorted(by_layer.get(number, [])):
            print(f"{number} {name:<26} {package:<34} {per_package[package]}")
    print(f"imports that run up a layer: {len(upward)}")
    for source, target in upward:
        print(f"  {source} -> {target}")
    print(f"cycles: {len(loops)}")
    for loop in loops:
        print("  " + " <-> ".join(loop))
    for module in unplaced:
        print(f"  not in any layer: {module}")
    for problem in others:
        print(f"  {problem}")
    return 1 if upward or loops or unplaced or others else 0


if __name__ == "__main__":
    raise SystemExit(main())

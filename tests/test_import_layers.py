"""No import cycle among the service modules of nft and commerce.payments (issue #14).

A static check with `ast`: every `import` statement counts, including those inside functions,
since a function-level import that "calls up" into a higher module is the cycle this guards
against, only hidden from the interpreter until the function runs.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED_GLOBS = ("nft/services/*.py", "commerce/payments/services/*.py", "commerce/payments/*.py")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def checked_modules() -> dict[str, Path]:
    return {module_name(p): p for pattern in CHECKED_GLOBS for p in sorted(ROOT.glob(pattern))}


def imported_names(path: Path, name: str) -> set[str]:
    """Every dotted name an import statement anywhere in the file can load (module or module.attr)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = checked_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        # `import a.b.c` also runs a/__init__ and a/b/__init__: count those of our set too.
        targets: set[str] = set()
        for dotted in imported_names(path, name):
            parts = dotted.split(".")
            targets.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_checker_sees_function_level_imports_and_cycles() -> None:
    # The checker itself must be able to fail: a two-module cycle hidden in a function is found.
    assert find_cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    source = ROOT / "nft" / "services" / "mints.py"
    assert "nft.services.transactions" in imported_names(source, "nft.services.mints")


def test_every_checked_package_is_seen() -> None:
    modules = checked_modules()
    for expected in (
        "nft.services.transactions",
        "commerce.payments.services.refunds",
        "commerce.payments.models",
    ):
        assert expected in modules


def test_no_import_cycle_among_nft_services_and_payments() -> None:
    cycles = find_cycles(import_graph())
    assert cycles == [], "import cycles (function-level imports included): " + "; ".join(
        " <-> ".join(c) for c in cycles
    )

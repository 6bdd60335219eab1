"""The architecture's lines, drawn from the code itself: services run without the web stack (the worker and
the CLI import them with no Flask app), and the product's modules import in no circle."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "poms_dd"
WEB_STACK = ("flask", "flask_login", "flask_wtf", "werkzeug")


def _modules(under: Path) -> list[str]:
    out = []
    for path in sorted(under.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if "_stubs" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append(".".join(parts))
    return out


def test_every_service_module_imports_without_the_web_stack():
    modules = _modules(PACKAGE / "services") + ["poms_dd", "poms_dd.permissions", "poms_dd.models",
                                                "poms_dd.adapters", "poms_dd.cli.context"]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            f"print(','.join(n for n in {WEB_STACK!r} if n in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert len(modules) > 40                                      # the walk found the service modules
    assert result.stdout.strip() == "", f"importing the services loaded {result.stdout.strip()}"


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            targets = [f"{mod}.{a.name}" for a in node.names] + [mod]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and not name.startswith(t + "."):
                found.add(t)
    return found


def test_no_import_cycles_in_the_product():
    paths = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if "_stubs" in parts or "testbed" in parts:          # the testbed is a separate program
            continue
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {m: _imports(m, p, set(paths)) for m, p in paths.items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(m: str, trail: list[str]) -> bool:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle.extend(trail[trail.index(n):] + [m, n] if n in trail else [m, n])
                return True
            if n not in state and visit(n, trail + [m]):
                return True
        state[m] = 2
        return False

    assert not any(visit(m, []) for m in sorted(graph) if m not in state), f"import cycle: {' -> '.join(cycle)}"
    assert len(graph) > 80

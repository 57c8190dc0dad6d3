"""Project-wide rules: public surface, light imports, import direction, ruff and mypy clean."""

from __future__ import annotations

import ast
import inspect
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest

import rag
from rag import Assistant, Settings
from tests.onnx_support import cli_env, exported_cache

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ["rag", "index", "prompts", "ui", "evals"]
# package -> packages it must never import (DESIGN.md: one direction of imports)
FORBIDDEN = {
    "index": {"rag", "ui", "evals"},
    "rag": {"ui", "evals"},
    "prompts": {"rag", "index", "ui", "evals"},
    "ui": {"evals"},
    "evals": {"ui"},
}


# what a library user imports to build an Assistant from parts of their own and use it
USER_NAMES = {
    "Answer", "Answerer", "Assistant", "ChromaStore", "Citation", "ConfigError", "Embedder", "LLMBackend",
    "OnnxEmbedder", "PreparedQuestion", "RagError", "SentenceTransformerEmbedder", "Settings",
}


def readme_imports() -> list[tuple[str, str]]:
    """(module, name) of every ``from MODULE import NAME`` in the README's python snippets."""
    from tests.test_readme import python_snippets

    found = []
    for snippet in python_snippets():
        for node in ast.walk(ast.parse(snippet)):
            if isinstance(node, ast.ImportFrom):
                found.extend((str(node.module), alias.name) for alias in node.names)
    return found


def _project_types(hint: object) -> set[type]:
    """The classes of rag and index named anywhere in a type hint (``Iterator[str | Answer]`` -> Answer)."""
    if isinstance(hint, type) and hint.__module__.split(".")[0] in ("rag", "index"):
        return {hint}
    return {t for arg in typing.get_args(hint) for t in _project_types(arg)}


def test_public_surface_is_sorted_and_importable() -> None:
    assert rag.__all__ == sorted(rag.__all__)
    for name in rag.__all__:
        assert getattr(rag, name) is not None
    assert sorted(USER_NAMES - set(rag.__all__)) == []
    imports = readme_imports()
    assert imports, "the README shows python snippets"
    assert [(m, n) for m, n in imports if m != "rag" or n not in rag.__all__] == []


def test_every_type_in_the_assistants_public_methods_is_exported() -> None:
    needed: set[type] = set()
    for name, member in inspect.getmembers(Assistant):
        if name.startswith("_") or not callable(member):
            continue
        for hint in typing.get_type_hints(member).values():
            needed |= _project_types(hint)
    assert sorted(t.__name__ for t in needed if getattr(rag, t.__name__, None) is not t) == []


def test_the_assistant_keeps_its_parts_private() -> None:
    """Front ends use methods (open_source, warm_up, ...), never the store or the embedder itself."""
    public = {name for name in vars(Assistant) if not name.startswith("_")}
    parts = {"store", "embedder", "lexical", "retriever", "answerer", "llm_answerer"}
    assert public & parts == set()
    for path in [*(REPO / "ui").rglob("*.py"), *(REPO / "evals").rglob("*.py"), *(REPO / "rag").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        reached = re.findall(r"assistant\._?(?:store|embedder|lexical|retriever|answerer|llm_answerer)\b", text)
        if path.name != "assistant.py":
            assert reached == [], f"{path.relative_to(REPO)} reaches into the Assistant: {reached}"


def test_import_rag_stays_light() -> None:
    heavy = ["torch", "gradio", "sentence_transformers", "chromadb", "transformers", "llama_index", "onnxruntime"]
    code = f"import rag, rag.cli, sys; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]", out.stdout


# what answering a question never needs (llama_index: the extractive default uses none of it)
NOT_FOR_ASK = {"torch", "sentence_transformers", "transformers", "gradio", "pandas", "llama_index"}


def imported_modules(importtime_stderr: str) -> set[str]:
    """Every module named in ``python -X importtime`` output."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


@pytest.mark.slow
def test_rag_ask_imports_only_what_the_question_needs(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The whole `rag ask` process, once the ONNX model is cached: no torch, gradio, pandas, llama-index."""
    cache = exported_cache(tmp_path_factory)
    folder = tmp_path_factory.mktemp("light-ask")
    (folder / "notes.md").write_text("# Kitchen\n\nThe sourdough starter is fed with rye flour every morning.\n")
    settings = Settings(index_dir=str(folder / "index"), cache_dir=str(cache))
    assert Assistant.open(settings=settings).ingest([folder / "notes.md"]).ok
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rag", "ask", "What is the starter fed with?",
         "--index", str(folder / "index")],
        capture_output=True, text=True, cwd=REPO, env=cli_env(cache), timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "rye flour" in out.stdout
    modules = imported_modules(out.stderr)
    assert {"chromadb", "onnxruntime", "tokenizers", "rag.cli"} <= modules  # the measurement saw the work
    assert sorted(m for m in modules if m.split(".")[0] in NOT_FOR_ASK) == []


def _module_level_imports(path: Path) -> set[str]:
    """Top-level package names imported at module level (imports inside functions are lazy, allowed)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_go_one_way(package: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(_module_level_imports(path) & FORBIDDEN[package])
        for path in (REPO / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.slow
def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    out = subprocess.run([ruff, "check", *PACKAGES], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr


# -- no import cycles ------------------------------------------------------------------------------

CYCLE_PACKAGES = ("index", "rag", "ui", "evals")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = REPO, packages: tuple[str, ...] = CYCLE_PACKAGES) -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its file (in functions and
    ``TYPE_CHECKING`` blocks too), from the AST. ``from pkg import name`` is an edge to
    ``pkg.name`` when that is a module, else to ``pkg``."""
    files = {_module_name(p, root): p for package in packages for p in sorted((root / package).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    edges.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base)
        graph[name] = {e for e in edges if e in files and e != name}
    return graph


def knots(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan): each holds at least one cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

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
            component: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(set(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each knot, as a path ``a -> b -> ... -> a``."""
    return [_cycle_in(graph, knot) for knot in knots(graph)]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A path ``a -> b -> ... -> a`` through a strongly connected ``component`` (breadth-first back to its start)."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def test_find_cycles_names_each_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"f"}, "f": set()}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"x": {"y"}, "y": set()}) == []


def test_import_graph_counts_imports_inside_functions(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("def f():\n    from pkg import high\n")
    (pkg / "high.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .low import f\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph == {"pkg": set(), "pkg.low": {"pkg.high"}, "pkg.high": {"pkg.low"}}
    assert find_cycles(graph) == [["pkg.high", "pkg.low", "pkg.high"]]


def test_no_import_cycles_anywhere() -> None:
    """No module imports, even lazily or for type checking only, one that imports it back."""
    graph = import_graph()
    found = []
    for knot in knots(graph):
        cycle = _cycle_in(graph, knot)
        others = sorted(knot - set(cycle))
        found.append(" -> ".join(cycle) + (f" (in one knot with {', '.join(others)})" if others else ""))
    assert found == [], "import cycles: " + "; ".join(found)

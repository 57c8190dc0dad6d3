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

"""Project-wide rules: public surface, light imports, import direction, ruff and mypy clean."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
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


def test_public_surface_is_sorted_and_importable() -> None:
    assert rag.__all__ == sorted(rag.__all__)
    for name in rag.__all__:
        assert getattr(rag, name) is not None


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

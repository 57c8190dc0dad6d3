"""Project-wide rules: public surface, light imports, import direction, ruff and mypy clean."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rag

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
    heavy = ["torch", "gradio", "sentence_transformers", "chromadb", "transformers", "llama_index"]
    code = f"import rag, rag.cli, sys; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]", out.stdout


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

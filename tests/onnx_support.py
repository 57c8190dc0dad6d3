"""One ONNX export per test session, shared by every module that needs the onnx embedder.

The first caller exports the bundled model (fp32 and int8) into a fresh temporary cache
folder through the real first-use path (torch.onnx, quantize_dynamic, the check against
PyTorch); later callers get the same folder. Subprocesses see it through RAG_CACHE_DIR.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from index.onnx_embedding import OnnxEmbedder

_lock = threading.Lock()
_made: dict[str, Path] = {}


def exported_cache(factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding the checked ``model.onnx`` and ``model-int8.onnx`` of the default model."""
    with _lock:
        if "cache" not in _made:
            folder = factory.mktemp("onnx-cache")
            OnnxEmbedder(cache_dir=folder, quantized=True).load()  # makes fp32, then int8 beside it
            _made["cache"] = folder
        return _made["cache"]


def cli_env(cache: Path, **extra: str) -> dict[str, str]:
    """The environment without the caller's RAG_* settings, with the shared ONNX cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_CACHE_DIR"] = str(cache)
    env.update(extra)
    return env

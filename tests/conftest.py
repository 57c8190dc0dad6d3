"""Shared fixtures: the real embedding model, real Chroma, and the data in ../shared."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from index.embedding import SentenceTransformerEmbedder
from index.store import ChromaStore
from rag import Assistant, Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RAG_SHARED_DIR", REPO.parent / "shared")).resolve()
SEED_DIR = SHARED / "corpus" / "seed"
SEED_FILE = SEED_DIR / "000_7cc84e104f871c44.txt"
PDF_SAMPLES = SHARED / "corpus" / "pdf-samples"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None, timeout: float = 20) -> None:
    """Terminate a server a test started, killing it when it does not exit in ``timeout`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SEED_FILE.is_file():
        pytest.fail(f"the shared data is missing: expected {SEED_FILE} (set RAG_SHARED_DIR)")
    return SHARED


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real default model (bundled all-MiniLM-L6-v2), loaded once per test session."""
    return SentenceTransformerEmbedder()


@pytest.fixture
def make_assistant(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Callable[..., Assistant]:
    """Build an Assistant over a fresh embedded Chroma folder, sharing the loaded model."""

    def build(index_dir: Path | None = None, **settings: object) -> Assistant:
        folder = index_dir or tmp_path_factory.mktemp("index")
        config = Settings(index_dir=str(folder), **settings)  # type: ignore[arg-type]
        store = ChromaStore.persistent(str(folder), config.collection)
        return Assistant(store=store, embedder=embedder, settings=config)

    return build


@pytest.fixture(scope="session")
def seed_assistant(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder, shared_dir: Path
) -> Iterator[Assistant]:
    """An index of the seed article alone, built once and shared read-only."""
    folder = tmp_path_factory.mktemp("seed-index")
    config = Settings(index_dir=str(folder))
    assistant = Assistant(store=ChromaStore.persistent(str(folder)), embedder=embedder, settings=config)
    report = assistant.ingest([SEED_FILE])
    assert report.ok and len(report.added) == 1
    yield assistant

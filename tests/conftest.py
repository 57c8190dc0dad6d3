"""Shared fixtures: the real embedding model, real Chroma, the project's own fixture documents.

Every behaviour is tested on documents the project writes itself (``tests/fixtures/`` and files
the tests generate), so a plain clone passes. Tests that measure the public data sets or the
seed article carry ``@pytest.mark.needs_data("corpus/seed/...")``: they run when those paths
exist under the data folder (``RAG_DATA_DIR``, older name ``RAG_SHARED_DIR``, default
``../shared`` beside the checkout) and are skipped otherwise, with one line saying what is
missing and how to get it. The run ends with one line counting what the missing data skipped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from index.embedding import SentenceTransformerEmbedder
from index.store import ChromaStore
from rag import Assistant, Settings

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
ARTICLE = FIXTURES / "corpus" / "harrowmere-water.txt"  # the invented article most behaviour tests ask about


DATA = Path(Settings.from_env().data_dir).expanduser().resolve()  # RAG_DATA_DIR, as `rag eval` reads it
SEED_FILE = DATA / "corpus" / "seed" / "000_7cc84e104f871c44.txt"
PDF_SAMPLES = DATA / "corpus" / "pdf-samples"

PDF_SAMPLES_HOW = "set RAG_DATA_DIR to the data folder (the py-pdf/sample-files PDFs, see its SOURCE.md)"
_SKIPPED = pytest.StashKey[Counter[str]]()  # data group -> tests skipped for it
_RAN = pytest.StashKey[list[int]]()  # [data-dependent tests whose data was there]
_DATA_FIXTURES = ("data_dir", "seed_assistant")


def _how_to_get(rel: str) -> str:
    """What to do about a missing path: the catalog's advice for an eval set's file, else where the data is."""
    from evals.catalog import BUILTIN, how_to_get

    for entry in BUILTIN.values():
        if any(Path(f.path).parts[:2] == Path(rel).parts[:2] for f in entry.files):
            return how_to_get(entry)
    return PDF_SAMPLES_HOW if rel.startswith("corpus/pdf-samples") else "set RAG_DATA_DIR to the data folder"


def missing_data(paths: tuple[str, ...], data: Path = DATA) -> str | None:
    """The skip reason for the first of ``paths`` (relative to the data folder) that is absent, else None."""
    for rel in paths:
        if not (data / rel).exists():
            return f"needs data: {data / rel} is missing; {_how_to_get(rel)}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_data(*paths): paths under the data folder (RAG_DATA_DIR) the test reads; skipped without"
    )
    config.stash[_SKIPPED] = Counter()
    config.stash[_RAN] = [0]


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs_data"):
        if not marker.args:
            raise pytest.UsageError(f"{item.nodeid}: needs_data() names no path")
        reason = missing_data(tuple(str(a) for a in marker.args))
        if reason is not None:
            group = "/".join(Path(next(a for a in marker.args if not (DATA / a).exists())).parts[:2])
            item.config.stash[_SKIPPED][group] += 1
            pytest.skip(reason)
    if item.get_closest_marker("needs_data") is not None:
        item.config.stash[_RAN][0] += 1


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> Iterator[None]:
    """One line after pytest's own summary (``-ra`` lists each skip): what the data folder let run."""
    yield
    skipped = config.stash.get(_SKIPPED, Counter())
    ran = config.stash.get(_RAN, [0])[0]
    line = f"data-dependent tests: {ran} ran, {sum(skipped.values())} skipped (data folder {DATA})"
    if skipped:
        groups = ", ".join(f"{group} ({n})" for group, n in sorted(skipped.items()))
        line += f"; missing: {groups}; set RAG_DATA_DIR to the data folder (docs/evals.md)"
    terminalreporter.write_line(line)


def start_ui(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """Start ``rag ui ARGS`` (analytics off, offline) and return once it prints "ready"; fail the test if it exits."""
    cmd = [str(Path(sys.executable).parent / "rag"), "ui", *args]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("ready"):
            return proc
    pytest.fail("rag ui exited:\n" + "".join(lines))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The data folder; a test that reads it names the paths with ``needs_data`` (so it skips without them)."""
    return DATA


@pytest.fixture(autouse=True)
def _data_needs_a_marker(request: pytest.FixtureRequest) -> None:
    used = [f for f in _DATA_FIXTURES if f in request.fixturenames]
    if used and request.node.get_closest_marker("needs_data") is None:
        pytest.fail(f"{request.node.nodeid} uses {used[0]} without @pytest.mark.needs_data(...)")


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
def embedder() -> SentenceTransformerEmbedder:
    """The real default model (bundled all-MiniLM-L6-v2), loaded once per test session."""
    return SentenceTransformerEmbedder()


NATURAL_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "natural"


@pytest.fixture(scope="session")
def natural_assistant(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[Assistant]:
    """One index of the natural-set documents (tests/fixtures/natural/), shared by the tests that only ask."""
    folder = tmp_path_factory.mktemp("index-natural")
    assistant = Assistant.from_parts(store=ChromaStore.persistent(str(folder)), embedder=embedder,
                                     settings=Settings(index_dir=str(folder)))
    assert assistant.ingest(sorted(p for p in NATURAL_FIXTURES.iterdir() if p.suffix != ".py")).ok
    yield assistant


@pytest.fixture
def make_assistant(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Callable[..., Assistant]:
    """Build an Assistant over a fresh embedded Chroma folder, sharing the loaded model."""

    def build(index_dir: Path | None = None, **settings: object) -> Assistant:
        folder = index_dir or tmp_path_factory.mktemp("index")
        config = Settings(index_dir=str(folder), **settings)  # type: ignore[arg-type]
        store = ChromaStore.persistent(str(folder), config.collection)
        return Assistant.from_parts(store=store, embedder=embedder, settings=config)

    return build


def _index_of(path: Path, tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Assistant:
    if not path.is_file():
        pytest.fail(f"{path} is missing: a test that indexes it must carry @pytest.mark.needs_data(...)")
    folder = tmp_path_factory.mktemp("index-" + path.stem[:20])
    config = Settings(index_dir=str(folder))
    assistant = Assistant.from_parts(store=ChromaStore.persistent(str(folder)), embedder=embedder, settings=config)
    report = assistant.ingest([path])
    assert report.ok and len(report.added) == 1
    return assistant


@pytest.fixture(scope="session")
def article_assistant(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[Assistant]:
    """An index of the fixture article alone, built once and shared read-only."""
    yield _index_of(ARTICLE, tmp_path_factory, embedder)


@pytest.fixture(scope="session")
def seed_assistant(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[Assistant]:
    """An index of the seed article alone (tests using it carry ``needs_data("corpus/seed")``)."""
    yield _index_of(SEED_FILE, tmp_path_factory, embedder)

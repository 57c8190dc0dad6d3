"""Kill a real ingest mid-way (SIGKILL, and Ctrl-C), run it again, and compare with a clean run."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.models import chunk_id
from rag import Assistant
from tests.index_support import wait_for_lock_holder

pytestmark = pytest.mark.slow

RAG = Path(sys.executable).parent / "rag"
FILES = 240
# Two sentences of about 20 tokens per file: exactly two chunks each, so the run writes
# one batch of 256 chunks after 128 files, and the rest (224 chunks) at the end.
CHUNKING = {"chunk_size": 32, "chunk_overlap": 8}
FIRST_BATCH_FILES = 128
VOCAB = (
    "harbour lantern orchard glacier compass ledger meadow quarry beacon canyon "
    "saddle tunnel violin furnace pepper marble ribbon walnut anchor prism"
).split()


def write_corpus(folder: Path) -> Path:
    rng = random.Random(2024)
    folder.mkdir()
    for i in range(FILES):
        sentences = [
            f"Record {i} line {k} mentions the {rng.choice(VOCAB)} near the {rng.choice(VOCAB)} "
            f"and the {rng.choice(VOCAB)} of district {rng.randint(1, 999)}."
            for k in range(2)
        ]
        sub = folder / f"part{i % 4}"
        sub.mkdir(exist_ok=True)
        (sub / f"note{i:03d}.txt").write_text(" ".join(sentences), "utf-8")
    return folder


@dataclass(frozen=True)
class Snapshot:
    documents: dict[str, str]  # source -> doc_hash
    chunk_ids: frozenset[str]
    chunk_count: int
    states: dict[str, int]


def snapshot(index_dir: Path) -> Snapshot:
    """Everything in the index, read straight from Chroma (every chunk id, not only the manifest's)."""
    import chromadb
    from chromadb.config import Settings

    # The same settings as index.store uses: Chroma shares one client per path and refuses others.
    client = chromadb.PersistentClient(
        path=str(index_dir), settings=Settings(anonymized_telemetry=False, allow_reset=True)
    )
    chunks = client.get_collection("default")
    docs = client.get_collection("default-documents")
    ids: set[str] = set()
    offset = 0
    while True:
        page = chunks.get(include=[], limit=5000, offset=offset)
        ids.update(page["ids"])
        if len(page["ids"]) < 5000:
            break
        offset += 5000
    manifest = docs.get(include=["metadatas"])
    states: dict[str, int] = {}
    for meta in manifest["metadatas"] or []:
        states[str(meta["state"])] = states.get(str(meta["state"]), 0) + 1
    documents = {i: str(m["doc_hash"]) for i, m in zip(manifest["ids"], manifest["metadatas"] or [], strict=True)}
    return Snapshot(documents, frozenset(ids), chunks.count(), states)


class ProgressWatcher:
    """Reads a child's stderr in a thread and keeps the last ``done/total`` of its progress bar."""

    _BAR = re.compile(rb"(\d+)/(\d+) \[")

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.data = b""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        while chunk := self.proc.stderr.read1(4096):  # type: ignore[attr-defined]
            self.data += chunk

    def done(self) -> int:
        found = self._BAR.findall(self.data)
        return int(found[-1][0]) if found else 0

    def wait_for(self, files: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"ingest ended before it could be interrupted: {self.text()[-2000:]}")
            if self.done() >= files:
                return self.done()
            time.sleep(0.05)
        pytest.fail(f"ingest did not reach {files} files in {timeout}s: {self.text()[-2000:]}")

    def finish(self) -> str:
        self._thread.join(timeout=30)
        return self.text()

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _ctrl_c_as_in_a_terminal() -> None:
    # A run started in the background (`cmd &` without job control, nohup) passes SIGINT on as
    # ignored, and Python then installs no KeyboardInterrupt handler: give the child the
    # default a person's terminal gives it, whatever started this test run.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_ingest(corpus: Path, index_dir: Path) -> tuple[subprocess.Popen[bytes], ProgressWatcher]:
    proc = subprocess.Popen(
        [str(RAG), "ingest", str(corpus), "--index", str(index_dir),
         "--chunk-size", str(CHUNKING["chunk_size"]), "--chunk-overlap", str(CHUNKING["chunk_overlap"])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_ctrl_c_as_in_a_terminal,
    )
    return proc, ProgressWatcher(proc)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("interrupt") / "corpus")


@pytest.fixture(scope="module")
def clean(corpus: Path, tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Snapshot:
    """The index an uninterrupted run builds."""
    from index.store import ChromaStore as Store
    from rag import Settings

    folder = tmp_path_factory.mktemp("clean-index")
    settings = Settings(index_dir=str(folder), **CHUNKING)  # type: ignore[arg-type]
    assistant = Assistant.from_parts(store=Store.persistent(str(folder)), embedder=embedder, settings=settings)  # type: ignore[arg-type]
    report = assistant.ingest([corpus])
    assert report.ok and len(report.added) == FILES
    assert assistant.check() == []
    result = snapshot(folder)
    assert len(result.documents) == FILES and result.chunk_count == 2 * FILES
    return result


def rerun_and_compare(
    corpus: Path, index_dir: Path, clean: Snapshot, make_assistant: Callable[..., Assistant]
) -> tuple[str, ...]:
    """Ingest again (a fresh client over the killed run's folder) and compare with the clean run."""
    assistant = make_assistant(index_dir=index_dir, **CHUNKING)
    report = assistant.ingest([corpus])
    assert report.ok, report.failed
    assert assistant.check() == []
    assert len(report.added) + len(report.unchanged) == FILES
    assert report.updated == ()
    after = snapshot(index_dir)
    assert after.documents == clean.documents
    assert after.chunk_ids == clean.chunk_ids
    assert after.chunk_count == clean.chunk_count == len(clean.chunk_ids)
    assert after.states == {"complete": FILES}
    # The manifest agrees with the chunks, id for id.
    manifest_ids = {
        chunk_id(r.source, r.doc_hash, i) for r in assistant._store.documents().values() for i in range(r.chunks)
    }
    assert manifest_ids == after.chunk_ids
    # And a third run has nothing left to do.
    third = assistant.ingest([corpus])
    assert third.chunks_written == 0 and len(third.unchanged) == FILES and third.recovered == ()
    return report.recovered


def interrupt(
    proc: subprocess.Popen[bytes], watcher: ProgressWatcher, files: int, sig: signal.Signals, wait: float
) -> int:
    """Send ``sig`` once the bar shows ``files`` done; always leaves no process behind."""
    try:
        reached = watcher.wait_for(files, timeout=300)
        proc.send_signal(sig)
        proc.wait(timeout=wait)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    watcher.finish()
    return reached


def test_sigkill_mid_ingest_then_rerun_converges(
    corpus: Path, clean: Snapshot, tmp_path: Path, make_assistant: Callable[..., Assistant]
) -> None:
    index_dir = tmp_path / "killed-index"
    proc, watcher = start_ingest(corpus, index_dir)
    # The bar reaches 128 only after the first batch is written (progress follows the write),
    # and the second batch still has seconds of embedding ahead: kill there. Waiting for a
    # later count races the bar's 0.1 s redraw limit, since the next files load in milliseconds.
    reached = interrupt(proc, watcher, FIRST_BATCH_FILES, signal.SIGKILL, wait=30)
    assert proc.returncode == -signal.SIGKILL
    assert reached < FILES

    killed = snapshot(index_dir)
    complete = killed.states.get("complete", 0)
    pending = killed.states.get("pending", 0)
    assert complete == FIRST_BATCH_FILES, killed.states  # it really stopped half-way
    assert pending in (0, FILES - FIRST_BATCH_FILES)

    recovered = rerun_and_compare(corpus, index_dir, clean, make_assistant)
    assert len(recovered) == pending  # every half-written document was cleaned up first


def test_sigint_exits_130_and_rerun_converges(
    corpus: Path, clean: Snapshot, tmp_path: Path, make_assistant: Callable[..., Assistant]
) -> None:
    index_dir = tmp_path / "interrupted-index"
    proc, watcher = start_ingest(corpus, index_dir)
    # Once it holds the writer lock, the reading, the model load and both batches are ahead.
    # (Not at a count of the bar: files are read ahead of the embedder, hundreds a second, so
    # the bar's first redraw may come after the first batch, under a second before the end.)
    wait_for_lock_holder(index_dir, proc.pid, proc)  # type: ignore[arg-type]
    interrupt(proc, watcher, 0, signal.SIGINT, wait=60)
    stderr = watcher.text()
    assert proc.returncode == 130, stderr[-2000:]
    assert "interrupted" in stderr and "index stays consistent" in stderr
    assert "Traceback" not in stderr

    from chromadb.errors import NotFoundError

    try:
        complete = snapshot(index_dir).states.get("complete", 0)
    except NotFoundError:  # interrupted before it made its collections
        complete = 0
    assert complete < FILES
    rerun_and_compare(corpus, index_dir, clean, make_assistant)


"""A real index folder of generated passages, built through the product's own writers.

The scale benchmark's default engine is the index ``rag`` itself opens: a Chroma folder
(chunks, their texts and metadata, the document manifest) written by
``index.batches.BatchWriter`` under the writer lock, and the lexical index beside it
brought in step by ``index.lexical.LexicalIndex.sync``, which reads the chunks back from
Chroma and tokenizes them, as after an ingest. Only two things differ from ``rag ingest``:

- the passages come from ``evals.perf.scale_corpus`` instead of files (no reading, no
  chunking: each generated passage is one chunk, ~170 words, about the 224-token chunk
  size);
- the vectors come from ``StandInEmbedder``: a deterministic random unit vector of the
  real model's dimension per text. The collection records the real model's fingerprint
  (``Settings`` defaults), so ``rag ask --index DIR`` opens the folder with the real model
  and embeds its question for real; only the stored vectors are stand-ins, so dense hits
  are arbitrary while every cost (HNSW insert and query, texts, manifest) is the real one.

Sizes nest: ``passages(n)`` of a larger n starts with the passages of a smaller one, so
``grow`` takes an index from 10k to 100k to 1M passages by adding only what is new.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import numpy as np

from evals.perf.scale_corpus import Passage, passages
from index.batches import BatchWriter
from index.embedding import DEFAULT_MODEL, KNOWN_DIMENSIONS
from index.fingerprint import IndexFingerprint
from index.lexical import LexicalIndex
from index.models import Chunk, DocumentRecord, chunk_id
from index.store import ChromaStore

PER_DOCUMENT = 20
PROGRESS_EVERY = 20_000  # passages between progress lines
CORPUS_ROOT = "/scale-corpus"  # document ids are absolute paths; no file exists there
DIMENSION = KNOWN_DIMENSIONS[DEFAULT_MODEL]
ProgressFn = Callable[[str, int, float], None]  # (stage, passages done, seconds so far)


class StandInEmbedder:
    """A fast deterministic embedder: the same text always gets the same random unit vector.

    It embeds nothing: it only gives the store vectors of the right shape, so the
    benchmark times Chroma and the lexical index, not the model.
    """

    backend = "stand-in"

    def __init__(self, model_id: str = "scale-stand-in", dimension: int = DIMENSION) -> None:
        self._model_id = model_id
        self._dimension = dimension

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)

    def forget_queries(self) -> None:
        """Nothing is remembered."""

    def _vector(self, text: str) -> list[float]:
        rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
        v = rng.standard_normal(self._dimension).astype(np.float32)
        out: list[float] = (v / np.linalg.norm(v)).tolist()
        return out


def real_fingerprint() -> IndexFingerprint:
    """What ``rag ask`` with default settings expects: the default model, its dimension, default chunking."""
    from rag.config import Settings

    settings = Settings()
    return IndexFingerprint(DEFAULT_MODEL, DIMENSION, settings.chunk_size, settings.chunk_overlap)


@dataclass(frozen=True)
class GeneratedDocument:
    """One document of generated passages as the store holds it: its record and its chunks."""

    record: DocumentRecord
    chunks: tuple[Chunk, ...]


def make_document(source_name: str, items: Sequence[Passage], version: str = "") -> GeneratedDocument:
    """The record and chunks of one generated document (pure); ``version`` changes its hash."""
    source = f"{CORPUS_ROOT}/{source_name}.txt"
    display = f"{source_name}.txt"
    texts = [p.text for p in items]
    doc_hash = hashlib.sha256(("\n\n".join(texts) + version).encode("utf-8")).hexdigest()
    chunks = []
    start = 0
    for position, (p, text) in enumerate(zip(items, texts, strict=True)):
        chunks.append(Chunk(
            id=chunk_id(source, doc_hash, position), text=text, source=source, display=display,
            title=source_name, page=None, start=start, end=start + len(text), tokens=len(p.words),
            position=position, doc_hash=doc_hash,
        ))
        start += len(text) + 2
    record = DocumentRecord(
        source=source, display=display, title=source_name, doc_hash=doc_hash, chunks=len(chunks), pages=0,
        size=start, ingested_at=time.time(), state="pending",
    )
    return GeneratedDocument(record, tuple(chunks))


def generated_documents(items: Iterator[Passage]) -> Iterator[GeneratedDocument]:
    for source, group in groupby(items, key=lambda p: p.source):
        yield make_document(source, list(group))


def open_store(folder: Path) -> ChromaStore:
    """The index folder as ``rag`` opens it (created with the real model's fingerprint when new)."""
    folder.mkdir(parents=True, exist_ok=True)
    store = ChromaStore.persistent(str(folder))
    store.create(real_fingerprint())
    return store


def write_documents(
    store: ChromaStore, documents: Iterator[GeneratedDocument], *, batch: int,
    previous: dict[str, DocumentRecord] | None = None, progress: ProgressFn | None = None,
) -> int:
    """Write documents with the ingest's batch writer and protocol; returns the chunks written."""
    previous = previous or {}
    writer = BatchWriter(store, StandInEmbedder(), min(batch, store.max_batch_size()))
    started = time.perf_counter()
    reported = 0
    with store.writing("scale benchmark"):
        for doc in documents:
            writer.begin(doc.record, previous.get(doc.record.source))
            for chunk in doc.chunks:
                writer.add(chunk)
            writer.finish(doc.record.source, chunks=len(doc.chunks))
            if progress is not None and writer.written >= reported + PROGRESS_EVERY:
                reported = writer.written
                progress("chroma", reported, time.perf_counter() - started)
        writer.flush()
    return writer.written


def grow(
    folder: Path, have: int, want: int, *, step: int = 100_000, batch: int = 5000,
    progress: ProgressFn | None = None,
) -> dict[str, float]:
    """Add passages ``have``..``want`` to the index in ``folder``, syncing its lexical index every ``step``.

    Each step writes its documents to Chroma, then brings the lexical index in step (as
    ``rag ingest`` does after its files), so an interrupted run leaves a whole index of
    the last step's size. Returns the seconds spent in Chroma (``dense_build_s``: the
    stand-in embedder included, generating the passages not) and in the lexical syncs
    (``build_s``).
    """
    store = open_store(folder)
    lexical = LexicalIndex.for_store(store)
    source = generated_documents(passages(want, per_document=PER_DOCUMENT))
    dense_s = lexical_s = 0.0
    done = have
    while done < want:
        upto = min(want, (done // step + 1) * step)
        spent_generating = 0.0

        def fresh(low: int = done, high: int = upto) -> Iterator[GeneratedDocument]:
            nonlocal spent_generating
            while True:
                started = time.perf_counter()
                doc = next(source, None)
                spent_generating += time.perf_counter() - started
                if doc is None:
                    return
                first = _number(doc.record.source) * PER_DOCUMENT
                if first >= low:
                    yield doc
                if first + PER_DOCUMENT >= high:
                    return

        started = time.perf_counter()

        def overall(stage: str, written: int, seconds: float, base: int = done, before: float = dense_s) -> None:
            if progress is not None:  # the whole index's passages and Chroma seconds, not this step's
                progress(stage, base + written, before + seconds)

        write_documents(store, fresh(), batch=batch, progress=overall)
        dense_s += time.perf_counter() - started - spent_generating
        if progress is not None:
            progress("chroma", upto, dense_s)
        started = time.perf_counter()
        lexical.sync(store, force=True)
        lexical_s += time.perf_counter() - started
        if progress is not None:
            progress("lexical", upto, lexical_s)
        done = upto
    return {"dense_build_s": dense_s, "build_s": lexical_s}


def _number(source: str) -> int:
    """The document number in a generated document id (``/scale-corpus/doc-0000012.txt`` -> 12)."""
    return int(source.rsplit("-", 1)[1].split(".")[0])


def print_progress(stage: str, done: int, seconds: float) -> None:
    """One line per step on stderr: stage, passages, seconds, rate."""
    import sys

    rate = done / seconds if seconds > 0 else 0.0
    print(f"[{time.strftime('%H:%M:%S')}] {stage}: {done:,} passages, {seconds:.0f} s ({rate:.0f}/s)",
          file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m evals.perf.scale_index DIR N [HAVE]``: grow the index in DIR to N passages."""
    import json
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    folder, want, have = Path(args[0]), int(args[1]), int(args[2]) if len(args) > 2 else 0
    print(json.dumps(grow(folder, have, want, progress=print_progress)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

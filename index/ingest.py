"""Incremental, idempotent, crash-safe ingestion into a ChromaStore.

A document's id is its absolute path and its version the sha256 of its bytes.
Writing one batch of new or changed documents goes:

1. manifest records of the batch -> state "pending" (the new version);
2. embed the chunks and upsert them (chunk ids include the version, so the
   old version's chunks are untouched and still answer questions);
3. delete the old version's chunks (their ids are computed, not searched for);
4. manifest records -> state "complete".

A run killed anywhere leaves, at worst, "pending" records. The next run first
deletes every chunk of those documents and their records, then ingests them
again like new ones, so it converges to the index a clean run would build.

A run holds the index's writer lock throughout (``ChromaStore.writing``), so the
only "pending" records it can find are those of writers that are gone; each record
also names its writer, and one of a writer that may still be alive (another host
writing to a Chroma server) is never recovered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from index.chunking import chunk_pages, validate_chunking
from index.discovery import FoundFile, discover
from index.embedding import Embedder
from index.errors import IngestError
from index.hashing import sha256_file
from index.loaders import load_file
from index.models import Chunk, DocumentRecord, FileFailure, IngestReport, chunk_id
from index.store import ChromaStore, IndexFingerprint
from index.writing import holds_writer_lock, writer_is_gone

ProgressFn = Callable[[int, int, str], None]
"""Called as ``progress(done, total, display_name)`` after each file."""


@dataclass(frozen=True)
class IngestOptions:
    """How to ingest: chunking, file selection and limits."""

    chunk_size: int = 224
    chunk_overlap: int = 64
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    sync: bool = False
    max_bytes: int = 50_000_000
    batch_chunks: int = 256
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Prepared:
    record: DocumentRecord
    chunks: tuple[Chunk, ...]
    previous: DocumentRecord | None
    note: str = ""  # from the loader, e.g. the encoding it detected


def fingerprint_for(embedder: Embedder, options: IngestOptions) -> IndexFingerprint:
    return IndexFingerprint(embedder.model_id, embedder.dimension, options.chunk_size, options.chunk_overlap)


def check_index(
    store: ChromaStore, embedder: Embedder, options: IngestOptions, *, check_chunking: bool
) -> IndexFingerprint:
    """Fail with IndexMismatchError when the index was built differently; returns the fingerprint.

    The model id is compared first: an embedder's dimension may need its model loaded, and
    an index built with another model must say how to rebuild, not fail loading the model.
    """
    built_with = store.fingerprint().get("embedding_model")
    if built_with is not None and built_with != embedder.model_id:
        unknown_dimension = IndexFingerprint(embedder.model_id, 0, options.chunk_size, options.chunk_overlap)
        store.check(unknown_dimension, check_chunking=False)  # raises: the model ids differ
    fingerprint = fingerprint_for(embedder, options)
    store.check(fingerprint, check_chunking=check_chunking)
    return fingerprint


def recover(store: ChromaStore) -> tuple[str, ...]:
    """Undo what an interrupted run left half-written; returns the documents it removed.

    Only records whose writer is gone are touched: holding the folder's writer lock proves
    that for every other writer; without a folder (a Chroma server) the id must name a
    process of this host that has ended.
    """
    held = store.lock is not None and store.lock.held
    pending = [
        s for s, r in store.documents().items()
        if r.state != "complete" and r.writer != store.writer_id and (held or writer_is_gone(r.writer))
    ]
    store.delete_chunks_of(pending)
    store.delete_documents(pending)
    return tuple(pending)


def prepare(found: FoundFile, doc_hash: str, previous: DocumentRecord | None, options: IngestOptions) -> _Prepared:
    """Load and chunk one file (raises IngestError)."""
    extracted = load_file(found.path, options.max_bytes)
    source = str(found.path)
    spans = chunk_pages(
        extracted.text, extracted.pages, chunk_size=options.chunk_size, chunk_overlap=options.chunk_overlap
    )
    chunks = tuple(
        Chunk(
            id=chunk_id(source, doc_hash, i),
            text=extracted.text[span.start : span.end],
            source=source,
            display=found.display,
            title=extracted.title,
            page=page,
            start=span.start,
            end=span.end,
            tokens=span.tokens,
            position=i,
            doc_hash=doc_hash,
            tags=options.tags,
        )
        for i, (page, span) in enumerate(spans)
    )
    record = DocumentRecord(
        source=source,
        display=found.display,
        title=extracted.title,
        doc_hash=doc_hash,
        chunks=len(chunks),
        pages=len(extracted.pages),
        size=found.path.stat().st_size,
        ingested_at=time.time(),
        state="pending",
    )
    return _Prepared(record, chunks, previous, extracted.note)


def write_batch(store: ChromaStore, embedder: Embedder, batch: Sequence[_Prepared]) -> int:
    """Steps 1-4 of the protocol in the module docstring for a batch of documents."""
    if not batch:
        return 0
    store.put_documents([p.record for p in batch])
    chunks = [c for p in batch for c in p.chunks]
    vectors = embedder.embed_documents([c.text for c in chunks])
    store.upsert_chunks(chunks, vectors)
    stale = [
        chunk_id(p.previous.source, p.previous.doc_hash, i)
        for p in batch
        if p.previous is not None and p.previous.doc_hash != p.record.doc_hash
        for i in range(p.previous.chunks)
    ]
    store.delete_chunk_ids(stale)
    store.put_documents([replace(p.record, state="complete") for p in batch])
    return len(chunks)


@holds_writer_lock("delete")
def delete_documents(store: ChromaStore, sources: Sequence[str]) -> None:
    """Remove documents from the index, crash-safely (pending first, record last)."""
    manifest = store.documents()
    records = [replace(manifest[s], state="pending") for s in sources if s in manifest]
    store.put_documents(records)
    store.delete_chunks_of(list(sources))
    store.delete_documents(list(sources))


def _under(path: str, roots: Sequence[Path]) -> bool:
    return any(Path(path).is_relative_to(root) for root in roots)


@holds_writer_lock("ingest")
def ingest(
    paths: Sequence[str | Path],
    *,
    store: ChromaStore,
    embedder: Embedder,
    options: IngestOptions = IngestOptions(),
    progress: ProgressFn | None = None,
) -> IngestReport:
    """Bring the index in line with the files under ``paths``; see the module docstring."""
    started = time.perf_counter()
    validate_chunking(options.chunk_size, options.chunk_overlap)
    found = discover(paths, options.include, options.exclude)
    fingerprint = check_index(store, embedder, options, check_chunking=True)
    store.create(fingerprint)
    recovered = recover(store)
    manifest = store.documents()

    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    failed: list[FileFailure] = []
    notes: list[str] = []
    batch: list[_Prepared] = []
    batch_size = 0
    written = 0
    total = len(found.files)
    for done, item in enumerate(found.files, start=1):
        source = str(item.path)
        previous = manifest.get(source)
        try:
            doc_hash = sha256_file(item.path) if item.path.is_file() else ""
            if previous is not None and previous.doc_hash == doc_hash:
                unchanged.append(source)
            else:
                prepared = prepare(item, doc_hash, previous, options)
                (updated if previous is not None else added).append(source)
                batch.append(prepared)
                batch_size += len(prepared.chunks)
                if prepared.note:
                    notes.append(f"{item.display}: {prepared.note}")
        except IngestError as exc:
            failed.append(FileFailure(source, exc.reason))
        except OSError as exc:
            failed.append(FileFailure(source, f"cannot read: {exc.strerror or exc}"))
        if batch_size >= options.batch_chunks:
            written += write_batch(store, embedder, batch)
            batch, batch_size = [], 0
        if progress is not None:
            progress(done, total, item.display)
    written += write_batch(store, embedder, batch)

    deleted: list[str] = []
    if options.sync and found.roots:
        seen = {str(f.path) for f in found.files}
        deleted = sorted(
            s for s in manifest
            if s not in seen and _under(s, found.roots) and not Path(s).exists()
        )
        delete_documents(store, deleted)

    return IngestReport(
        added=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        deleted=tuple(deleted),
        failed=tuple(failed),
        skipped=found.unsupported,
        recovered=recovered,
        chunks_written=written,
        seconds=time.perf_counter() - started,
        notes=tuple(notes),
    )


def consistency_problems(store: ChromaStore) -> list[str]:
    """Every way the chunks and the manifest disagree (empty when the index is sound)."""
    manifest = store.documents()
    versions = store.chunk_sources()
    problems: list[str] = []
    for source, record in manifest.items():
        if record.state != "complete":
            problems.append(f"{source}: left pending")
        if versions.get(source, set()) - {record.doc_hash}:
            problems.append(f"{source}: chunks of an old version remain")
    for source in versions.keys() - manifest.keys():
        problems.append(f"{source}: orphan chunks with no document record")
    expected = sum(r.chunks for r in manifest.values() if r.state == "complete")
    if not problems and store.count_chunks() != expected:
        problems.append(f"chunk count {store.count_chunks()} != {expected} recorded")
    return problems

"""Incremental, idempotent, crash-safe ingestion into a ChromaStore.

A document's id is its absolute path (``index.names``) and its version the sha256 of
its bytes (and its format's loader version: ``index.loader_versions``). Each file is
read and chunked in a child process with a time limit
(``index.extract_worker``), a few files ahead of the one being embedded
(``index.prefetch``), and its chunks are written in batches (``index.batches``),
small documents sharing one, a big one spread over many:

1. manifest records of the batch's documents -> state "pending" (the new version);
2. embed the chunks and upsert them (chunk ids include the version, so the
   old version's chunks are untouched and still answer questions); a chunk whose exact
   text was embedded before, in this run or in the index, reuses that vector
   (``index.reuse``);
3. once a document's last chunk is written, delete its old version's chunks
   (their ids are computed, not searched for);
4. its manifest record -> state "complete".

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from index.batches import BatchWriter
from index.chunking import ChunkSpan, iter_chunk_pages, validate_chunking
from index.compatibility import check_index
from index.discovery import FoundFile, discover
from index.embedding import Embedder
from index.errors import IngestError
from index.loader_versions import content_hash, document_version, reread_note
from index.models import Chunk, DocumentRecord, ExtractedText, FileFailure, IngestReport, chunk_id
from index.names import document_path
from index.prefetch import ReadAhead
from index.store import ChromaStore
from index.writing import holds_writer_lock, writer_is_gone

ProgressFn = Callable[[int, int, str], None]
"""Called as ``progress(done, total, display_name)`` after each file."""

FileProgressFn = Callable[[str, int, int], None]
"""Called as ``file_progress(display_name, done_chars, total_chars)`` after each batch written
in the middle of a file (so only for files bigger than one batch)."""


@dataclass(frozen=True, kw_only=True)
class IngestOptions:
    """How to ingest: chunking, file selection and limits.

    The first four are settings and have no default here: ``index`` reads no settings, and
    ``rag.Settings.ingest_options()`` is where their defaults live (docs/design-notes.md).
    """

    chunk_size: int
    chunk_overlap: int
    max_bytes: int
    file_timeout: float  # seconds to read one file; 0: no limit (read in this process)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    sync: bool = False
    batch_chunks: int = 256  # at most; never more than the store takes in one call
    tags: tuple[str, ...] = ()
    read_workers: int = 0  # reader processes working ahead of the embedder; 0: index.prefetch.default_workers


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
    store.delete_manifest_rows(pending)
    return tuple(pending)


def write_document(
    writer: BatchWriter,
    found: FoundFile,
    doc_hash: str,
    previous: DocumentRecord | None,
    extracted: ExtractedText,
    options: IngestOptions,
    file_progress: FileProgressFn | None = None,
    spans: Iterable[tuple[int | None, ChunkSpan]] | None = None,
) -> int:
    """Chunk one extracted file lazily and hand its chunks to ``writer``; returns their number.

    ``spans``: the chunks' spans when they were made elsewhere (``index.prefetch``); by
    default ``iter_chunk_pages`` of the text.
    """
    source = found.source
    record = DocumentRecord(
        source=source,
        display=found.display,
        title=extracted.title,
        doc_hash=doc_hash,
        chunks=0,  # known at the end; see index.batches
        pages=len(extracted.pages),
        size=found.path.stat().st_size,
        ingested_at=time.time(),
        state="pending",
    )
    writer.begin(record, previous)
    if spans is None:
        spans = iter_chunk_pages(
            extracted.text, extracted.pages, chunk_size=options.chunk_size, chunk_overlap=options.chunk_overlap
        )
    count = 0
    for i, (page, span) in enumerate(spans):
        chunk = Chunk(
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
        if writer.add(chunk) and file_progress is not None:
            file_progress(found.display, span.start, len(extracted.text))
        count = i + 1
    writer.finish(source, chunks=count)
    return count


@holds_writer_lock("delete")
def remove_documents(store: ChromaStore, sources: Sequence[str]) -> None:
    """Remove documents and their chunks from the index, crash-safely (pending first, record last)."""
    manifest = store.documents()
    records = [replace(manifest[s], state="pending") for s in sources if s in manifest]
    store.put_documents(records)
    store.delete_chunks_of(list(sources))
    store.delete_manifest_rows(list(sources))


def _under(source: str, roots: Sequence[Path]) -> bool:
    return any(document_path(source).is_relative_to(root) for root in roots)


@holds_writer_lock("ingest")
def ingest(
    paths: Sequence[str | Path],
    *,
    store: ChromaStore,
    embedder: Embedder,
    options: IngestOptions,
    progress: ProgressFn | None = None,
    file_progress: FileProgressFn | None = None,
) -> IngestReport:
    """Bring the index in line with the files under ``paths``; see the module docstring."""
    started = time.perf_counter()
    validate_chunking(options.chunk_size, options.chunk_overlap)
    found = discover(paths, options.include, options.exclude)
    fingerprint = check_index(store, embedder, options.chunk_size, options.chunk_overlap)
    store.create(fingerprint)
    recovered = recover(store)
    manifest = store.documents()

    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    failed: list[FileFailure] = []
    notes: list[str] = []
    writer = BatchWriter(store, embedder, min(options.batch_chunks, store.max_batch_size()))
    total = len(found.files)

    reread: list[str] = []  # unchanged bytes, read again because their loader changed (index.loader_versions)

    def is_unchanged(item: FoundFile, doc_hash: str) -> bool:
        previous = manifest.get(item.source)
        return previous is not None and previous.doc_hash == document_version(doc_hash, item.source)

    with ReadAhead(
        found.files, is_unchanged, max_bytes=options.max_bytes, timeout=options.file_timeout,
        chunking=(options.chunk_size, options.chunk_overlap), workers=options.read_workers,
    ) as ahead:
        for done, ready in enumerate(ahead, start=1):
            item = ready.found
            source = item.source
            previous = manifest.get(source)
            try:
                if ready.unchanged:
                    unchanged.append(source)
                elif ready.failure is not None:
                    failed.append(FileFailure(source, ready.failure))
                elif ready.extracted is not None:
                    extracted = ready.extracted
                    (updated if previous is not None else added).append(source)
                    if previous is not None and content_hash(previous.doc_hash) == ready.doc_hash:
                        reread.append(source)
                    if extracted.note:
                        notes.append(f"{item.display}: {extracted.note}")
                    write_document(
                        writer, item, document_version(ready.doc_hash, source), previous, extracted, options,
                        file_progress, spans=ahead.spans(ready),
                    )
            except IngestError as exc:
                failed.append(FileFailure(source, exc.reason))
            except OSError as exc:
                failed.append(FileFailure(source, f"cannot read: {exc.strerror or exc}"))
            if progress is not None:
                progress(done, total, item.display)
    writer.flush()
    written = writer.written

    deleted: list[str] = []
    if options.sync and found.roots:
        seen = {f.source for f in found.files}
        deleted = sorted(
            s for s in manifest
            if s not in seen and _under(s, found.roots) and not document_path(s).exists()
        )
        remove_documents(store, deleted)

    if reread:
        notes.append(reread_note(reread))
    return IngestReport(
        added=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        deleted=tuple(deleted),
        failed=tuple(failed),
        skipped=found.unsupported,
        recovered=recovered,
        chunks_written=written,
        chunks_reused=writer.reuse.reused,
        seconds=time.perf_counter() - started,
        notes=tuple(notes),
        reread=tuple(reread),
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

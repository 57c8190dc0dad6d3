"""Embed and write chunks in batches as they come, keeping the crash-safety protocol.

Small documents share a batch; a big one is written over many batches as it is chunked,
so neither its texts nor its vectors are ever all in memory. For every batch:

1. manifest records of documents not yet announced -> state "pending";
2. embed the batch's chunks and upsert them (a text embedded before, in this run or in
   the store, takes its vector from there: ``index.reuse``);
3. for each document whose last chunk is now written: delete its old version's chunks
   (their ids are computed), then its record -> "complete".

A document being streamed stays "pending" (with ``chunks`` 0 until it is known) across
its batches, so a run killed in the middle of it leaves a pending record, and
``index.ingest.recover`` removes every chunk of it before the next run ingests it again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from index.embedding import Embedder
from index.models import Chunk, DocumentRecord, chunk_id
from index.reuse import VectorReuse
from index.store import ChromaStore


@dataclass
class _Document:
    record: DocumentRecord  # "pending"; ``chunks`` is final once ``finished``
    previous: DocumentRecord | None
    announced: bool = False
    finished: bool = False
    added: int = 0  # chunks handed to the writer
    written: int = 0  # chunks upserted


class BatchWriter:
    """Collects chunks of one document after another and writes them ``batch_size`` at a time.

    >>> writer = BatchWriter(store, embedder, 256)            # doctest: +SKIP
    >>> writer.begin(record, previous)                        # doctest: +SKIP
    >>> for chunk in chunks: writer.add(chunk)                # doctest: +SKIP
    >>> writer.finish(record.source, chunks=len(chunks))      # doctest: +SKIP
    >>> writer.flush()                                        # doctest: +SKIP
    """

    def __init__(self, store: ChromaStore, embedder: Embedder, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size ({batch_size}) must be at least 1")
        self._store = store
        self.reuse = VectorReuse(embedder, store.vectors_by_key)
        self.batch_size = batch_size
        self._buffer: list[Chunk] = []
        self._documents: dict[str, _Document] = {}
        self.written = 0

    def begin(self, record: DocumentRecord, previous: DocumentRecord | None) -> None:
        """Start a document (``record`` pending; its chunk count is given to ``finish``)."""
        self._documents[record.source] = _Document(replace(record, state="pending"), previous)

    def add(self, chunk: Chunk) -> bool:
        """Queue one chunk of a begun document; True when a full batch was written first."""
        flushed = len(self._buffer) >= self.batch_size
        if flushed:
            self.flush()
        self._buffer.append(chunk)
        self._documents[chunk.source].added += 1
        return flushed

    def finish(self, source: str, *, chunks: int) -> None:
        """Every chunk of ``source`` was added; it completes with the batch that writes the last."""
        doc = self._documents[source]
        doc.record = replace(doc.record, chunks=chunks)
        doc.finished = True
        if len(self._buffer) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Write what is queued: steps 1-3 of the module docstring."""
        fresh = [d for d in self._documents.values() if not d.announced]
        self._store.put_documents([d.record for d in fresh])
        for d in fresh:
            d.announced = True
        if self._buffer:
            vectors, keys = self.reuse.vectors([c.text for c in self._buffer])
            self._store.upsert_chunks(self._buffer, vectors, keys)
            for c in self._buffer:
                self._documents[c.source].written += 1
            self.written += len(self._buffer)
            self._buffer = []
        done = [d for d in self._documents.values() if d.finished and d.written == d.added]
        stale = [
            chunk_id(d.previous.source, d.previous.doc_hash, i)
            for d in done
            if d.previous is not None and d.previous.doc_hash != d.record.doc_hash
            for i in range(d.previous.chunks)
        ]
        self._store.delete_chunk_ids(stale)
        self._store.put_documents([replace(d.record, state="complete") for d in done])
        for d in done:
            del self._documents[d.record.source]

"""``rag repair``: rebuild what is damaged in an index from what is intact.

Chroma keeps each record twice: its text and metadata in ``chroma.sqlite3`` (and, until
the vector index is next saved, its vector in the log table ``embeddings_queue``), and
its vector in the HNSW files of the collection's vector segment folder. Only the vector
index is saved with plain file writes that a full disk or a crash can leave half-done
(``index_metadata.pickle`` at 0 bytes, a short ``link_lists.bin``), so only it is rebuilt:

1. a vector index that does not load (or crashes the probe) is moved aside, and Chroma's
   saved position for it (``max_seq_id``) is forgotten, so Chroma starts it afresh and
   replays what its log still holds;
2. every record that still has no readable vector gets one: chunks are embedded again
   from their stored text, manifest records get their constant vector back;
3. "pending" records of writers that are gone, orphan chunks and chunks of replaced
   versions are removed (as the next ingest would);
4. the lexical index is rebuilt from the store.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass

from index.check import probe_store
from index.embedding import Embedder
from index.errors import IndexDamagedError
from index.ingest import recover
from index.lexical import LexicalIndex
from index.opening import SQLITE_FILE, vector_segments
from index.probe import ProbeResult
from index.reuse import embed_key, embedder_identity
from index.store import ChromaStore


@dataclass(frozen=True)
class RepairReport:
    """What ``repair`` did."""

    location: str
    rebuilt: tuple[str, ...] = ()  # collections whose vector index was started afresh
    reembedded: int = 0  # chunks embedded again from their text
    manifest_restored: int = 0  # manifest records given their vector back
    recovered: tuple[str, ...] = ()  # half-written documents removed: ingest them again
    removed_chunks: int = 0  # orphan chunks and chunks of replaced versions
    lexical_rebuilt: bool = False

    def lines(self) -> list[str]:
        out = [f"rebuilt the vector index of collection {n!r}" for n in self.rebuilt]
        if self.reembedded:
            out.append(f"embedded {self.reembedded} chunks again from their stored text")
        if self.manifest_restored:
            out.append(f"restored {self.manifest_restored} manifest records")
        out.extend(f"removed a half-written document (ingest it again): {s}" for s in self.recovered)
        if self.removed_chunks:
            out.append(f"removed {self.removed_chunks} orphan or outdated chunks")
        if self.lexical_rebuilt:
            out.append("rebuilt the lexical index")
        return out or ["nothing needed repair"]


def set_aside(store: ChromaStore, names: list[str]) -> tuple[str, ...]:
    """Move these collections' vector segment folders out of Chroma's way; returns the names moved.

    The moved folders are deleted once the repair has succeeded (``.damaged-*`` folders
    left behind by an interrupted repair are removed by the next one).
    """
    folder = store.chroma_path
    if folder is None:
        return ()
    segments = vector_segments(folder, names)
    con = sqlite3.connect(folder / SQLITE_FILE)
    try:
        for seg in segments.values():
            if (folder / seg).exists():
                os.replace(folder / seg, folder / f".damaged-{seg}-{int(time.time())}")
            con.execute("DELETE FROM max_seq_id WHERE segment_id = ?", (seg,))
        con.commit()
    finally:
        con.close()
    store.reopen()
    return tuple(sorted(segments))


def _rebuild_unloadable(store: ChromaStore, result: ProbeResult | None) -> tuple[tuple[str, ...], ProbeResult | None]:
    if result is None or not result.problems():
        return (), result
    # A segment with unreadable vectors is never read in this process either: Chroma's `get`
    # on a truncated HNSW file may crash it. It is set aside like one that does not load, and
    # the vectors Chroma's log cannot give back are embedded again from the stored text.
    damaged = [c.name for c in result.collections if c.unreadable]
    names = [store.name, f"{store.name}-documents"] if result.crashed else sorted({*result.failed_to_load(), *damaged})
    rebuilt = set_aside(store, names)
    result = probe_store(store)
    if result is not None and (result.crashed or result.failed_to_load()):
        raise IndexDamagedError(
            f"the index {store.location} could not be repaired ({'; '.join(result.problems())}). "
            f"Delete the folder (rm -r {store.location}) and ingest your documents again."
        )
    return rebuilt, result


def _remove_strays(store: ChromaStore) -> int:
    """Delete orphan chunks and chunks of versions the manifest no longer names."""
    manifest = store.documents()
    versions = store.chunk_sources()
    orphans = sorted(versions.keys() - manifest.keys())
    removed = 0
    if orphans:
        removed += sum(len(c) for c in store.chunks_of(orphans).values())
        store.delete_chunks_of(orphans)
    outdated = [s for s, v in versions.items() if s in manifest and v - {manifest[s].doc_hash}]
    stale = [c.id for cs in store.chunks_of(outdated).values() for c in cs if c.doc_hash != manifest[c.source].doc_hash]
    store.delete_chunk_ids(stale)
    return removed + len(stale)


def repair(store: ChromaStore, embedder: Embedder, lexical: LexicalIndex | None) -> RepairReport:
    """Run the steps of the module docstring, holding the writer lock."""
    with store.writing("repair"):
        rebuilt, result = _rebuild_unloadable(store, probe_store(store))
        store.damage = []
        lost = {c.name: list(c.unreadable) for c in (result.collections if result else ())}
        identity = embedder_identity(embedder)
        reembedded = store.restore_chunk_vectors(
            lost.get(store.name, []), embedder.embed_documents, key=lambda text: embed_key(identity, text)
        )
        restored = store.restore_manifest_vectors(lost.get(f"{store.name}-documents", []))
        recovered = recover(store) if store.exists() else ()
        removed = _remove_strays(store) if store.exists() else 0
        if lexical is not None:
            lexical.rebuild_all(store)
        if store.chroma_path is not None:
            for leftover in store.chroma_path.glob(".damaged-*"):
                shutil.rmtree(leftover, ignore_errors=True)
    return RepairReport(store.location, rebuilt, reembedded, restored, recovered, removed, lexical is not None)


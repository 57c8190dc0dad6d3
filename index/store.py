"""Chroma as the store: one chunks collection and one manifest collection per knowledge base.

The manifest (``<name>-documents``) holds one record per document: the version
(content hash) in the index and whether it is complete. Chunk ids include the
version, so a new version is written beside the old one and the old one is
removed only afterwards; see ``index.ingest`` for the crash-safety protocol.

For an index folder (embedded Chroma) the store also owns the writer lock
(``index.locking``): ``writing()`` holds it, stamps the writer's id on "pending"
records and, after each committed batch, records the new state (``index.state``) so
that other processes notice the write (``refresh``) and damage is told from change.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from index.errors import ConfigError, IndexBusyError, IndexDamagedError
from index.fingerprint import IndexFingerprint as IndexFingerprint  # re-exported: imported from here
from index.fingerprint import mismatch
from index.locking import WriterLock
from index.models import Chunk, DocumentRecord, Hit
from index.reuse import EMBED_KEY
from index.state import read_state, state_token, write_state
from index.store_errors import damaged_message, store_errors
from index.store_meta import chunk_from_meta, chunk_meta, record_from_meta

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,60}[a-zA-Z0-9]$")
_GET_PAGE = 5000  # rows per Chroma get(); keeps memory flat on big indexes
_KEY_PAGE = 1000  # embed_key values per metadata query in vectors_by_key
_REFRESH_SECONDS = 1.0  # how often a reader looks for another process's writes
DEFAULT_COLLECTION = "default"  # the knowledge base's name when none is given; Settings.collection too


def _chroma_settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=True)


class ChromaStore:
    """Chunks and the document manifest of one knowledge base in Chroma.

    >>> store = ChromaStore.persistent("my-index")          # doctest: +SKIP
    >>> store = ChromaStore.http("http://127.0.0.1:8000")   # doctest: +SKIP
    """

    def __init__(self, client: Any, name: str, location: str, folder: Path | None = None) -> None:
        """``folder`` is the index folder of an embedded Chroma (None for a server)."""
        if not _NAME.match(name):
            raise ConfigError(
                f"collection name {name!r} is invalid: use 3-62 letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit"
            )
        self._client = client
        self.name = name
        self.location = location
        self.folder = folder
        self.chroma_path = folder  # what Chroma opens: a temporary copy of a read-only folder
        self.lock = WriterLock(folder) if folder is not None else None
        self.damage: list[str] = []  # set on open when a probe found the folder damaged (index.opening)
        self._chunks: Any = None
        self._docs: Any = None
        self._seen_token = state_token(folder) if folder is not None else None
        self._checked_at = time.monotonic()

    @classmethod
    def persistent(cls, path: str, name: str = DEFAULT_COLLECTION) -> ChromaStore:
        """Open (creating) an index folder; a damaged or read-only folder is handled by index.opening."""
        from index.opening import open_folder

        opened = open_folder(path, name)
        store = cls(cls._client_for(str(opened.chroma_path)), name, path, Path(path))
        store.chroma_path = opened.chroma_path
        store.damage = list(opened.damage)
        return store

    @classmethod
    def _client_for(cls, path: str) -> Any:
        import chromadb

        with store_errors(path):
            return chromadb.PersistentClient(path=path, settings=_chroma_settings())

    @classmethod
    def http(cls, url: str, name: str = DEFAULT_COLLECTION) -> ChromaStore:
        import chromadb

        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"chroma url {url!r} must look like http://host:port")
        port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        with store_errors(url):
            client = chromadb.HttpClient(
                host=parsed.hostname, port=port, ssl=parsed.scheme == "https", settings=_chroma_settings()
            )
            client.heartbeat()
        return cls(client, name, url)

    # -- one writer, and seeing the others' writes -----------------------------------------

    @property
    def writer_id(self) -> str:
        """The id stamped on this process's "pending" records while it holds the lock."""
        holder = self.lock.holder if self.lock is not None else None
        return holder.writer if holder is not None else ""

    @contextmanager
    def writing(self, operation: str) -> Iterator[None]:
        """Be the only writer of the index folder for the block (IndexBusyError when another is).

        The first thing a writer does is to reopen Chroma if another process wrote since
        this one last looked: a stale in-memory vector index, saved again, would drop the
        other process's vectors. Leaving the block records the committed state.
        """
        if self.lock is None:
            yield
            return
        with self.lock.hold(operation):
            if self.lock.depth == 1:
                self.refresh(force=True)
            yield
            if self.lock.depth == 1:
                self.commit()

    def commit(self) -> None:
        """Record a committed write (generation + segment files); a no-op unless holding the lock."""
        if self.folder is None or self.lock is None or not self.lock.held:
            return
        previous = read_state(self.folder)
        try:
            write_state(self.folder, (previous.generation if previous else 0) + 1, self.writer_id)
        except OSError:
            return  # a full disk: the next open finds the segment files unrecorded and probes them
        self._seen_token = state_token(self.folder)

    def refresh(self, *, force: bool = False) -> bool:
        """Reopen Chroma when another process committed a write since we last looked.

        Chroma's embedded client keeps each collection's vector index in memory, loaded
        once per process, so without this a long-running process never finds the chunks
        that another process added. Checked at most once a second (a stat of one file).
        """
        if self.folder is None:
            return False
        now = time.monotonic()
        if not force and now - self._checked_at < _REFRESH_SECONDS:
            return False
        self._checked_at = now
        token = state_token(self.folder)
        if token == self._seen_token:
            return False
        self._seen_token = token
        self.reopen()
        return True

    def reopen(self) -> None:
        """Drop this process's Chroma system for the folder and open it afresh."""
        from chromadb.api.shared_system_client import SharedSystemClient

        identifier = getattr(self._client, "_identifier", None)
        if identifier is not None:
            # Other clients of this path keep the old system object they hold; new ones get a fresh one.
            SharedSystemClient._identifier_to_system.pop(identifier, None)
        if self.chroma_path is None:
            return  # a Chroma server holds no per-process vector index to reload
        self._client = self._client_for(str(self.chroma_path))
        self._chunks = self._docs = None

    # -- collections -------------------------------------------------------------------

    def exists(self) -> bool:
        """True when this knowledge base has been created (opens its collections)."""
        if self.damage:
            raise IndexDamagedError(damaged_message(self.location, "; ".join(self.damage)))
        if self.lock is None or not self.lock.held:
            self.refresh()
        if self._chunks is not None:
            return True
        with store_errors(self.location):
            names = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
            if self.name not in names:
                return False
            self._chunks = self._client.get_collection(self.name, embedding_function=None)
            self._docs = self._client.get_or_create_collection(
                f"{self.name}-documents", embedding_function=None
            )
        return True

    def collection_id(self) -> str:
        """The id Chroma gave the chunks collection ("" when absent); a collection created again gets a new one."""
        if not self.exists():
            return ""
        return str(self._chunks.id)

    def fingerprint(self) -> IndexFingerprint | None:
        """What the index was built with (recorded on its collection), or None when it does not exist yet."""
        if not self.exists():
            return None
        return IndexFingerprint.from_metadata(self._chunks.metadata or {})

    def check(self, expected: IndexFingerprint, *, check_chunking: bool) -> None:
        """Fail with IndexMismatchError when the index was built differently."""
        error = mismatch(self.fingerprint(), expected, self.location, self.name, check_chunking=check_chunking)
        if error is not None:
            raise error

    def create(self, fingerprint: IndexFingerprint) -> None:
        """Create the collections (idempotent), recording the fingerprint."""
        if self.exists():
            return
        with store_errors(self.location):
            self._chunks = self._client.get_or_create_collection(
                self.name,
                metadata=fingerprint.as_metadata(),
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
            self._docs = self._client.get_or_create_collection(
                f"{self.name}-documents", embedding_function=None
            )

    def drop(self) -> None:
        """Delete both collections of this knowledge base."""
        with store_errors(self.location):
            for name in (self.name, f"{self.name}-documents"):
                try:
                    self._client.delete_collection(name)
                except Exception as exc:  # absent already: fine, anything else: raise
                    if "not exist" not in str(exc).lower() and "not found" not in str(exc).lower():
                        raise
        self._chunks = self._docs = None

    # -- chunks --------------------------------------------------------------------------

    def count_chunks(self) -> int:
        if not self.exists():
            return 0
        with store_errors(self.location):
            return int(self._chunks.count())

    def max_batch_size(self) -> int:
        """The most records Chroma takes in one call (5,461 embedded; a server says its own, or 1,000)."""
        with store_errors(self.location):
            size = int(self._client.get_max_batch_size())
        return size if size > 0 else 1000

    def upsert_chunks(
        self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]], keys: Sequence[str] = ()
    ) -> None:
        """Write chunks and their vectors; ``keys``: each one's ``embed_key`` (``index.reuse``), if known."""
        if not chunks:
            return
        metadatas = [chunk_meta(c) for c in chunks]
        for meta, key in zip(metadatas, keys, strict=False):
            meta[EMBED_KEY] = key
        with store_errors(self.location):
            self._chunks.upsert(
                ids=[c.id for c in chunks],
                embeddings=[list(e) for e in embeddings],
                documents=[c.text for c in chunks],
                metadatas=metadatas,
            )

    def vectors_by_key(self, keys: Sequence[str]) -> dict[str, list[float]]:
        """The vector of one chunk per ``embed_key`` among ``keys``; keys no chunk carries are left out.

        One metadata query per 1,000 keys (far below SQLite's variable limit), capped at
        four rows per key: when a key held by thousands of chunks fills the page, the
        keys still unanswered are asked again (each round answers at least one more).
        """
        owners: dict[str, str] = {}  # key -> the id of one chunk carrying it
        if not keys or not self.exists():
            return {}
        with store_errors(self.location):
            for i in range(0, len(keys), _KEY_PAGE):
                wanted = list(dict.fromkeys(keys[i : i + _KEY_PAGE]))
                while wanted:
                    limit = 4 * len(wanted)
                    page = self._chunks.get(where={EMBED_KEY: {"$in": wanted}}, include=["metadatas"], limit=limit)
                    for cid, meta in zip(page["ids"], page["metadatas"] or [], strict=False):
                        owners.setdefault(str(meta[EMBED_KEY]), cid)
                    if len(page["ids"]) < limit:
                        break
                    wanted = [k for k in wanted if k not in owners]
            if not owners:
                return {}
        by_id = self.vectors_of(list(owners.values()))
        return {key: by_id[cid] for key, cid in owners.items() if cid in by_id}

    def vectors_of(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """The stored vector of each chunk among ``ids`` (ids not in the index are left out)."""
        if not ids or not self.exists():
            return {}
        with store_errors(self.location):
            got = self._chunks.get(ids=list(dict.fromkeys(ids)), include=["embeddings"])
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        return {cid: [float(x) for x in v] for cid, v in zip(got["ids"], vectors, strict=False)}

    def restore_chunk_vectors(
        self, ids: Sequence[str], embed: Callable[[list[str]], Sequence[Sequence[float]]],
        key: Callable[[str], str] | None = None,
    ) -> int:
        """Give chunks whose vector is lost a new one, embedded from their stored text; returns how many.

        ``key``: the ``embed_key`` of a text for the embedder used now, recorded with the new vector.
        """
        if not ids or not self.exists():
            return 0
        done = 0
        with store_errors(self.location):
            for i in range(0, len(ids), 256):
                page = self._chunks.get(ids=list(ids[i : i + 256]), include=["documents", "metadatas"])
                texts = [d or "" for d in page["documents"] or []]
                if not page["ids"]:
                    continue
                metadatas = [dict(m or {}) for m in page["metadatas"] or []]
                if key is not None:
                    for meta, text in zip(metadatas, texts, strict=True):
                        meta[EMBED_KEY] = key(text)
                self._chunks.upsert(
                    ids=page["ids"], embeddings=[list(v) for v in embed(texts)],
                    documents=texts, metadatas=metadatas,
                )
                done += len(page["ids"])
        return done

    def restore_manifest_vectors(self, ids: Sequence[str]) -> int:
        """Give manifest records whose (constant) vector is lost their vector back; returns how many."""
        if not ids or not self.exists():
            return 0
        with store_errors(self.location):
            page = self._docs.get(ids=list(ids), include=["metadatas"])
            if page["ids"]:
                self._docs.upsert(ids=page["ids"], embeddings=[[1.0] for _ in page["ids"]], metadatas=page["metadatas"])
        return len(page["ids"])

    def delete_chunk_ids(self, ids: Sequence[str]) -> None:
        if not ids or not self.exists():
            return
        with store_errors(self.location):
            for i in range(0, len(ids), _GET_PAGE):
                self._chunks.delete(ids=list(ids[i : i + _GET_PAGE]))

    def delete_chunks_of(self, sources: Sequence[str]) -> None:
        """Remove every chunk of these documents, whatever version they belong to."""
        if not sources or not self.exists():
            return
        with store_errors(self.location):
            for i in range(0, len(sources), 500):
                self._chunks.delete(where={"source": {"$in": list(sources[i : i + 500])}})

    def chunk_sources(self) -> dict[str, set[str]]:
        """Map each document id to the versions its chunks carry (for consistency checks)."""
        out: dict[str, set[str]] = {}
        if not self.exists():
            return out
        with store_errors(self.location):
            offset = 0
            while True:
                page = self._chunks.get(include=["metadatas"], limit=_GET_PAGE, offset=offset)
                metas = page["metadatas"] or []
                for meta in metas:
                    out.setdefault(str(meta["source"]), set()).add(str(meta.get("doc_hash", "")))
                if len(metas) < _GET_PAGE:
                    return out
                offset += _GET_PAGE

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        if not ids or not self.exists():
            return []
        with store_errors(self.location):
            page = self._chunks.get(ids=list(ids), include=["metadatas", "documents"])
        by_id = {
            i: chunk_from_meta(i, d or "", m)
            for i, d, m in zip(page["ids"], page["documents"] or [], page["metadatas"] or [], strict=False)
        }
        return [by_id[i] for i in ids if i in by_id]

    def chunks_of(self, sources: Sequence[str]) -> dict[str, list[Chunk]]:
        """Every chunk of these documents (any version), grouped by document id."""
        out: dict[str, list[Chunk]] = {s: [] for s in sources}
        if not sources or not self.exists():
            return out
        with store_errors(self.location):
            for i in range(0, len(sources), 200):
                offset = 0
                while True:
                    page = self._chunks.get(
                        where={"source": {"$in": list(sources[i : i + 200])}},
                        include=["metadatas", "documents"], limit=_GET_PAGE, offset=offset,
                    )
                    rows = zip(page["ids"], page["documents"] or [], page["metadatas"] or [], strict=False)
                    for cid, doc, meta in rows:
                        chunk = chunk_from_meta(cid, doc or "", meta)
                        out.setdefault(chunk.source, []).append(chunk)
                    if len(page["ids"]) < _GET_PAGE:
                        break
                    offset += _GET_PAGE
        return out

    def query(
        self, embedding: Sequence[float], top_k: int, sources: Sequence[str] | None = None
    ) -> list[Hit]:
        """Nearest chunks by cosine similarity, best first; ``sources`` limits to those documents."""
        if not self.exists() or top_k < 1 or (sources is not None and not sources):
            return []
        where = {"source": {"$in": list(sources)}} if sources is not None else None
        with store_errors(self.location):
            result = self._chunks.query(
                query_embeddings=[list(embedding)],
                n_results=top_k,
                where=where,
                include=["metadatas", "documents", "distances"],
            )
        hits: list[Hit] = []
        rows = zip(
            result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0],
            strict=False,
        )
        for rank, (cid, doc, meta, dist) in enumerate(rows, start=1):
            similarity = 1.0 - float(dist)
            hits.append(Hit(chunk_from_meta(cid, doc or "", meta), similarity, rank, dense=similarity))
        return hits

    # -- manifest ------------------------------------------------------------------------

    def documents(self) -> dict[str, DocumentRecord]:
        """Every document record in the manifest, by document id."""
        out: dict[str, DocumentRecord] = {}
        if not self.exists():
            return out
        with store_errors(self.location):
            offset = 0
            while True:
                page = self._docs.get(include=["metadatas"], limit=_GET_PAGE, offset=offset)
                ids, metas = page["ids"], page["metadatas"] or []
                for doc_id, meta in zip(ids, metas, strict=False):
                    out[doc_id] = record_from_meta(doc_id, meta)
                if len(ids) < _GET_PAGE:
                    return out
                offset += _GET_PAGE

    def documents_of(self, sources: Sequence[str]) -> dict[str, DocumentRecord]:
        """The manifest records of these documents (those not in the manifest are left out)."""
        out: dict[str, DocumentRecord] = {}
        ids = list(dict.fromkeys(sources))  # Chroma refuses an id asked for twice
        if not ids or not self.exists():
            return out
        with store_errors(self.location):
            for start in range(0, len(ids), _GET_PAGE):
                page = self._docs.get(ids=ids[start : start + _GET_PAGE], include=["metadatas"])
                for doc_id, meta in zip(page["ids"], page["metadatas"] or [], strict=False):
                    out[doc_id] = record_from_meta(doc_id, meta)
        return out

    @property
    def committed_token(self) -> tuple[int, int] | None:
        """The state token of the last commit seen or made by this process (None: no folder)."""
        return self._seen_token

    def put_documents(self, records: Sequence[DocumentRecord]) -> None:
        """Write manifest records; "pending" ones carry this writer's id, and all-complete ones commit."""
        if not records:
            return
        if self.lock is not None and not self.lock.held:
            raise IndexBusyError(f"writing to {self.location} needs the writer lock: use store.writing()")
        writer = self.writer_id
        records = [replace(r, writer=writer if r.state != "complete" else "") for r in records]
        with store_errors(self.location):
            self._docs.upsert(
                ids=[r.source for r in records],
                embeddings=[[1.0] for _ in records],  # the manifest is looked up by id, never by vector
                metadatas=[
                    {
                        "display": r.display, "title": r.title, "doc_hash": r.doc_hash,
                        "chunks": r.chunks, "pages": r.pages, "size": r.size,
                        "ingested_at": r.ingested_at, "state": r.state, "writer": r.writer,
                    }
                    for r in records
                ],
            )
        if all(r.state == "complete" for r in records):
            self.commit()  # readers in other processes see the batch from now on

    def delete_manifest_rows(self, sources: Sequence[str]) -> None:
        """Drop these documents' manifest records only; their chunks are ``delete_chunks_of``'s."""
        if not sources or not self.exists():
            return
        with store_errors(self.location):
            for i in range(0, len(sources), _GET_PAGE):
                self._docs.delete(ids=list(sources[i : i + _GET_PAGE]))
        self.commit()


def now() -> float:
    return time.time()

"""Chroma as the store: one chunks collection and one manifest collection per knowledge base.

The manifest (``<name>-documents``) holds one record per document: the version
(content hash) in the index and whether it is complete. Chunk ids include the
version, so a new version is written beside the old one and the old one is
removed only afterwards; see ``index.ingest`` for the crash-safety protocol.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from index.errors import ConfigError, IndexMismatchError, StoreError
from index.models import Chunk, DocumentRecord, Hit

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,60}[a-zA-Z0-9]$")
_GET_PAGE = 5000  # rows per Chroma get(); keeps memory flat on big indexes


@dataclass(frozen=True)
class IndexFingerprint:
    """What an index was built with; recorded on the collection and checked on open."""

    model_id: str
    dimension: int
    chunk_size: int
    chunk_overlap: int

    def as_metadata(self) -> dict[str, str | int]:
        return {
            "embedding_model": self.model_id,
            "embedding_dim": self.dimension,
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
            "created_by": "rag-assistant",
        }


def _chroma_settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=True)


@contextmanager
def _store_errors(where: str) -> Iterator[None]:
    """Turn connection failures into StoreError naming the location and the fix."""
    try:
        yield
    except (ConfigError, IndexMismatchError, StoreError):
        raise
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        if any(k in text for k in ("Connect", "connect", "refused", "Timeout", "timed out")):
            raise StoreError(
                f"cannot reach the Chroma server at {where} ({text}). Start it "
                "(chroma run --path DIR --port N) or fix --chroma-url / RAG_CHROMA_URL."
            ) from exc
        raise StoreError(f"Chroma at {where} failed: {text}") from exc


def _record_from_meta(source: str, meta: dict[str, Any]) -> DocumentRecord:
    return DocumentRecord(
        source=source,
        display=str(meta.get("display", source)),
        title=str(meta.get("title", "")),
        doc_hash=str(meta.get("doc_hash", "")),
        chunks=int(meta.get("chunks", 0)),
        pages=int(meta.get("pages", 0)),
        size=int(meta.get("size", 0)),
        ingested_at=float(meta.get("ingested_at", 0.0)),
        state=str(meta.get("state", "complete")),
    )


def chunk_from_meta(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    page = meta.get("page")
    tags = str(meta.get("tags", ""))
    return Chunk(
        id=chunk_id,
        text=text,
        source=str(meta["source"]),
        display=str(meta.get("display", meta["source"])),
        title=str(meta.get("title", "")),
        page=int(page) if isinstance(page, int) and page > 0 else None,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        tokens=int(meta.get("tokens", 0)),
        position=int(meta.get("position", 0)),
        doc_hash=str(meta.get("doc_hash", "")),
        tags=tuple(t for t in tags.split(",") if t),
    )


def _chunk_meta(chunk: Chunk) -> dict[str, str | int]:
    return {
        "source": chunk.source,
        "display": chunk.display,
        "title": chunk.title,
        "page": chunk.page or 0,  # Chroma metadata has no null; 0 means "no page"
        "start": chunk.start,
        "end": chunk.end,
        "tokens": chunk.tokens,
        "position": chunk.position,
        "doc_hash": chunk.doc_hash,
        "tags": ",".join(chunk.tags),
    }


class ChromaStore:
    """Chunks and the document manifest of one knowledge base in Chroma.

    >>> store = ChromaStore.persistent("my-index")          # doctest: +SKIP
    >>> store = ChromaStore.http("http://127.0.0.1:8000")   # doctest: +SKIP
    """

    def __init__(self, client: Any, name: str, location: str) -> None:
        if not _NAME.match(name):
            raise ConfigError(
                f"collection name {name!r} is invalid: use 3-62 letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit"
            )
        self._client = client
        self.name = name
        self.location = location
        self._chunks: Any = None
        self._docs: Any = None

    @classmethod
    def persistent(cls, path: str, name: str = "default") -> ChromaStore:
        import chromadb

        with _store_errors(path):
            client = chromadb.PersistentClient(path=path, settings=_chroma_settings())
        return cls(client, name, path)

    @classmethod
    def http(cls, url: str, name: str = "default") -> ChromaStore:
        import chromadb

        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"chroma url {url!r} must look like http://host:port")
        port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        with _store_errors(url):
            client = chromadb.HttpClient(
                host=parsed.hostname, port=port, ssl=parsed.scheme == "https", settings=_chroma_settings()
            )
            client.heartbeat()
        return cls(client, name, url)

    # -- collections -------------------------------------------------------------------

    def exists(self) -> bool:
        """True when this knowledge base has been created (opens its collections)."""
        if self._chunks is not None:
            return True
        with _store_errors(self.location):
            names = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
            if self.name not in names:
                return False
            self._chunks = self._client.get_collection(self.name, embedding_function=None)
            self._docs = self._client.get_or_create_collection(
                f"{self.name}-documents", embedding_function=None
            )
        return True

    def fingerprint(self) -> dict[str, Any]:
        """The metadata the collection was created with, or {} when it does not exist yet."""
        if not self.exists():
            return {}
        return dict(self._chunks.metadata or {})

    def check(self, expected: IndexFingerprint, *, check_chunking: bool) -> None:
        """Fail with IndexMismatchError when the index was built differently."""
        meta = self.fingerprint()
        if not meta:
            return
        built_with = meta.get("embedding_model")
        fix = (
            f"Use the same model (--model {built_with}), or rebuild: `rag reset --index {self.location}` "
            "and ingest again (or pick a new --index folder)."
        )
        if built_with != expected.model_id:
            raise IndexMismatchError(
                f"index {self.location!r} (collection {self.name!r}) was built with embedding model "
                f"{built_with!r}, not {expected.model_id!r}. {fix}"
            )
        if int(meta.get("embedding_dim", expected.dimension)) != expected.dimension:
            raise IndexMismatchError(
                f"index {self.location!r} holds {meta.get('embedding_dim')}-d vectors but the model "
                f"gives {expected.dimension}-d. {fix}"
            )
        if check_chunking:
            old = (int(meta.get("chunk_size", 0)), int(meta.get("chunk_overlap", 0)))
            new = (expected.chunk_size, expected.chunk_overlap)
            if old != new:
                raise IndexMismatchError(
                    f"index {self.location!r} was chunked with size/overlap {old[0]}/{old[1]} tokens, "
                    f"not {new[0]}/{new[1]}. Use --chunk-size {old[0]} --chunk-overlap {old[1]}, or "
                    f"rebuild: `rag reset --index {self.location}` and ingest again."
                )

    def create(self, fingerprint: IndexFingerprint) -> None:
        """Create the collections (idempotent), recording the fingerprint."""
        if self.exists():
            return
        with _store_errors(self.location):
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
        with _store_errors(self.location):
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
        with _store_errors(self.location):
            return int(self._chunks.count())

    def max_batch_size(self) -> int:
        """The most records Chroma takes in one call (5,461 embedded; a server says its own, or 1,000)."""
        with _store_errors(self.location):
            size = int(self._client.get_max_batch_size())
        return size if size > 0 else 1000

    def upsert_chunks(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]) -> None:
        if not chunks:
            return
        with _store_errors(self.location):
            self._chunks.upsert(
                ids=[c.id for c in chunks],
                embeddings=[list(e) for e in embeddings],
                documents=[c.text for c in chunks],
                metadatas=[_chunk_meta(c) for c in chunks],
            )

    def delete_chunk_ids(self, ids: Sequence[str]) -> None:
        if not ids or not self.exists():
            return
        with _store_errors(self.location):
            for i in range(0, len(ids), _GET_PAGE):
                self._chunks.delete(ids=list(ids[i : i + _GET_PAGE]))

    def delete_chunks_of(self, sources: Sequence[str]) -> None:
        """Remove every chunk of these documents, whatever version they belong to."""
        if not sources or not self.exists():
            return
        with _store_errors(self.location):
            for i in range(0, len(sources), 500):
                self._chunks.delete(where={"source": {"$in": list(sources[i : i + 500])}})

    def chunk_sources(self) -> dict[str, set[str]]:
        """Map each document id to the versions its chunks carry (for consistency checks)."""
        out: dict[str, set[str]] = {}
        if not self.exists():
            return out
        with _store_errors(self.location):
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
        with _store_errors(self.location):
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
        with _store_errors(self.location):
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
        with _store_errors(self.location):
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
        with _store_errors(self.location):
            offset = 0
            while True:
                page = self._docs.get(include=["metadatas"], limit=_GET_PAGE, offset=offset)
                ids, metas = page["ids"], page["metadatas"] or []
                for doc_id, meta in zip(ids, metas, strict=False):
                    out[doc_id] = _record_from_meta(doc_id, meta)
                if len(ids) < _GET_PAGE:
                    return out
                offset += _GET_PAGE

    def put_documents(self, records: Sequence[DocumentRecord]) -> None:
        if not records:
            return
        with _store_errors(self.location):
            self._docs.upsert(
                ids=[r.source for r in records],
                embeddings=[[1.0] for _ in records],  # the manifest is looked up by id, never by vector
                metadatas=[
                    {
                        "display": r.display, "title": r.title, "doc_hash": r.doc_hash,
                        "chunks": r.chunks, "pages": r.pages, "size": r.size,
                        "ingested_at": r.ingested_at, "state": r.state,
                    }
                    for r in records
                ],
            )

    def delete_documents(self, sources: Sequence[str]) -> None:
        if not sources or not self.exists():
            return
        with _store_errors(self.location):
            for i in range(0, len(sources), _GET_PAGE):
                self._docs.delete(ids=list(sources[i : i + _GET_PAGE]))


def now() -> float:
    return time.time()

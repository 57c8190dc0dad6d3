"""Chunks and manifest records to and from Chroma metadata (one serialiser per value type)."""

from __future__ import annotations

from typing import Any

from index.models import Chunk, DocumentRecord


def record_from_meta(source: str, meta: dict[str, Any]) -> DocumentRecord:
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
        writer=str(meta.get("writer", "")),
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


def chunk_meta(chunk: Chunk) -> dict[str, str | int]:
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

"""What an index was built with (model, dimension, chunking), and the error when it does not match."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from index.errors import IndexMismatchError


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


def mismatch(
    meta: dict[str, Any], expected: IndexFingerprint, location: str, name: str, *, check_chunking: bool
) -> IndexMismatchError | None:
    """The error to raise when an index built as ``meta`` is opened expecting ``expected`` (pure)."""
    if not meta:
        return None
    built_with = meta.get("embedding_model")
    fix = (
        f"Use the same model (--model {built_with}), or rebuild: `rag reset --index {location}` "
        "and ingest again (or pick a new --index folder)."
    )
    if built_with != expected.model_id:
        return IndexMismatchError(
            f"index {location!r} (collection {name!r}) was built with embedding model "
            f"{built_with!r}, not {expected.model_id!r}. {fix}"
        )
    if int(meta.get("embedding_dim", expected.dimension)) != expected.dimension:
        return IndexMismatchError(
            f"index {location!r} holds {meta.get('embedding_dim')}-d vectors but the model "
            f"gives {expected.dimension}-d. {fix}"
        )
    if check_chunking:
        old = (int(meta.get("chunk_size", 0)), int(meta.get("chunk_overlap", 0)))
        new = (expected.chunk_size, expected.chunk_overlap)
        if old != new:
            return IndexMismatchError(
                f"index {location!r} was chunked with size/overlap {old[0]}/{old[1]} tokens, "
                f"not {new[0]}/{new[1]}. Use --chunk-size {old[0]} --chunk-overlap {old[1]}, or "
                f"rebuild: `rag reset --index {location}` and ingest again."
            )
    return None

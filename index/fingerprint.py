"""What an index was built with (model, dimension, chunking), and the error when it does not match."""

from __future__ import annotations

from collections.abc import Mapping
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

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> IndexFingerprint | None:
        """The fingerprint ``as_metadata`` recorded; None for a collection that records nothing.

        A value missing from ``meta`` reads as "" or 0 (unknown): a dimension of 0 is not checked.
        """
        if not meta:
            return None
        return cls(
            model_id=str(meta.get("embedding_model", "")),
            dimension=int(meta.get("embedding_dim", 0)),
            chunk_size=int(meta.get("chunk_size", 0)),
            chunk_overlap=int(meta.get("chunk_overlap", 0)),
        )

    def as_metadata(self) -> dict[str, str | int]:
        return {
            "embedding_model": self.model_id,
            "embedding_dim": self.dimension,
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
            "created_by": "rag-assistant",
        }


def mismatch(
    built: IndexFingerprint | None, expected: IndexFingerprint, location: str, name: str, *, check_chunking: bool
) -> IndexMismatchError | None:
    """The error to raise when an index ``built`` so is opened expecting ``expected`` (pure)."""
    if built is None:
        return None
    built_with = built.model_id
    fix = (
        f"Use the same model (--model {built_with}), or rebuild: `rag reset --index {location}` "
        "and ingest again (or pick a new --index folder)."
    )
    if built_with != expected.model_id:
        return IndexMismatchError(
            f"index {location!r} (collection {name!r}) was built with embedding model "
            f"{built_with!r}, not {expected.model_id!r}. {fix}"
        )
    if built.dimension and built.dimension != expected.dimension:
        return IndexMismatchError(
            f"index {location!r} holds {built.dimension}-d vectors but the model "
            f"gives {expected.dimension}-d. {fix}"
        )
    if check_chunking:
        old = (built.chunk_size, built.chunk_overlap)
        new = (expected.chunk_size, expected.chunk_overlap)
        if old != new:
            return IndexMismatchError(
                f"index {location!r} was chunked with size/overlap {old[0]}/{old[1]} tokens, "
                f"not {new[0]}/{new[1]}. Use --chunk-size {old[0]} --chunk-overlap {old[1]}, or "
                f"rebuild: `rag reset --index {location}` and ingest again."
            )
    return None

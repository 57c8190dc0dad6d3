"""Dense retrieval from the store, with an optional source-path glob filter."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from index.embedding import Embedder
from index.models import DocumentRecord, Hit
from index.store import ChromaStore


def match_sources(records: Sequence[DocumentRecord], pattern: str) -> list[str]:
    """Document ids whose absolute path or display path matches the glob ``pattern`` (pure)."""
    return [
        r.source
        for r in records
        if fnmatch.fnmatch(r.source, pattern) or fnmatch.fnmatch(r.display, pattern)
        or fnmatch.fnmatch(r.display.rsplit("/", 1)[-1], pattern)
    ]


class DenseRetriever:
    """Nearest chunks to the question's embedding, best first."""

    def __init__(self, store: ChromaStore, embedder: Embedder) -> None:
        self._store = store
        self._embedder = embedder

    def sources_matching(self, pattern: str | None) -> list[str] | None:
        if not pattern:
            return None
        return match_sources(list(self._store.documents().values()), pattern)

    def retrieve(
        self, question_vector: Sequence[float], top_k: int, sources: Sequence[str] | None = None
    ) -> list[Hit]:
        return self._store.query(question_vector, top_k, sources)

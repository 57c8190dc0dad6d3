"""Retrieval: dense (Chroma), lexical (BM25) or hybrid (both, fused), with a source glob filter."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Literal, get_args

from index.errors import ConfigError
from index.lexical import LexicalIndex
from index.models import DocumentRecord, Hit
from index.store import ChromaStore
from index.text_terms import index_tokens
from rag.fusion import FusionConfig, fuse, proximity, rerank_by_proximity, rerank_window

RetrievalMode = Literal["dense", "bm25", "hybrid"]
"""How passages are found: embedding similarity, BM25, or both fused. The one list of the names."""
RETRIEVAL_MODES: tuple[RetrievalMode, ...] = get_args(RetrievalMode)


def match_sources(records: Sequence[DocumentRecord], pattern: str) -> list[str]:
    """Document ids whose absolute path, display path or file name matches the glob (pure)."""
    return [
        r.source
        for r in records
        if fnmatch.fnmatch(r.source, pattern)
        or fnmatch.fnmatch(r.display, pattern)
        or fnmatch.fnmatch(r.display.rsplit("/", 1)[-1], pattern)
    ]


class Retriever:
    """Find the chunks that best match a question.

    ``mode`` is "dense" (embedding similarity in Chroma), "bm25" (lexical) or
    "hybrid" (both lists fused by ``fusion``).
    """

    def __init__(
        self,
        store: ChromaStore,
        lexical: LexicalIndex,
        mode: RetrievalMode,
        fusion: FusionConfig,
    ) -> None:
        if mode not in RETRIEVAL_MODES:
            raise ConfigError(f"retrieval mode {mode!r} is unknown: use one of {', '.join(RETRIEVAL_MODES)}")
        self._store = store
        self._lexical = lexical
        self.mode = mode
        self.fusion = fusion

    def sources_matching(self, pattern: str | None) -> list[str] | None:
        if not pattern:
            return None
        return match_sources(list(self._store.documents().values()), pattern)

    def retrieve(
        self,
        question: str,
        vector: Sequence[float],
        top_k: int,
        sources: Sequence[str] | None = None,
        mode: RetrievalMode | None = None,
    ) -> list[Hit]:
        mode = mode or self.mode
        if mode == "dense":
            return self._store.query(vector, top_k, sources)
        self._lexical.sync(self._store)
        if mode == "bm25":
            found = self._lexical.search(question, top_k, sources)
            chunks = {c.id: c for c in self._store.get_chunks([cid for cid, _ in found])}
            return [
                Hit(chunks[cid], score, rank, lexical=score)
                for rank, (cid, score) in enumerate(((c, s) for c, s in found if c in chunks), start=1)
            ]
        if mode != "hybrid":
            raise ConfigError(f"retrieval mode {mode!r} is unknown: use one of {', '.join(RETRIEVAL_MODES)}")
        n = max(self.fusion.candidates, top_k)
        dense_hits = self._store.query(vector, n, sources)
        lexical = self._lexical.search(question, n, sources)
        fused = fuse([(h.chunk.id, h.score) for h in dense_hits], lexical, self.fusion)
        fused = fused[:top_k] if top_k > self.fusion.rerank_depth else rerank_window(
            fused, [h.chunk.id for h in dense_hits], [cid for cid, _ in lexical], self.fusion
        )
        chunks = {h.chunk.id: h.chunk for h in dense_hits}
        missing = [f.chunk_id for f in fused if f.chunk_id not in chunks]
        chunks.update({c.id: c for c in self._store.get_chunks(missing)})
        fused = [f for f in fused if f.chunk_id in chunks]
        if self.fusion.proximity_weight > 0:
            terms = index_tokens([question])[0]
            idf = self._lexical.idf(terms)
            closeness = [
                proximity(terms, self._lexical.sentence_terms(f.chunk_id, chunks[f.chunk_id].text), idf) for f in fused
            ]
            fused = rerank_by_proximity(fused, closeness, self.fusion)
        fused = fused[:top_k]
        hits: list[Hit] = []
        for f in fused:
            if f.chunk_id in chunks:
                hits.append(Hit(chunks[f.chunk_id], f.score, len(hits) + 1, dense=f.dense, lexical=f.lexical))
        return hits

"""The lexical engines the scale benchmark compares, behind one small interface.

Every engine gets the same pre-tokenized chunks (``index.text_terms.index_tokens``'s stems),
so the benchmark times the index, not the tokenizer:

- ``json``: the bm25s JSON sidecar ``index.lexical`` used before tantivy, driven the
  way its ``sync`` drove it: every change rebuilds the whole BM25 matrix and rewrites
  the file;
- ``fts5``: ``evals.perf.fts5_candidate.LexicalStore`` (SQLite FTS5, bm25s scoring of the
  best candidates);
- ``fts5-raw``: the same file searched with FTS5's own ``bm25()`` ranking;
- ``tantivy``: ``index.lexical_store.LexicalStore``, a tantivy index with a whitespace
  tokenizer over the same stems, BM25 k1 = 1.2, b = 0.75.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

Chunks = Sequence[tuple[str, Sequence[str]]]  # (chunk_id, stems) of one document


class Engine(Protocol):
    def replace_document(self, source: str, doc_hash: str, chunks: Chunks) -> None: ...
    def delete_document(self, source: str) -> None: ...
    def search(self, tokens: Sequence[str], k: int) -> list[tuple[str, float]]: ...
    def count(self) -> int: ...
    def close(self) -> None: ...


class JsonSidecar:
    """The bm25s index that ``index.lexical`` kept before tantivy: one JSON file, rebuilt whole.

    Driven the way its ``sync`` drove it: every change rebuilds the whole BM25 matrix and
    rewrites the file; opening reads the file and rebuilds.
    """

    def __init__(self, folder: Path) -> None:
        from index.lexical_legacy import read_sidecar

        self._path = folder / "lexical-bench.json"
        self._docs: dict[str, dict[str, Any]] = read_sidecar(self._path)[0] if self._path.is_file() else {}
        self._bm25: Any = None
        self._ids: list[str] = []
        if self._docs:
            self._rebuild()

    def build(self, documents: Iterable[tuple[str, str, Chunks]]) -> None:
        """All documents at once, as a first sync does: one rebuild, one save."""
        for source, doc_hash, chunks in documents:
            self._set(source, doc_hash, chunks)
        self._rebuild()
        self._save()

    def _set(self, source: str, doc_hash: str, chunks: Chunks) -> None:
        from index.lexical_legacy import token_digest

        tokens = [list(t) for _, t in chunks]
        self._docs[source] = {"hash": doc_hash, "ids": [c for c, _ in chunks], "tokens": tokens,
                              "digest": token_digest(tokens)}

    def _rebuild(self) -> None:
        import bm25s

        ids: list[str] = []
        tokens: list[list[str]] = []
        for source in sorted(self._docs):
            ids.extend(self._docs[source]["ids"])
            tokens.extend(self._docs[source]["tokens"])
        self._ids = ids
        self._bm25 = None
        if ids:
            self._bm25 = bm25s.BM25()
            self._bm25.index(tokens, show_progress=False)

    def _save(self) -> None:
        from index.atomic import write_atomically
        from index.lexical_legacy import sidecar_bytes

        write_atomically(self._path, sidecar_bytes(self._docs))

    def replace_document(self, source: str, doc_hash: str, chunks: Chunks) -> None:
        self._set(source, doc_hash, chunks)
        self._rebuild()
        self._save()

    def delete_document(self, source: str) -> None:
        self._docs.pop(source, None)
        self._rebuild()
        self._save()

    def search(self, tokens: Sequence[str], k: int) -> list[tuple[str, float]]:
        import numpy as np

        bm25, ids = self._bm25, self._ids
        known = [t for t in tokens if t in bm25.vocab_dict] if bm25 is not None else []
        if not known:
            return []
        scores = bm25.get_scores(known)
        top = np.argpartition(-scores, min(k, len(ids)) - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def count(self) -> int:
        return len(self._ids)

    def close(self) -> None:
        pass


class Fts5:
    """``LexicalStore``; ``raw`` searches with FTS5's own ``bm25()`` instead of the bm25s re-score."""

    def __init__(self, folder: Path, *, raw: bool = False) -> None:
        from evals.perf.fts5_candidate import LexicalStore

        self._store = LexicalStore(folder / "lexical.sqlite3")
        self._raw = raw

    def build(self, documents: Iterable[tuple[str, str, Chunks]]) -> None:
        for source, doc_hash, chunks in documents:
            self._store.replace_document(source, doc_hash, chunks)

    def replace_document(self, source: str, doc_hash: str, chunks: Chunks) -> None:
        self._store.replace_document(source, doc_hash, chunks)

    def delete_document(self, source: str) -> None:
        self._store.delete_document(source)

    def search(self, tokens: Sequence[str], k: int) -> list[tuple[str, float]]:
        if self._raw:
            return self._store.fts5_search(tokens, k)
        return self._store.search(tokens, k)

    def count(self) -> int:
        return self._store.count()

    def close(self) -> None:
        self._store.close()


class Tantivy:
    """``index.lexical_store.LexicalStore``: tantivy, whitespace tokenizer over the stems, one commit per change."""

    def __init__(self, folder: Path) -> None:
        from index.lexical_store import LexicalStore

        self._store = LexicalStore(folder / "tantivy")

    def build(self, documents: Iterable[tuple[str, str, Chunks]]) -> None:
        self._store.replace_documents(documents)

    def replace_document(self, source: str, doc_hash: str, chunks: Chunks) -> None:
        self._store.replace_document(source, doc_hash, chunks)

    def delete_document(self, source: str) -> None:
        self._store.delete_document(source)

    def search(self, tokens: Sequence[str], k: int) -> list[tuple[str, float]]:
        return self._store.search(tokens, k)

    def count(self) -> int:
        return self._store.count()

    def close(self) -> None:
        self._store.close()


ENGINES = ("json", "fts5", "fts5-raw", "tantivy")


def open_engine(name: str, folder: Path) -> Any:
    """The engine called ``name`` over ``folder`` (created when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    if name == "json":
        return JsonSidecar(folder)
    if name in ("fts5", "fts5-raw"):
        return Fts5(folder, raw=name == "fts5-raw")
    if name == "tantivy":
        return Tantivy(folder)
    raise SystemExit(f"unknown engine {name!r}: choose from {', '.join(ENGINES)}")

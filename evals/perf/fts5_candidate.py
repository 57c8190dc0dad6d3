"""The SQLite FTS5 candidate of the scale benchmark: BM25 over chunks in one SQLite file.

Measured against the bm25s JSON sidecar and tantivy for issue 14 (it lost on search
speed: ``ORDER BY rank`` scores every row holding any query term; see
docs/design-notes.md). It opens without reading the whole index, and a document's
chunks are added, replaced or deleted in one transaction.

The caller tokenizes (``index.lexical.tokenize``: lower case, English stop words
removed, Snowball stems); the store keeps each chunk's stems space-joined in an FTS5
column whose ``ascii`` tokenizer splits on the spaces only, so FTS5 adds no stemming or
folding of its own. FTS5's ``bm25()`` differs from bm25s's (k1 = 1.2 and an idf
without the ``1 +``), so a search takes FTS5's best ``rerank`` candidates and scores
them again with the bm25s (Lucene) formula, k1 = 1.5, b = 0.75, from the chunk's
stored stems, the term's document frequency (``fts5vocab``) and the index totals.

>>> store = LexicalStore(Path("lexical.sqlite3"))          # doctest: +SKIP
>>> store.replace_document("a.txt", "h1", [("c1", ["quantum", "comput"])])   # doctest: +SKIP
>>> store.search(["quantum"], 10)                           # doctest: +SKIP
[('c1', 0.28...)]
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

K1 = 1.5
B = 0.75
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS documents (source TEXT PRIMARY KEY, doc_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    length INTEGER NOT NULL,
    stems TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
CREATE VIRTUAL TABLE IF NOT EXISTS terms USING fts5(
    stems, content='chunks', content_rowid='id', tokenize="ascii tokenchars '_'"
);
CREATE VIRTUAL TABLE IF NOT EXISTS term_docs USING fts5vocab(terms, 'row');
"""


class LexicalStoreError(Exception):
    """The lexical store's file cannot be used as it is."""


def bm25_score(tf: int, df: int, n_docs: int, length: int, avg_length: float) -> float:
    """One term's bm25s (Lucene variant) score in one chunk (pure)."""
    idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
    norm = K1 * ((1.0 - B) + B * length / avg_length) if avg_length > 0 else K1
    return idf * tf / (norm + tf)


def match_expression(tokens: Iterable[str]) -> str:
    """An FTS5 query matching any of the tokens, each quoted (pure)."""
    unique = dict.fromkeys(t for t in tokens if t)
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in unique)


class LexicalStore:
    """BM25 over chunks kept in SQLite; ``path`` None keeps it in memory."""

    def __init__(self, path: Path | None, *, rerank: int = 100) -> None:
        if rerank < 1:
            raise ValueError(f"rerank ({rerank}) must be at least 1: the candidates scored again per search")
        self._rerank = rerank
        target = ":memory:" if path is None else str(path)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._check_version()
        except sqlite3.DatabaseError as exc:
            raise LexicalStoreError(
                f"{target} is not a usable lexical index ({exc}); delete it and sync again to rebuild it"
            ) from exc

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('version', ?), ('tokens', 0), ('chunks', 0)", (_SCHEMA_VERSION,))
        elif row[0] != _SCHEMA_VERSION:
            raise LexicalStoreError(
                f"lexical index format {row[0]} is not {_SCHEMA_VERSION}; delete the file to rebuild it"
            )

    # -- changing ----------------------------------------------------------------------

    def _remove(self, source: str) -> None:
        rows = self._db.execute("SELECT id, length, stems FROM chunks WHERE source = ?", (source,)).fetchall()
        for row_id, _, stems in rows:
            self._db.execute("INSERT INTO terms(terms, rowid, stems) VALUES ('delete', ?, ?)", (row_id, stems))
        self._db.execute("DELETE FROM chunks WHERE source = ?", (source,))
        self._db.execute("DELETE FROM documents WHERE source = ?", (source,))
        self._add_totals(-len(rows), -sum(length for _, length, _ in rows))

    def _add_totals(self, chunks: int, tokens: int) -> None:
        self._db.execute("UPDATE meta SET value = value + ? WHERE key = 'chunks'", (chunks,))
        self._db.execute("UPDATE meta SET value = value + ? WHERE key = 'tokens'", (tokens,))

    def replace_document(self, source: str, doc_hash: str, chunks: Iterable[tuple[str, Sequence[str]]]) -> int:
        """Make ``(chunk_id, stems)`` the only chunks of ``source``, in one transaction; returns their count."""
        count = 0
        total = 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._remove(source)
            for chunk_id, tokens in chunks:
                stems = " ".join(tokens)
                cur = self._db.execute(
                    "INSERT INTO chunks(chunk_id, source, length, stems) VALUES (?, ?, ?, ?)",
                    (chunk_id, source, len(tokens), stems),
                )
                self._db.execute("INSERT INTO terms(rowid, stems) VALUES (?, ?)", (cur.lastrowid, stems))
                count += 1
                total += len(tokens)
            self._db.execute("INSERT INTO documents VALUES (?, ?)", (source, doc_hash))
            self._add_totals(count, total)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return count

    def delete_document(self, source: str) -> bool:
        """Remove every chunk of ``source``; False when it was not indexed."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            known = self._db.execute("SELECT 1 FROM documents WHERE source = ?", (source,)).fetchone()
            self._remove(source)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return known is not None

    # -- reading -----------------------------------------------------------------------

    def documents(self) -> dict[str, str]:
        """Indexed documents and the version (hash) of each."""
        return dict(self._db.execute("SELECT source, doc_hash FROM documents").fetchall())

    def count(self) -> int:
        """Number of chunks indexed."""
        return self._meta("chunks")

    def _meta(self, key: str) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def search(self, tokens: Sequence[str], top_k: int) -> list[tuple[str, float]]:
        """``(chunk_id, bm25s score)`` best first, for chunks holding any of the tokens."""
        expression = match_expression(tokens)
        if not expression or top_k < 1:
            return []
        limit = max(top_k, self._rerank)
        candidates = self._db.execute(
            "SELECT c.chunk_id, c.length, c.stems FROM chunks c JOIN ("
            " SELECT rowid, rank FROM terms WHERE terms MATCH ? ORDER BY rank LIMIT ?) m ON c.id = m.rowid",
            (expression, limit),
        ).fetchall()
        if not candidates:
            return []
        n_docs, avg_length, df = self._statistics(sorted(set(tokens)))
        scored: list[tuple[str, float]] = []
        for chunk_id, length, stems in candidates:
            tf = Counter(stems.split())
            score = sum(bm25_score(tf[t], df[t], n_docs, length, avg_length) for t in tokens if tf[t] and t in df)
            scored.append((chunk_id, score))
        scored.sort(key=lambda item: -item[1])
        return scored[:top_k]

    def _statistics(self, terms: Sequence[str]) -> tuple[int, float, dict[str, int]]:
        n_docs = self.count()
        total = self._meta("tokens")
        marks = ",".join("?" * len(terms))
        df = dict(self._db.execute(f"SELECT term, doc FROM term_docs WHERE term IN ({marks})", terms).fetchall())
        return n_docs, (total / n_docs if n_docs else 0.0), df

    def fts5_search(self, tokens: Sequence[str], top_k: int) -> list[tuple[str, float]]:
        """FTS5's own ``bm25()`` ranking, sign flipped so larger is better (for comparison)."""
        expression = match_expression(tokens)
        if not expression or top_k < 1:
            return []
        rows = self._db.execute(
            "SELECT c.chunk_id, m.rank FROM chunks c JOIN ("
            " SELECT rowid, rank FROM terms WHERE terms MATCH ? ORDER BY rank LIMIT ?) m ON c.id = m.rowid"
            " ORDER BY m.rank",
            (expression, top_k),
        ).fetchall()
        return [(chunk_id, -float(rank)) for chunk_id, rank in rows]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LexicalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

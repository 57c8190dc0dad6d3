"""A BM25 index of chunks on disk (tantivy), changed one document at a time.

The engine under ``index.lexical.LexicalIndex`` (issue 14, chosen by
``evals/perf/bench_scale.py``; see docs/design-notes.md). Opening it maps
the index files instead of reading them, a document's chunks are added, replaced or
deleted in one commit (a process killed before the commit leaves the previous state),
and a search walks only the posting lists of the query's terms.

The caller tokenizes (``index.text_terms.index_tokens``: lower case, English stop words
removed, Snowball stems). The stems are kept space-joined in a field whose
``whitespace`` tokenizer only splits, so tantivy stems and folds nothing itself; they
are stored too, so ``rag check`` can compare them with the chunks' text. It
scores with BM25, k1 = 1.2, b = 0.75 and the same idf as bm25s (whose k1 is 1.5).

One process writes at a time: tantivy holds a lock file while a writer is open, and
this class opens its writer only for the duration of a change.

>>> store = LexicalStore(Path("lexical"))                   # doctest: +SKIP
>>> store.replace_document("a.txt", "h1", [("c1", ["quantum", "comput"])])   # doctest: +SKIP
>>> store.search(["quantum"], 10)                            # doctest: +SKIP
[('c1', 0.28...)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import tantivy

_HEAP = 64_000_000
Chunk = tuple[str, Sequence[str]]  # (chunk id, its stems)
_SEPARATOR = "\x00"


class LexicalStoreError(Exception):
    """The lexical index on disk cannot be used as it is."""


class LexicalStoreBusyError(LexicalStoreError):
    """Another writer (in this process or another) holds the index's lock right now."""


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("source", stored=False, tokenizer_name="raw")
    builder.add_text_field("version", stored=False, tokenizer_name="raw", fast=True)
    builder.add_text_field("stems", stored=True, tokenizer_name="whitespace", index_option="freq")
    return builder.build()


class LexicalStore:
    """BM25 over chunks kept in ``folder`` (None: in memory)."""

    def __init__(self, folder: Path | None) -> None:
        self._schema = _schema()
        try:
            if folder is None:
                self._index = tantivy.Index(self._schema)
            else:
                folder.mkdir(parents=True, exist_ok=True)
                self._index = tantivy.Index(self._schema, path=str(folder), reuse=True)
        except BaseException as exc:
            # a truncated segment file makes tantivy panic (pyo3's PanicException is a BaseException)
            if not isinstance(exc, (OSError, ValueError)) and type(exc).__name__ != "PanicException":
                raise
            raise LexicalStoreError(
                f"{folder} is not a usable lexical index ({exc}); delete the folder and sync again to rebuild it"
            ) from exc
        self._folder = folder

    # -- changing ----------------------------------------------------------------------

    def replace_documents(
        self, documents: Iterable[tuple[str, str | None, Iterable[Chunk]]], *, clear: bool = False
    ) -> int:
        """Apply ``(source, doc_hash, chunks)`` changes in one commit; a None hash deletes the document.

        Each document's previous chunks go and its given ``(chunk_id, stems)`` take their
        place; ``clear`` empties the index first (a rebuild). Returns the number of chunks
        written. An error, or the process dying, before the commit leaves the index exactly
        as it was.
        """
        try:
            writer = self._index.writer(heap_size=_HEAP, num_threads=1)
        except ValueError as exc:
            if "LockBusy" in str(exc):
                raise LexicalStoreBusyError(
                    f"the lexical index in {self._folder} is being written by another process ({exc}); "
                    "wait for it to finish"
                ) from exc
            raise LexicalStoreError(f"cannot write the lexical index in {self._folder}: {exc}") from exc
        count = 0
        try:
            if clear:
                writer.delete_all_documents()
            for source, version, chunks in documents:
                writer.delete_documents_by_term("source", source)
                if version is None:
                    continue
                for chunk_id, tokens in chunks:
                    writer.add_document(tantivy.Document(
                        chunk_id=chunk_id, source=source, version=f"{source}{_SEPARATOR}{version}",
                        stems=" ".join(tokens),
                    ))
                    count += 1
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()
        self._index.reload()
        return count

    def replace_document(self, source: str, doc_hash: str, chunks: Iterable[Chunk]) -> int:
        """Make ``(chunk_id, stems)`` the only chunks of ``source``, in one commit; returns their count."""
        return self.replace_documents([(source, doc_hash, chunks)])

    def delete_document(self, source: str) -> None:
        """Remove every chunk of ``source`` (nothing when it is not indexed)."""
        self.replace_documents([(source, None, ())])

    # -- reading -----------------------------------------------------------------------

    def refresh(self) -> None:
        """See the changes another process committed since this one opened or last refreshed."""
        self._index.reload()

    def documents(self) -> dict[str, str]:
        """Indexed documents (those with at least one chunk) and the version (hash) of each."""
        searcher = self._index.searcher()
        if searcher.num_docs == 0:
            return {}
        result = searcher.aggregate(
            tantivy.Query.all_query(), {"v": {"terms": {"field": "version", "size": searcher.num_docs}}}
        )
        out: dict[str, str] = {}
        for bucket in result["v"]["buckets"]:
            source, _, doc_hash = str(bucket["key"]).partition(_SEPARATOR)
            out[source] = doc_hash
        return out

    def chunks_of(self, source: str) -> dict[str, list[str]]:
        """The indexed chunks of ``source``: chunk id -> its stems, as stored."""
        searcher = self._index.searcher()
        if searcher.num_docs == 0:
            return {}
        query = tantivy.Query.term_query(self._schema, "source", source)
        out: dict[str, list[str]] = {}
        for _, address in searcher.search(query, searcher.num_docs).hits:
            doc = searcher.doc(address)
            out[str(doc["chunk_id"][0])] = str(doc["stems"][0]).split() if doc["stems"] else []
        return out

    def doc_freq(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        """The number of chunks, and for each of ``terms`` held by any chunk the number holding it.

        Chunks deleted since the last segment merge still count towards a term's number,
        as they do in tantivy's own BM25 statistics.
        """
        searcher = self._index.searcher()
        counts = {t: int(searcher.doc_freq("stems", t)) for t in set(terms) if t}
        return int(searcher.num_docs), {t: n for t, n in counts.items() if n > 0}

    def count(self) -> int:
        """Number of chunks indexed."""
        return int(self._index.searcher().num_docs)

    def search(
        self, tokens: Sequence[str], top_k: int, sources: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """``(chunk_id, BM25 score)`` best first, for chunks holding any of the tokens (of ``sources`` if given)."""
        terms = [t for t in tokens if t]  # a repeated term counts twice, as in bm25s
        if not terms or top_k < 1 or (sources is not None and not sources):
            return []
        should = tantivy.Occur.Should
        query: Any = tantivy.Query.boolean_query(
            [(should, tantivy.Query.term_query(self._schema, "stems", t)) for t in terms]
        )
        if sources is not None:
            # weight 0: the filter adds nothing to the BM25 score
            members = tantivy.Query.term_set_query(self._schema, "source", list(sources))
            allowed = tantivy.Query.boost_query(members, 0.0)
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, allowed)])
        searcher = self._index.searcher()
        hits = searcher.search(query, top_k).hits
        return [(str(searcher.doc(address)["chunk_id"][0]), float(score)) for score, address in hits]

    def close(self) -> None:
        """Nothing stays open between changes; kept so callers can treat every index alike."""

    def __enter__(self) -> LexicalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

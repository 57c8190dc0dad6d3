"""Store and ingest names that say what they do (issue 11, finding 7), on a real embedded Chroma.

``ChromaStore.delete_manifest_rows`` drops manifest rows only, ``index.ingest.remove_documents``
removes documents with their chunks, crash-safely; ``fingerprint()`` is an ``IndexFingerprint``
value; the query-time and ingest-time compatibility checks live in ``index.compatibility``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from index.compatibility import check_index, check_model
from index.errors import IndexMismatchError
from index.ingest import consistency_problems, remove_documents
from index.models import Chunk, DocumentRecord
from index.store import ChromaStore, IndexFingerprint

BUILT = IndexFingerprint("test/model", 3, 24, 4)


class FixedEmbedder:
    """Stands in for a model in these unit tests of the checks; ``dimension`` may refuse to load."""

    def __init__(self, model_id: str, dimension: int | None) -> None:
        self._model_id = model_id
        self._dimension = dimension

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            raise AssertionError("the model was loaded to learn its dimension")
        return self._dimension

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [[1.0, 0.0, 0.0] for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0, 0.0]


def _store_with(tmp_path: Path, sources: list[str]) -> ChromaStore:
    store = ChromaStore.persistent(str(tmp_path / "index"))
    store.create(BUILT)
    chunks = [Chunk(f"{s}#0", f"text of {s}", s, s, s, None, 0, 10, 3, 0, "h") for s in sources]
    records = [DocumentRecord(s, s, s, "h", 1, 0, 10, 0.0) for s in sources]
    with store.writing("test"):
        store.upsert_chunks(chunks, [[1.0, 0.0, 0.0]] * len(chunks))
        store.put_documents(records)
    return store


def test_fingerprint_is_the_value_object(tmp_path: Path) -> None:
    store = ChromaStore.persistent(str(tmp_path / "index"))
    assert store.fingerprint() is None  # no index yet
    store.create(BUILT)
    assert store.fingerprint() == BUILT
    reopened = ChromaStore.persistent(str(tmp_path / "index"))
    assert reopened.fingerprint() == BUILT


def test_delete_manifest_rows_drops_the_records_only(tmp_path: Path) -> None:
    store = _store_with(tmp_path, ["/a.txt", "/b.txt"])
    with store.writing("test"):
        store.delete_manifest_rows(["/a.txt"])
    assert set(store.documents()) == {"/b.txt"}
    assert set(store.chunk_sources()) == {"/a.txt", "/b.txt"}  # the chunks stay: that is remove_documents' job
    assert consistency_problems(store) == ["/a.txt: orphan chunks with no document record"]


def test_remove_documents_removes_records_and_chunks(tmp_path: Path) -> None:
    store = _store_with(tmp_path, ["/a.txt", "/b.txt"])
    remove_documents(store, ["/a.txt"])
    assert set(store.documents()) == {"/b.txt"}
    assert set(store.chunk_sources()) == {"/b.txt"}
    assert consistency_problems(store) == []


def test_searching_checks_the_model_and_ingesting_also_the_chunking(tmp_path: Path) -> None:
    store = _store_with(tmp_path, ["/a.txt"])
    check_model(store, FixedEmbedder("test/model", 3))
    check_model(ChromaStore.persistent(str(tmp_path / "empty")), FixedEmbedder("other", None))  # nothing built yet
    with pytest.raises(IndexMismatchError, match="built with embedding model 'test/model', not 'other'"):
        check_model(store, FixedEmbedder("other", None))  # said before any model is loaded
    with pytest.raises(IndexMismatchError, match="holds 3-d vectors"):
        check_model(store, FixedEmbedder("test/model", 5))
    assert check_index(store, FixedEmbedder("test/model", 3), 24, 4) == BUILT
    with pytest.raises(IndexMismatchError, match="chunked with size/overlap 24/4 tokens, not 32/4"):
        check_index(store, FixedEmbedder("test/model", 3), 32, 4)
    with pytest.raises(IndexMismatchError, match="built with embedding model"):
        check_index(store, FixedEmbedder("other", None), 24, 4)

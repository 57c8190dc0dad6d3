"""Is this index usable with this embedder (and chunking)? Checked on every ingest and every question.

Searching (``check_model``) needs the embedding model and its dimension to match the
index's fingerprint; chunking was fixed when the index was built. Ingesting
(``check_index``) also needs the same chunking, or new documents would be cut differently
from the old ones. Both raise ``IndexMismatchError`` saying how to rebuild.
"""

from __future__ import annotations

from dataclasses import replace

from index.embedding import Embedder
from index.fingerprint import IndexFingerprint
from index.store import ChromaStore


def check_index(store: ChromaStore, embedder: Embedder, chunk_size: int, chunk_overlap: int) -> IndexFingerprint:
    """Before writing: model, dimension and chunking must all match; returns the fingerprint to record."""
    expected = IndexFingerprint(embedder.model_id, 0, chunk_size, chunk_overlap)
    _check_model_id(store, expected)
    fingerprint = replace(expected, dimension=embedder.dimension)
    store.check(fingerprint, check_chunking=True)
    return fingerprint


def check_model(store: ChromaStore, embedder: Embedder) -> None:
    """Before searching: the embedding model and its dimension must match (an index that does not exist passes)."""
    built = store.fingerprint()
    if built is None:
        return
    expected = replace(built, model_id=embedder.model_id, dimension=0)  # the recorded chunking: not checked
    _check_model_id(store, expected)
    store.check(replace(expected, dimension=embedder.dimension), check_chunking=False)


def _check_model_id(store: ChromaStore, expected: IndexFingerprint) -> None:
    """Compare the model ids first: an embedder's dimension may need its model loaded, and an
    index built with another model must say how to rebuild, not fail loading the model."""
    built = store.fingerprint()
    if built is not None and built.model_id != expected.model_id:
        store.check(expected, check_chunking=False)  # raises: the model ids differ

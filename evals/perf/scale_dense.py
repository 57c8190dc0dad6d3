"""The dense half of hybrid search for the scale benchmark: Chroma with stand-in vectors.

A real embedding of a million passages takes hours on this machine (the model embeds
about 30-35 chunks a second here, see "bench_ingest.py"), so the scale benchmark gives
each passage a deterministic random unit vector of the model's dimension (384) instead.
That isolates what the store costs (HNSW insert and query), which does not depend on
what the vectors mean.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.perf.scale_corpus import Passage

DIMENSION = 384
COLLECTION = "scale"


def stand_in_vectors(count: int, seed: int) -> np.ndarray:
    """``count`` random unit vectors (float32), the same for the same seed (pure)."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    normalised: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalised


def _collection(folder: Path) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False))
    return client, client.get_or_create_collection(COLLECTION, configuration={"hnsw": {"space": "cosine"}})


def build_dense(folder: Path, items: Iterator[Passage]) -> float:
    """Add every passage with its stand-in vector; returns the seconds spent in Chroma."""
    client, collection = _collection(folder)
    batch = min(5_000, int(client.get_max_batch_size()))
    spent = 0.0
    ids: list[str] = []
    offset = 0

    def flush() -> float:
        started = time.perf_counter()
        collection.add(ids=list(ids), embeddings=stand_in_vectors(len(ids), offset))
        return time.perf_counter() - started

    for passage in items:
        ids.append(passage.chunk_id)
        if len(ids) == batch:
            spent += flush()
            offset += 1
            ids.clear()
    if ids:
        spent += flush()
    return spent


def open_dense(folder: Path) -> Any:
    """The collection, opened in this process."""
    return _collection(folder)[1]


def dense_query(collection: Any, vector: Sequence[float], k: int) -> list[str]:
    result = collection.query(query_embeddings=[[float(x) for x in vector]], n_results=k, include=["distances"])
    return list(result["ids"][0])

"""The pure parts of vector reuse (``index.reuse``) and the store's look-up by key, on real Chroma."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from index.fingerprint import IndexFingerprint
from index.models import Chunk
from index.reuse import VectorReuse, embed_key, embedder_identity
from index.store import ChromaStore


class FakeEmbedder:
    """Pure-logic double: a vector made from the text's length; records what it was given."""

    def __init__(self, backend: str = "onnx") -> None:
        self.backend = backend
        self.texts: list[str] = []

    @property
    def model_id(self) -> str:
        return "m"

    @property
    def dimension(self) -> int:
        return 2

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return [[float(len(t)), 1.0] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def forget_queries(self) -> None:
        pass


def test_the_key_names_the_model_the_backend_and_the_exact_text() -> None:
    onnx, int8 = embedder_identity(FakeEmbedder("onnx")), embedder_identity(FakeEmbedder("onnx-int8"))
    assert embed_key(onnx, "a b") == embed_key(onnx, "a b")
    assert len({embed_key(onnx, "a b"), embed_key(int8, "a b"), embed_key(onnx, "a b "), embed_key(onnx, "A b")}) == 4
    assert embed_key(onnx, "bad \udcff name")  # a lone surrogate (undecodable file name) still hashes


def test_each_distinct_text_reaches_the_model_once_and_the_store_is_asked_only_for_unknown_keys() -> None:
    embedder = FakeEmbedder()
    asked: list[list[str]] = []
    stored_key = embed_key(embedder_identity(embedder), "in the store")

    def lookup(keys: Sequence[str]) -> dict[str, list[float]]:
        asked.append(list(keys))
        return {stored_key: [9.0, 9.0]} if stored_key in keys else {}

    reuse = VectorReuse(embedder, lookup, memo_size=2)
    vectors, keys = reuse.vectors(["x", "yy", "x", "in the store", "yy"])
    assert embedder.texts == ["x", "yy"]
    assert vectors == [[1.0, 1.0], [2.0, 1.0], [1.0, 1.0], [9.0, 9.0], [2.0, 1.0]]
    assert keys[0] == keys[2] != keys[1] and (reuse.embedded, reuse.reused) == (2, 3)
    assert [len(a) for a in asked] == [3]  # one look-up of the three distinct keys

    # Two vectors are remembered, the last used: "x" and "yy"; the stored one is asked for again.
    reuse.vectors(["x", "zzz", "in the store"])
    assert embedder.texts == ["x", "yy", "zzz"]
    assert asked[-1] == [embed_key(reuse.identity, "zzz"), stored_key]


def test_vectors_by_key_answers_every_key_even_when_one_is_carried_by_many_chunks(tmp_path: Path) -> None:
    store = ChromaStore.persistent(str(tmp_path / "index"))
    store.create(IndexFingerprint("m", 2, 24, 4))

    def chunk(i: int, text: str) -> Chunk:
        return Chunk(f"c{i}", text, "/s", "s", "", None, 0, len(text), 1, i, "h")

    hot = [chunk(i, "same") for i in range(60)]
    others = [chunk(100 + i, t) for i, t in enumerate(["a", "b", "c"])]
    store.upsert_chunks(hot, [[1.0, 0.0]] * 60, ["HOT"] * 60)
    store.upsert_chunks(others, [[0.0, 1.0], [0.6, 0.8], [0.8, 0.6]], ["ka", "kb", "kc"])
    store.upsert_chunks([chunk(200, "old")], [[0.5, 0.5]])  # written before keys: found by no key

    got = store.vectors_by_key(["HOT", "ka", "kb", "kc", "missing"])
    assert set(got) == {"HOT", "ka", "kb", "kc"}
    assert got["HOT"] == [1.0, 0.0] and got["kb"] == [0.6000000238418579, 0.800000011920929]  # float32
    assert store.vectors_by_key([]) == {}

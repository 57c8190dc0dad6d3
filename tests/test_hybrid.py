"""Hybrid retrieval: fusion (pure), the BM25 index kept in step with Chroma, the three modes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from index.lexical import LexicalIndex
from index.text_terms import index_tokens
from rag import Assistant, ConfigError, Settings
from rag.fusion import FusionConfig, fuse, rerank_window
from tests.conftest import ARTICLE


def test_minmax_fusion_by_hand() -> None:
    dense = [("a", 0.9), ("b", 0.5), ("c", 0.1)]  # normalised: a 1, b 0.5, c 0
    lexical = [("c", 10.0), ("d", 6.0), ("a", 2.0)]  # normalised: c 1, d 0.5, a 0
    fused = fuse(dense, lexical, FusionConfig(lexical_weight=0.5, method="minmax"))
    scores = {f.chunk_id: round(f.score, 6) for f in fused}
    assert scores == {"a": 0.5, "b": 0.25, "c": 0.5, "d": 0.25}
    assert [f.chunk_id for f in fused] == ["a", "c", "b", "d"]  # ties: dense order first
    assert fused[0].dense == 0.9 and fused[0].lexical == 2.0
    assert fused[3].dense is None


def test_rrf_fusion_by_hand() -> None:
    fused = fuse([("a", 1.0), ("b", 0.5)], [("b", 3.0)], FusionConfig(lexical_weight=0.5, method="rrf", rrf_k=1))
    scores = {f.chunk_id: round(f.score, 6) for f in fused}
    assert scores == {"a": round(0.5 * 1 / 2, 6), "b": round(0.5 * 1 / 3 + 0.5 * 1 / 2, 6)}
    assert [f.chunk_id for f in fused] == ["b", "a"]


def test_weights_at_the_ends_reproduce_one_retriever() -> None:
    dense = [("a", 0.9), ("b", 0.8), ("c", 0.2)]
    lexical = [("c", 5.0), ("b", 4.0), ("a", 1.0)]
    assert [f.chunk_id for f in fuse(dense, lexical, FusionConfig(lexical_weight=0.0))] == ["a", "b", "c"]
    assert [f.chunk_id for f in fuse(dense, lexical, FusionConfig(lexical_weight=1.0))] == ["c", "b", "a"]


def test_the_lexical_best_reaches_the_rerank_window_behind_many_equal_dense_hits() -> None:
    # fifty dense hits of one score (a file of repeated boilerplate) all normalise to 1.0 and
    # outrank the one chunk that holds the question's words, found by BM25 alone
    dense = [(f"d{i}", 0.08) for i in range(50)]
    config = FusionConfig(lexical_weight=0.4, rerank_depth=40, keep_each=5)
    fused = fuse(dense, [("note", 25.9)], config)
    assert [f.chunk_id for f in fused].index("note") == 50
    window = rerank_window(fused, [cid for cid, _ in dense], ["note"], config)
    assert [f.chunk_id for f in window] == [f"d{i}" for i in range(40)] + ["note"]
    assert rerank_window(fused[:3], ["d0"], ["d1"], config) == fused[:3]  # nothing twice, nothing lost


def test_unknown_fusion_method_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown fusion method"):
        fuse([("a", 1.0)], [], FusionConfig(lexical_weight=0.4, method="borda"))


def test_index_tokens_stem_and_drops_stop_words() -> None:
    assert index_tokens(["The researchers and the researching of computers"]) == [["research", "research", "comput"]]


def test_retrieval_setting_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"retrieval .'sparse'. must be dense, bm25 or hybrid"):
        Settings(retrieval="sparse")
    with pytest.raises(ConfigError, match="lexical_weight"):
        Settings(lexical_weight=1.5)


@pytest.mark.slow
def test_lexical_index_follows_add_edit_delete_and_survives_restarts(
    tmp_path: Path, make_assistant: Callable[..., Assistant]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "birds.txt").write_text("Puffins nest on cliffs in the North Atlantic.\n", encoding="utf-8")
    (docs / "trains.txt").write_text("The funicular climbs the hill every ten minutes.\n", encoding="utf-8")
    index_dir = tmp_path / "index"
    a = make_assistant(index_dir, retrieval="bm25")
    a.ingest([docs])
    hits = a.retrieve("Where do puffins nest?")
    assert hits and hits[0].chunk.display == "birds.txt" and hits[0].lexical is not None
    assert (index_dir / "lexical-default").is_dir()

    (docs / "birds.txt").write_text("Gannets dive for mackerel off the coast.\n", encoding="utf-8")
    a.ingest([docs])
    assert a.retrieve("Where do puffins nest?") == []  # the old version is gone from BM25 too
    assert a.retrieve("gannets mackerel")[0].chunk.display == "birds.txt"

    a.delete([docs / "trains.txt"])
    assert a.retrieve("funicular") == []

    # A new process opens the saved index and finds it current: nothing re-tokenized.
    fresh = LexicalIndex(index_dir, "default")
    assert fresh.sync(a._store, force=True) is False
    assert len(fresh) == 1

    # A lost or corrupt index is rebuilt from Chroma, the source of truth.
    (index_dir / "lexical-default" / "meta.json").write_text("{not json", encoding="utf-8")
    rebuilt = LexicalIndex(index_dir, "default")
    assert rebuilt.sync(a._store, force=True) is True
    assert [cid for cid, _ in rebuilt.search("gannets", 5)] == [h.chunk.id for h in a.retrieve("gannets")]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_every_mode_answers_and_filters_the_same_way(
    tmp_path: Path, make_assistant: Callable[..., Assistant], mode: str
) -> None:
    other = tmp_path / "other.md"
    other.write_text("# Ferries\n\nThe ferry to the island leaves at noon from pier four.\n", encoding="utf-8")
    a = make_assistant(retrieval=mode)
    a.ingest([ARTICLE, other])
    answer = a.ask("Who is Ilse Varga?")
    assert not answer.abstained
    assert any("chief water engineer" in c.sentence for c in answer.citations)
    assert all(h.rank == i for i, h in enumerate(answer.hits, start=1))
    assert {h.chunk.display for h in a.retrieve("Who is Ilse Varga?", sources="*.md")} <= {"other.md"}
    only_md = a.retrieve("ferry to the island", sources="*.md")
    assert only_md and {h.chunk.display for h in only_md} == {"other.md"}
    assert a.retrieve("ferry island", sources="nothing-matches-*") == []
    ferry = a.ask("When does the ferry leave?", sources="*.md")
    assert not ferry.abstained and "noon" in ferry.text


def test_proximity_prefers_terms_together_in_one_sentence() -> None:
    from rag.fusion import proximity

    idf = {"virus": 1.0, "spread": 1.0, "bat": 2.0}
    question = ["bat", "virus", "spread"]
    together = [["bat", "virus", "spread", "fast"]]
    scattered = [["bat", "cave"], ["virus", "lab"], ["spread", "wide"]]
    assert proximity(question, together, idf) == pytest.approx(1.0 + 1.0)  # all terms, both bigrams
    assert proximity(question, scattered, idf) == pytest.approx(2.0 / 4.0)  # best sentence holds "bat" only
    assert proximity([], together, idf) == 0.0


def test_rerank_by_proximity_by_hand() -> None:
    from rag.fusion import Fused, rerank_by_proximity

    fused = [Fused("a", 2.0, 0.9, None), Fused("b", 1.0, None, 3.0)]
    out = rerank_by_proximity(fused, [0.0, 1.5], FusionConfig(lexical_weight=0.4, proximity_weight=1.0))
    assert [(f.chunk_id, f.score) for f in out] == [("b", 0.5 + 1.5), ("a", 1.0)]
    assert out[0].lexical == 3.0 and out[1].dense == 0.9

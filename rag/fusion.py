"""Fusing dense and lexical rankings into one (pure functions).

Each list is ``[(chunk_id, score), ...]`` best first. Scores of the two retrievers
live on different scales (cosine similarity vs. BM25), so each list is first
normalised per query; the fused score is then a weighted sum. The weights and
the normalisation are chosen by the evals (see README, "Accuracy").
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FusionConfig:
    """How hybrid retrieval combines its two lists; ``Settings.fusion_config()`` builds it.

    ``lexical_weight`` is a setting (``RAG_LEXICAL_WEIGHT``), so it has no default here; the
    other fields are tuning that no setting exposes.
    """

    lexical_weight: float
    method: str = "minmax"  # "minmax" (weighted normalised scores) or "rrf"
    rrf_k: int = 60
    candidates: int = 50  # taken from each retriever before fusing
    proximity_weight: float = 0.8  # weight of the best single-sentence match when re-ranking
    rerank_depth: int = 40  # fused results re-ranked by sentence proximity
    # ... and each half's best few whatever their fused rank: fifty dense hits of equal score (a
    # file of repeated boilerplate) must not push the one lexical match out of the window
    keep_each: int = 5


@dataclass(frozen=True)
class Fused:
    chunk_id: str
    score: float
    dense: float | None
    lexical: float | None


def _minmax(scores: Sequence[tuple[str, float]]) -> dict[str, float]:
    if not scores:
        return {}
    values = [s for _, s in scores]
    low, high = min(values), max(values)
    span = high - low
    return {cid: ((s - low) / span if span > 0 else 1.0) for cid, s in scores}


def fuse(
    dense: Sequence[tuple[str, float]], lexical: Sequence[tuple[str, float]], config: FusionConfig
) -> list[Fused]:
    """One ranking from two; ties broken by the dense rank, then the id (deterministic)."""
    d_raw, l_raw = dict(dense), dict(lexical)
    ids = list(dict.fromkeys([cid for cid, _ in dense] + [cid for cid, _ in lexical]))
    w = config.lexical_weight
    if config.method == "rrf":
        d_rank = {cid: r for r, (cid, _) in enumerate(dense, start=1)}
        l_rank = {cid: r for r, (cid, _) in enumerate(lexical, start=1)}
        score = {
            cid: (1 - w) * (1 / (config.rrf_k + d_rank[cid]) if cid in d_rank else 0.0)
            + w * (1 / (config.rrf_k + l_rank[cid]) if cid in l_rank else 0.0)
            for cid in ids
        }
    elif config.method == "minmax":
        d_norm, l_norm = _minmax(dense), _minmax(lexical)
        score = {cid: (1 - w) * d_norm.get(cid, 0.0) + w * l_norm.get(cid, 0.0) for cid in ids}
    else:
        raise ValueError(f"unknown fusion method {config.method!r}: use 'minmax' or 'rrf'")
    order = {cid: i for i, cid in enumerate(ids)}
    ranked = sorted(ids, key=lambda cid: (-score[cid], order[cid]))
    return [Fused(cid, score[cid], d_raw.get(cid), l_raw.get(cid)) for cid in ranked]


def rerank_window(
    fused: Sequence[Fused], dense: Sequence[str], lexical: Sequence[str], config: FusionConfig
) -> list[Fused]:
    """The first ``rerank_depth`` fused results, then any of each list's best ``keep_each`` below them (pure)."""
    window = list(fused[: config.rerank_depth])
    inside = {f.chunk_id for f in window}
    wanted = set(dense[: config.keep_each]) | set(lexical[: config.keep_each])
    window.extend(f for f in fused[config.rerank_depth :] if f.chunk_id in wanted and f.chunk_id not in inside)
    return window


def proximity(question: Sequence[str], sentences: Sequence[Sequence[str]], idf: dict[str, float]) -> float:
    """How well the best single sentence matches the question (0..2).

    The idf-weighted share of the question's terms found in one sentence, plus the
    share of the question's term bigrams found there in order. A chunk that holds
    the question's words together in one sentence beats one that scatters them.
    """
    wanted = set(question)
    total = sum(idf.get(t, 0.0) for t in wanted)
    if not wanted or total <= 0:
        return 0.0
    bigrams = set(itertools.pairwise(question))
    best = 0.0
    for sentence in sentences:
        present = wanted.intersection(sentence)
        unigram = sum(idf.get(t, 0.0) for t in present) / total
        pairs = len(bigrams.intersection(itertools.pairwise(sentence))) / len(bigrams) if bigrams else 0.0
        best = max(best, unigram + pairs)
    return best


def rerank_by_proximity(
    fused: Sequence[Fused], closeness: Sequence[float], config: FusionConfig
) -> list[Fused]:
    """Add ``proximity_weight * closeness`` to the fused scores (normalised to the best) and re-sort."""
    if not fused:
        return []
    top = max(f.score for f in fused) or 1.0
    rescored = [
        Fused(f.chunk_id, f.score / top + config.proximity_weight * c, f.dense, f.lexical)
        for f, c in zip(fused, closeness, strict=True)
    ]
    order = {f.chunk_id: i for i, f in enumerate(fused)}
    return sorted(rescored, key=lambda f: (-f.score, order[f.chunk_id]))

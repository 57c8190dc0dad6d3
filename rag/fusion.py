"""Fusing dense and lexical rankings into one (pure functions).

Each list is ``[(chunk_id, score), ...]`` best first. Scores of the two retrievers
live on different scales (cosine similarity vs. BM25), so each list is first
normalised per query; the fused score is then a weighted sum. The weights and
the normalisation are chosen by the evals (see README, "Accuracy").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RETRIEVAL_MODES = ("dense", "bm25", "hybrid")


@dataclass(frozen=True)
class FusionConfig:
    """How hybrid retrieval combines its two lists."""

    lexical_weight: float = 0.5
    method: str = "minmax"  # "minmax" (weighted normalised scores) or "rrf"
    rrf_k: int = 60
    candidates: int = 50  # taken from each retriever before fusing


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

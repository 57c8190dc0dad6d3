"""Sweep the extractive answerer's abstention thresholds; print the trade-off as a table.

For each set, every question is retrieved, its units ranked and its best unit's
paraphrase drop (``rag.abstention``) measured once; then, for each value of the swept
threshold, ``rag.extractive.decide`` decides again (pure, cheap) and the table shows
abstention precision and recall and answer-contained per set. The defaults in
``ExtractiveConfig`` are chosen from this table (see docs/design-notes.md). ``--dump``
prints every question's signals instead: answerable or not, abstained, the best unit's
dense and lexical scores, its paraphrase drop, the unknown terms and the missing measure.

    RAG_DATA_DIR=../shared python -m evals.perf.sweep_abstention [--sets natural,seed,docs] [--param min_lexical]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from evals.cases import EvalCase
from evals.datasets import load_set
from evals.metrics import abstention, contains, strip_markers
from rag.abstention import missing_measure
from rag.assistant import Assistant
from rag.config import Settings
from rag.extractive import ExtractiveAnswerer, compose, decide
from rag.parts import open_parts
from rag.term_overlap import Coverage
from rag.unit_scores import Candidate, ExtractiveConfig

SETS = ("evals/sets/natural.jsonl", "evals/sets/natural-heldout.jsonl", "seed", "docs")
GRIDS: dict[str, list[float]] = {
    "min_lexical": [0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6],
    "strong_dense": [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 1.0],
    "min_score": [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5],
    "min_unknown_terms": [1, 2, 3, 4, 99],
    "paraphrase_drop": [0.0, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 1.0],
    "check_measures": [0, 1],
    "paraphrase_min_terms": [0, 2, 3, 4, 5],
    "paraphrase_max_unknown": [0.2, 0.3, 0.34, 0.4, 0.5, 0.6, 1.01],
}


@dataclass(frozen=True)
class Ranked:
    """One question, its ranked units and what the index knows of its terms."""

    case: EvalCase
    candidates: list[Candidate]
    scored: list[Candidate]
    unknown: Coverage
    drop: float  # the best unit's paraphrase drop (0.0 without units)


def rank_set(spec: str, settings: Settings, work: Path) -> list[Ranked]:
    """Ingest the set's corpus into a fresh index under ``work`` and rank every question's units."""
    eval_set = load_set(spec, cache_dir=work / "cache", data_dir=settings.data_dir)
    parts = open_parts(settings.with_(index_dir=str(work / eval_set.name), collection="eval"))
    Assistant(parts).ingest(list(eval_set.corpus), sync=True)
    answerer = parts.answerer
    assert isinstance(answerer, ExtractiveAnswerer)
    out = []
    for case in eval_set.cases:
        vector = parts.embedder.embed_query(case.question)
        hits = parts.retriever.retrieve(case.question, vector, parts.settings.top_k, None)
        unknown = answerer.unknown_terms(case.question)
        candidates, scored = answerer._ranked(case.question, hits, vector)
        drop = answerer.paraphrase_drop(case.question, candidates[0], vector) if candidates else 0.0
        out.append(Ranked(case, candidates, scored, unknown, drop))
    return out


def decided(r: Ranked, config: ExtractiveConfig) -> list[Candidate]:
    """What the answerer quotes for ``r`` with ``config`` ([] when it abstains)."""
    return decide(r.candidates, config, r.case.question, r.unknown, r.scored, drop=lambda best: r.drop)


def measure(ranked: Sequence[Ranked], config: ExtractiveConfig) -> tuple[float | None, float | None, float | None]:
    """(abstention precision, abstention recall, contained over the answerable) with ``config``."""
    abstained, unanswerable, found = [], [], []
    for r in ranked:
        chosen = decided(r, config)
        text, _ = compose(r.case.question, chosen, ())
        abstained.append(not chosen)
        unanswerable.append(r.case.unanswerable)
        if not r.case.unanswerable:
            found.append(bool(chosen) and any(contains(strip_markers(text), a) for a in r.case.answers))
    precision, recall = abstention(unanswerable, abstained)
    return precision, recall, (sum(found) / len(found) if found else None)


def _with(config: ExtractiveConfig, param: str, value: float) -> ExtractiveConfig:
    if param == "paraphrase_drop":
        return replace(config, paraphrase_drop=value)
    if param == "paraphrase_max_unknown":
        return replace(config, paraphrase_max_unknown=value)
    if param == "paraphrase_min_terms":
        return replace(config, paraphrase_min_terms=int(value))
    if param == "check_measures":
        return replace(config, check_measures=bool(value))
    if param == "min_lexical":
        return replace(config, min_lexical=value)
    if param == "strong_dense":
        return replace(config, strong_dense=value)
    if param == "min_unknown_terms":
        return replace(config, min_unknown_terms=int(value))
    return replace(config, min_score=value)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def dump(name: str, ranked: Sequence[Ranked], config: ExtractiveConfig) -> None:
    """One line per question: its signals and what the answerer decides."""
    for r in ranked:
        best = r.candidates[0] if r.candidates else None
        chosen = decided(r, config)
        text, _ = compose(r.case.question, chosen, ())
        found = bool(chosen) and any(contains(strip_markers(text), a) for a in r.case.answers)
        verdict = "unanswerable" if r.case.unanswerable else ("contained" if found else "missed")
        signals = (
            f"dense {best.dense:.2f} lexical {best.lexical:.2f} score {best.score:.2f} drop {r.drop:.2f}"
            if best else "no unit"
        )
        measure = missing_measure(r.case.question, [best.sentence_text] if best else [])
        print(
            f"{name} | {verdict} | {'abstains' if not chosen else 'answers'} | {signals} | "
            f"unknown {r.unknown.unknown}/{r.unknown.total} | measure {measure or '-'} | {r.case.question}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--param", default="min_lexical", choices=sorted(GRIDS))
    parser.add_argument("--dump", action="store_true", help="print every question's signals, not the curve")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    base = settings.extractive_config()
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    with tempfile.TemporaryDirectory(prefix="rag-sweep-") as tmp:
        ranked = {Path(name).stem: rank_set(name, settings, Path(tmp)) for name in sets}
    sets = list(ranked)
    if args.dump:
        for name in sets:
            dump(name, ranked[name], base)
        return
    header = [args.param] + [f"{name} {m}" for name in sets for m in ("abst P", "abst R", "contained")]
    print("| " + " | ".join(header) + " |")
    print("|" + "---:|" * len(header))
    for value in GRIDS[args.param]:
        config = _with(base, args.param, value)
        cells = [f"{value:g}" + (" (default)" if value == getattr(base, args.param) else "")]
        for name in sets:
            cells += [_f(v) for v in measure(ranked[name], config)]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

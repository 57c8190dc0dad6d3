"""Eval metrics against hand-computed cases, and our ranking metrics against trec_eval (ir-measures)."""

from __future__ import annotations

import math
import random

import pytest

from evals import metrics as m
from evals.datasets import EvalCase
from evals.report import gate_failures, parse_gates
from evals.runner import score, select, summarize
from rag import Answer, Chunk, Citation, ConfigError, Hit
from rag.models import SentenceSupport

# -- ranking ------------------------------------------------------------------------------------


def test_distinct_keeps_first_appearance() -> None:
    assert m.distinct(["x", "x", "y", "x", "z", "y"]) == ["x", "y", "z"]


def test_one_relevant_document_at_rank_three() -> None:
    ranked, gold = ["a", "b", "c", "d"], {"c": 1}
    assert m.first_relevant_rank(ranked, gold) == 3
    assert (m.hit_at(ranked, gold, 1), m.hit_at(ranked, gold, 3), m.hit_at(ranked, gold, 5)) == (0.0, 1.0, 1.0)
    assert m.reciprocal_rank(ranked, gold) == pytest.approx(1 / 3)
    assert m.reciprocal_rank(ranked, gold, k=2) == 0.0
    assert m.ndcg_at(ranked, gold) == pytest.approx(1 / math.log2(4))  # 0.5: one gain at rank 3, ideal at rank 1
    assert m.recall_at(ranked, gold, 5) == 1.0


def test_two_relevant_one_missing() -> None:
    ranked, gold = ["a", "b", "c"], {"b": 1, "e": 1}
    assert m.recall_at(ranked, gold, 5) == 0.5
    # DCG = 1/log2(3); ideal DCG = 1 + 1/log2(3)
    assert m.ndcg_at(ranked, gold) == pytest.approx(0.63093 / 1.63093, abs=1e-5)


def test_graded_ndcg_and_zero_grades() -> None:
    gold = {"a": 2, "c": 1, "z": 0}
    # ranked c, a: DCG = 1/1 + 2/log2(3) = 2.26186; ideal a, c: 2 + 1/log2(3) = 2.63093
    assert m.ndcg_at(["c", "a", "z"], gold) == pytest.approx(2.26186 / 2.63093, abs=1e-5)
    assert m.hit_at(["z"], gold, 1) == 0.0  # grade 0 is judged, not relevant
    assert m.ndcg_at(["q"], {}) == 0.0


def test_nothing_retrieved() -> None:
    assert m.first_relevant_rank([], {"a": 1}) is None
    assert (m.hit_at([], {"a": 1}, 10), m.reciprocal_rank([], {"a": 1}), m.ndcg_at([], {"a": 1})) == (0, 0, 0)


def test_ranking_metrics_match_trec_eval() -> None:
    """Random runs with graded qrels: ours equal ir-measures (pytrec_eval, i.e. trec_eval) to 1e-9."""
    ir_measures = pytest.importorskip("ir_measures")
    from ir_measures import RR, R, Success, nDCG

    rng = random.Random(7)
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, list[str]] = {}
    pool = [f"d{i}" for i in range(25)]
    for q in range(60):
        qid = f"q{q}"
        qrels[qid] = {d: rng.choice([1, 1, 2, 3]) for d in rng.sample(pool, rng.randint(1, 4))}
        qrels[qid][rng.choice(pool)] = qrels[qid].get("x", 0)  # sometimes a judged non-relevant document
        run[qid] = rng.sample(pool, rng.randint(0, 14))
    ours = {
        "nDCG@10": [m.ndcg_at(run[q], qrels[q], 10) for q in qrels],
        "RR@10": [m.reciprocal_rank(run[q], qrels[q], 10) for q in qrels],
        "Success@1": [m.hit_at(run[q], qrels[q], 1) for q in qrels],
        "Success@5": [m.hit_at(run[q], qrels[q], 5) for q in qrels],
        "Success@10": [m.hit_at(run[q], qrels[q], 10) for q in qrels],
        "R@5": [m.recall_at(run[q], qrels[q], 5) for q in qrels],
        "R@10": [m.recall_at(run[q], qrels[q], 10) for q in qrels],
    }
    # trec_eval ranks by score; scores fall with rank so its order is ours
    trec_run = {q: {d: float(100 - i) for i, d in enumerate(docs)} for q, docs in run.items()}
    measures = [nDCG @ 10, RR @ 10, Success @ 1, Success @ 5, Success @ 10, R @ 5, R @ 10]
    per_query = {(str(x.measure), x.query_id): x.value for x in ir_measures.iter_calc(measures, qrels, trec_run)}
    assert sum(v > 0 for v in per_query.values()) > 100  # it really computed something
    for name, values in ours.items():
        for qid, value in zip(qrels, values, strict=True):
            assert value == pytest.approx(per_query.get((name, qid), 0.0), abs=1e-9), (name, qid)


# -- answers ------------------------------------------------------------------------------------


def test_squad_normalisation() -> None:
    assert m.normalize_answer("The  Cat's, a hat!") == "cats hat"
    assert m.normalize_answer("  An Apple\tthe end ") == "apple end"


def test_references_are_compared_as_ingested_text() -> None:
    # the loaders store documents NFKC-normalised: "\ufb01" (fi ligature) becomes "fi"
    from index.loaders import tidy

    passage = tidy("Viral \ufb01ndings were con\ufb01rmed 3\u202fdays later.")
    assert m.answer_passage_rank([passage], ["con\ufb01rmed 3\u202fdays"]) == 1
    assert m.exact_match("\ufb01ndings", "findings") == 1.0


def test_exact_match_and_f1() -> None:
    assert m.exact_match("Denver Broncos!", "the denver broncos") == 1.0
    assert m.exact_match("Broncos", "Denver Broncos") == 0.0
    # pred [cat, sat], ref [cat, sat, down]: P = 1, R = 2/3, F1 = 0.8
    assert m.token_f1("the cat sat", "a cat sat down") == pytest.approx(0.8)
    assert m.token_f1("dog", "cat") == 0.0
    assert m.token_f1("the", "a") == 1.0  # both normalise to nothing (as the official script)
    assert m.best("f1", "cat sat", ["dog", "cat sat down"]) == pytest.approx(0.8)
    assert m.best("em", "x", []) == 0.0


def test_contained_needs_whole_words() -> None:
    assert m.contains("He won in 2016.", "2016")
    assert not m.contains("It was 20160 km.", "2016")
    assert m.contains("The Denver Broncos won [1].", "denver broncos")
    assert not m.contains("anything", "the")  # normalises to nothing: never contained
    assert m.strip_markers("Foo [1]. Bar [2][3].") == "Foo . Bar ."


def test_answer_passage_rank() -> None:
    passages = ["nothing here", "the Denver Broncos won", "Broncos again"]
    assert m.answer_passage_rank(passages, ["Denver Broncos"]) == 2
    assert m.answer_passage_rank(passages, ["Panthers"]) is None
    assert (m.rank_hit(2, 1), m.rank_hit(2, 5), m.rank_reciprocal(2, 10), m.rank_reciprocal(None, 10)) == (
        0.0, 1.0, 0.5, 0.0)


# -- citations, abstention, aggregation ----------------------------------------------------------


def test_citation_precision_and_recall() -> None:
    assert m.citation_correct("the Broncos won", "x.txt", ["broncos"], {})
    assert m.citation_correct("unrelated", "gold.txt", ["broncos"], {"gold.txt": 1})
    assert not m.citation_correct("unrelated", "x.txt", ["broncos"], {"gold.txt": 1})
    assert m.citation_precision([True, False, True, True]) == 0.75
    assert m.citation_precision([]) is None
    assert m.citation_recall([[1], [2], [1, 2], []], {1: True, 2: False}) == 0.5
    assert m.citation_recall([], {}) is None


def test_abstention() -> None:
    assert m.abstention([True, True, False, False], [True, False, True, False]) == (0.5, 0.5)
    assert m.abstention([False, False], [False, False]) == (None, None)
    assert m.abstention([False, False], [True, False]) == (None, None)  # no unanswerable case: not measured
    assert m.abstention([True, False], [False, False]) == (None, 0.0)


def test_mean_and_percentile_match_numpy() -> None:
    np = pytest.importorskip("numpy")
    assert m.mean([1.0, None, 0.0]) == 0.5
    assert m.mean([None]) is None
    values = [random.Random(3).uniform(0, 100) for _ in range(37)]
    for q in (0, 50, 95, 100):
        assert m.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert m.percentile([1, 2, 3, 4], 50) == 2.5
    assert m.percentile([], 50) is None


# -- one record, scored by hand ------------------------------------------------------------------


def _chunk(cid: str, text: str, display: str) -> Chunk:
    return Chunk(cid, text, f"/c/{display}", display, display, None, 0, len(text), 5, 0, "h")


def test_score_one_answer_by_hand() -> None:
    c1 = _chunk("1", "Paris hosts the agency.", "b.txt")
    c2 = _chunk("2", "The capital is Lyon, not Paris.", "a.txt")
    c3 = _chunk("3", "The agency is in Lyon.", "a.txt")
    hits = [Hit(c1, 0.9, 1), Hit(c2, 0.8, 2), Hit(c3, 0.7, 3)]
    answer = Answer(
        "Where is the agency?", "The agency is in Lyon [1]. Paris hosts the agency [2].",
        (Citation(1, c3, (0, 22), 0.9), Citation(2, c1, (0, 23), 0.5)), tuple(hits), False,
        {"embed": 2.0, "retrieve": 3.0, "answer": 1.0, "total": 6.0},
        sentences=(SentenceSupport("The agency is in Lyon.", (0, 26), (1,), 1.0, True),
                   SentenceSupport("Paris hosts the agency.", (27, 53), (2,), 1.0, True)),
    )
    case = EvalCase("q", "Where is the agency?", answers=("Lyon",), gold={"a.txt": 1})
    r = score(case, answer, hits)
    # documents ranked b.txt, a.txt: the gold one is second
    assert r.gold_rank == 2 and r.metrics["hit@1"] == 0.0 and r.metrics["mrr@10"] == 0.5
    assert r.passage_rank == 2 and r.metrics["passage_mrr@10"] == 0.5  # chunk 2 says "Lyon" first
    assert r.metrics["em"] == 0.0 and r.metrics["contained"] == 1.0
    # answer tokens: [agency, is, in, lyon, paris, hosts, agency]; reference [lyon]: P 1/7, R 1
    assert r.metrics["f1"] == pytest.approx(2 * (1 / 7) / (1 / 7 + 1))
    # [1] is from the gold a.txt (correct), [2] is b.txt without "Lyon" (wrong)
    assert r.metrics["citation_precision"] == 0.5 and r.metrics["citation_recall"] == 0.5
    assert [c["correct"] for c in r.citations] == [True, False]
    summary, counts = summarize([r])
    assert summary["total_p50_ms"] == 6.0 and summary["abstain_precision"] is None
    assert counts["questions"] == 1


def test_unanswerable_cases_only_count_for_abstention() -> None:
    empty = Answer("q", "Not found in the indexed documents.", (), (), True, {"total": 1.0})
    r = score(EvalCase("u", "q", unanswerable=True), empty, [])
    assert set(r.metrics) == {"abstained"} and r.metrics["abstained"] == 1.0
    wrong = score(EvalCase("a", "q", answers=("x",), gold={"a": 1}), empty, [])
    summary, _ = summarize([r, wrong])
    assert summary["abstain_precision"] == 0.5 and summary["abstain_recall"] == 1.0
    assert wrong.metrics["f1"] == 0.0 and "citation_precision" not in wrong.metrics


def test_sampling_and_gates() -> None:
    cases = [EvalCase(str(i), "q") for i in range(20)]
    picked = select(cases, 5, seed=1)
    assert [c.id for c in picked] == [c.id for c in select(cases, 5, seed=1)]
    assert [c.id for c in picked] == sorted((c.id for c in picked), key=int) and len(picked) == 5
    assert select(cases, None, 0) == cases
    assert parse_gates(["hit@5=0.9", "MRR=0.5"]) == {"hit@5": 0.9, "mrr@10": 0.5}
    for bad in ("hit@5", "hit@5=x", "nope=1"):
        with pytest.raises(ConfigError):
            parse_gates([bad])


def test_gate_failures_name_the_metric() -> None:
    from evals.runner import RunResult

    result = RunResult("s", "s", "default", {}, {"hit@5": 0.8, "f1": 0.5, "total_p95_ms": 90.0}, {}, (), "", 0.0)
    assert gate_failures([result], {"hit@5": 0.9, "f1": 0.4}) == ["hit@5 = 0.8000 is below 0.9 (default)"]
    assert gate_failures([result], {}, {"total_p95_ms": 50}) == ["total_p95_ms = 90.0000 is above 50 (default)"]
    assert "not measured" in gate_failures([result], {"em": 0.1})[0]

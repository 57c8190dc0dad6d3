"""Run an eval set through ``rag.Assistant`` exactly as a user would, and score every answer.

>>> from evals import run_eval
>>> report = run_eval("evals/sets/seed.jsonl", limit=10)          # doctest: +SKIP
>>> report.metrics["hit@5"], report.out_dir                        # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from evals import metrics as m
from evals.cases import EvalCase, EvalSet
from evals.datasets import load_set
from evals.outputs import run_folder, write_reports
from evals.results import EvalReport, Record, RunResult
from rag import Answer, Assistant, ConfigError, Hit, Settings
from rag.serialise import citation_summary, hit_summary

DEPTH = 10  # hits scored per question: hit@10, MRR@10 and nDCG@10 need ten
STAGES = ("embed", "retrieve", "answer", "total")
PASSAGE_TEXTS = 5  # retrieved passages whose text each record keeps (for the failure list)


def score(case: EvalCase, answer: Answer, hits: Sequence[Hit]) -> Record:
    """Every metric of one answer; ``hits`` is the ranking scored for retrieval (up to DEPTH)."""
    ranked = m.distinct(h.chunk.display for h in hits)
    gold, refs = dict(case.gold), case.answers
    values: dict[str, float | None] = {}
    gold_rank = m.first_relevant_rank(ranked, gold) if gold else None
    if gold:
        for k in (1, 5, 10):
            values[f"hit@{k}"] = m.hit_at(ranked, gold, k)
        values["recall@5"] = m.recall_at(ranked, gold, 5)
        values["recall@10"] = m.recall_at(ranked, gold, 10)
        values["mrr@10"] = m.reciprocal_rank(ranked, gold, 10)
        values["ndcg@10"] = m.ndcg_at(ranked, gold, 10)
    passage_rank = None
    answerable = not case.unanswerable
    if refs and case.extractive and answerable:
        passage_rank = m.answer_passage_rank([h.chunk.text for h in hits], refs)
        for k in (1, 5, 10):
            values[f"passage_hit@{k}"] = m.rank_hit(passage_rank, k)
        values["passage_mrr@10"] = m.rank_reciprocal(passage_rank, 10)
    text = "" if answer.abstained else m.strip_markers(answer.text)
    if refs and answerable:
        for name in ("em", "f1", "contained") if case.extractive else ("em", "f1"):
            values[name] = m.best(name, text, refs)
    correct = {c.n: m.citation_correct(c.chunk.text, c.chunk.display, refs, gold) for c in answer.citations}
    if answerable and (refs or gold) and not answer.abstained:
        sentences = [s.cited for s in answer.sentences if s.claim] or [tuple(correct)]
        values["citation_precision"] = m.citation_precision(list(correct.values()))
        values["citation_recall"] = m.citation_recall(sentences, correct)
    values["abstained"] = 1.0 if answer.abstained else 0.0
    claims = [s for s in answer.sentences if s.claim]
    if claims and not answer.abstained:
        # the citation checker's verdict: share of answer sentences no cited passage supports
        values["unsupported_rate"] = sum(not s.supported for s in claims) / len(claims)
        values["uncited"] = 1.0 if answer.uncited else 0.0
    return Record(
        id=case.id,
        question=case.question,
        references=refs,
        gold=gold,
        unanswerable=case.unanswerable,
        answer=answer.text,
        abstained=answer.abstained,
        citations=tuple({**citation_summary(c), "correct": correct[c.n]} for c in answer.citations),
        hits=tuple(_hit(h, gold, i < PASSAGE_TEXTS) for i, h in enumerate(hits)),
        gold_rank=gold_rank,
        passage_rank=passage_rank,
        metrics=values,
        timings={k: round(v, 2) for k, v in answer.timings.items()},
    )


def _hit(hit: Hit, gold: Mapping[str, int], with_text: bool) -> dict[str, Any]:
    out = {**hit_summary(hit), "gold": hit.chunk.display in gold}
    if with_text:
        out["text"] = hit.chunk.text
    return out


def summarize(records: Sequence[Record]) -> tuple[dict[str, float | None], dict[str, int]]:
    """Summary metrics (means over the cases each applies to, set-level abstention, latency)."""
    names = list(dict.fromkeys(name for r in records for name in r.metrics))
    summary: dict[str, float | None] = {name: m.mean(r.metrics.get(name) for r in records) for name in names}
    precision, recall = m.abstention([r.unanswerable for r in records], [r.abstained for r in records])
    summary["abstain_precision"], summary["abstain_recall"] = precision, recall
    for stage in STAGES:
        times = [r.timings[stage] for r in records if stage in r.timings]
        summary[f"{stage}_p50_ms"] = m.percentile(times, 50)
        summary[f"{stage}_p95_ms"] = m.percentile(times, 95)
    counts = {"questions": len(records), "unanswerable": sum(r.unanswerable for r in records)}
    counts.update({f"n:{name}": sum(r.metrics.get(name) is not None for r in records) for name in names})
    return summary, counts


def select(cases: Sequence[EvalCase], limit: int | None, seed: int) -> list[EvalCase]:
    """All cases, or ``limit`` of them drawn at random with ``seed`` (kept in set order)."""
    if limit is None or limit >= len(cases):
        return list(cases)
    if limit < 1:
        raise ConfigError(f"--limit ({limit}) must be at least 1")
    chosen = sorted(random.Random(seed).sample(range(len(cases)), limit))
    return [cases[i] for i in chosen]


def apply_setting(settings: Settings, key: str, raw: str) -> Settings:
    """``settings`` with one setting changed from its text form (``top_k``, ``"8"``)."""
    names = {f.name for f in fields(settings)}
    if key not in names:
        raise ConfigError(f"unknown setting {key!r}; settings are: {', '.join(sorted(names))}")
    current = getattr(settings, key)
    try:
        value: Any = raw
        if isinstance(current, bool):
            value = raw.lower() in {"1", "true", "yes", "on"}
        elif isinstance(current, int | float):
            value = type(current)(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a valid {type(current).__name__}") from None
    return settings.with_(**{key: value})


def index_key(eval_set: EvalSet, settings: Settings) -> str:
    """The eval index a set and settings use: the corpus and what the index is built with.

    The embedding backend is part of it: int8 vectors differ from fp32 ones, and settings
    that share an index share its embedder, so ``--compare embed_backend=onnx,onnx-int8``
    must build (and time) one index per backend.
    """
    parts = [*sorted(str(p) for p in eval_set.corpus), settings.embed_model,
             str(settings.chunk_size), str(settings.chunk_overlap)]
    if settings.embed_backend != "onnx":  # the default keeps the key its indexes had before the setting
        parts.append(settings.embed_backend)
    return hashlib.sha1("\x00".join(parts).encode()).hexdigest()[:12]


def public_settings(settings: Settings) -> dict[str, Any]:
    return {k: v for k, v in asdict(settings).items() if "key" not in k}


def _ask(assistant: Assistant, case: EvalCase) -> Record:
    answer = assistant.ask(case.question)
    hits: Sequence[Hit] = answer.hits
    if assistant.settings.top_k < DEPTH:
        hits = assistant.retrieve(case.question, top_k=DEPTH)
    return score(case, answer, hits)


def _ingest(assistant: Assistant, eval_set: EvalSet, progress: bool) -> str:
    from tqdm import tqdm

    bar: Any = None

    def tick(done: int, total: int, name: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="file", desc="ingest", file=sys.stderr, leave=False)
        bar.update(1)

    try:
        report = assistant.ingest(list(eval_set.corpus), sync=True, progress=tick if progress else None)
    finally:
        if bar is not None:
            bar.close()
    for failure in report.failed:
        print(f"warning: not ingested: {failure.path}: {failure.reason}", file=sys.stderr)
    return report.summary()


def run_setting(
    assistant: Assistant, eval_set: EvalSet, cases: Sequence[EvalCase], *,
    label: str, ingest: str, workers: int = 1, progress: bool = False,
) -> RunResult:
    """Ask every case with one Assistant (shared by ``workers`` threads) and summarise."""
    from tqdm import tqdm

    if cases:  # once untimed: the first question pays for loading models and indexes
        assistant.ask(cases[0].question)
    assistant.forget_queries()  # settings compared on one embedder each embed their questions afresh
    started = time.perf_counter()
    with tqdm(total=len(cases), unit="q", desc=label, file=sys.stderr, disable=not progress) as bar:
        def one(case: EvalCase) -> Record:
            record = _ask(assistant, case)
            bar.update(1)
            return record

        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                records = list(pool.map(one, cases))
        else:
            records = [one(case) for case in cases]
    summary, counts = summarize(records)
    return RunResult(
        set_name=eval_set.name, spec=eval_set.spec, label=label, settings=public_settings(assistant.settings),
        metrics=summary, counts=counts, records=tuple(records), ingest=ingest,
        seconds=round(time.perf_counter() - started, 2),
    )


def parse_compare(text: str) -> tuple[str, list[str]]:
    """``"retrieval=dense,bm25"`` -> ``("retrieval", ["dense", "bm25"])``."""
    key, sep, values = text.partition("=")
    options = [v.strip() for v in values.split(",") if v.strip()]
    if not sep or not key.strip() or not options:
        raise ConfigError(f"--compare {text!r}: write SETTING=VALUE1,VALUE2 (e.g. retrieval=dense,bm25,hybrid)")
    return key.strip(), options


def run_eval(
    spec: str | Path,
    *,
    settings: Settings | None = None,
    compare: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    workers: int = 1,
    out: str | Path | None = "evals/runs",
    cache: str | Path | None = None,
    progress: bool = False,
    on_result: Callable[[RunResult], None] | None = None,
) -> EvalReport:
    """Run the set ``spec`` (see ``evals.datasets``) and write the reports under ``out``.

    ``compare`` (``"retrieval=dense,bm25,hybrid"``) runs once per value; settings that do
    not change the index share it. The index and generated corpora live under ``cache``
    (default ``OUT/cache``) and are reused while unchanged. ``out=None`` writes nothing.
    """
    if workers < 1:
        raise ConfigError(f"--workers ({workers}) must be at least 1")
    base = settings or Settings.from_env()
    out_path = Path(out) if out is not None else None
    cache_path = Path(cache) if cache else (out_path or Path("evals/runs")) / "cache"
    eval_set = load_set(spec, cache_dir=cache_path, data_dir=base.data_dir)
    cases = select(eval_set.cases, limit, seed)
    variants = [("default", base)]
    if compare:
        key, values = parse_compare(compare)
        variants = [(f"{key}={v}", apply_setting(base, key, v)) for v in values]
    opened: dict[str, tuple[Assistant, str]] = {}
    results: list[RunResult] = []
    for label, variant in variants:
        key = index_key(eval_set, variant)
        variant = variant.with_(index_dir=str((cache_path / "index" / key).absolute()), chroma_url="",
                                collection="eval")
        if key in opened:  # the same index (only the search or answering differs): share it
            first = opened[key][0]
            assistant = first.variant(settings=variant)
        else:
            assistant = Assistant.open(settings=variant)
            opened[key] = (assistant, _ingest(assistant, eval_set, progress))
        result = run_setting(assistant, eval_set, cases, label=label, ingest=opened[key][1],
                             workers=workers, progress=progress)
        results.append(result)
        if on_result is not None:
            on_result(result)
    folder = None
    run_info = {"spec": str(spec), "limit": limit, "seed": seed, "workers": workers, "depth": DEPTH, "compare": compare}
    if out_path is not None:
        folder = run_folder(out_path, eval_set.name, base, compare, limit)
        write_reports(folder, results, run_info=run_info)
    return EvalReport(tuple(results), folder, run_info)


def load_results(path: str | Path) -> list[dict[str, Any]]:
    """The per-setting results of a written run (its results.json), as plain data."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return list(data["results"])

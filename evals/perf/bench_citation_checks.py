"""How long the citation checks add to an answer, against the answer time without them.

The seed article is indexed once; then, for each question of ``evals/sets/seed.jsonl``:

a) the answer without checks: ``Assistant.ask`` (embed, retrieve, answer
   extractively), its total time minus the time of the checks it now runs;
b) ``check_extractive`` on that answer (the checks every extractive answer now gets);
c) ``check_answer`` on an LLM-shaped answer over the top five passages: four sentences,
   three taken from the passages with a word dropped and cited, one invented and cited
   as ``[7]``, which is what the checks run on for every generated answer.

(b) and (c) run "cold", with the memoised passage sentences cleared before each
answer, and "warm", with passages that have already been seen (they come back often in
real use). Each repeat gives the p50 and p95 over the questions. The table shows the
median, min and max over ``--repeat`` repeats. The target is under 20 ms at p50. From
the repo:

    .venv/bin/python -m evals.perf.bench_citation_checks               # 5 repeats
    .venv/bin/python -m evals.perf.bench_citation_checks --repeat 3 --json checks.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from evals.perf.table import Metric, render, summarize
from index.models import Hit
from index.sentences import split_sentences
from rag import Assistant, Settings
from rag.answering import NOT_FOUND
from rag.citations import check_answer, check_extractive, evidence_windows

REPO = Path(__file__).resolve().parents[2]
SEED_SET = REPO / "evals" / "sets" / "seed.jsonl"
SEED_FILE = REPO.parent / "shared" / "corpus" / "seed" / "000_7cc84e104f871c44.txt"


def llm_shaped_answer(hits: list[Hit]) -> str:
    """Three cited sentences lifted from the passages (a word dropped), one invented."""
    parts: list[str] = []
    for n, hit in enumerate(hits[:3], start=1):
        spans = split_sentences(hit.chunk.text)
        s, e = max(spans, key=lambda sp: sp[1] - sp[0])
        words = hit.chunk.text[s:e].rstrip(".").split()
        if len(words) > 4:
            del words[len(words) // 2]
        parts.append(" ".join(words) + f" [{n}].")
    parts.append("The committee also plans a base on the far side of the moon [7].")
    return " ".join(parts)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def one_run(assistant: Assistant, questions: list[str]) -> dict[str, float]:
    base: list[float] = []
    ext_cold: list[float] = []
    ext_warm: list[float] = []
    llm_cold: list[float] = []
    llm_warm: list[float] = []
    for q in questions:
        answer = assistant.ask(q)
        base.append(answer.timings["total"] - answer.timings.get("check", 0.0))
        hits = list(answer.hits)
        sources = {n: h.chunk for n, h in enumerate(hits[:5], start=1)}
        text = llm_shaped_answer(hits)
        for cold in (True, False):
            if cold:
                evidence_windows.cache_clear()
            t0 = time.perf_counter()
            check_extractive(answer, NOT_FOUND)
            t1 = time.perf_counter()
            if cold:
                evidence_windows.cache_clear()
            t2 = time.perf_counter()
            check_answer(text, sources, no_answer=NOT_FOUND)
            t3 = time.perf_counter()
            (ext_cold if cold else ext_warm).append((t1 - t0) * 1000)
            (llm_cold if cold else llm_warm).append((t3 - t2) * 1000)
    return {
        "answer_p50": p(base, 0.5),
        "ext_cold_p50": p(ext_cold, 0.5),
        "ext_warm_p50": p(ext_warm, 0.5),
        "llm_cold_p50": p(llm_cold, 0.5),
        "llm_cold_p95": p(llm_cold, 0.95),
        "llm_warm_p50": p(llm_warm, 0.5),
        "overhead_pct": 100 * p(ext_cold, 0.5) / p(base, 0.5),
    }


METRICS = [
    Metric("answer_p50", "extractive answer without checks, p50", "ms"),
    Metric("ext_cold_p50", "checks on it, cold, p50", "ms", "< 20", lambda v: v < 20),
    Metric("ext_warm_p50", "checks on it, warm, p50", "ms", "< 20", lambda v: v < 20),
    Metric("overhead_pct", "cold checks / answer time", "%"),
    Metric("llm_cold_p50", "checks on an LLM-shaped answer (5 sources), cold, p50", "ms", "< 20", lambda v: v < 20),
    Metric("llm_cold_p95", "same, cold, p95", "ms"),
    Metric("llm_warm_p50", "same, warm, p50", "ms", "< 20", lambda v: v < 20),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in SEED_SET.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(index_dir=folder)
        assistant = Assistant.open(settings=settings)
        assistant.ingest([SEED_FILE])
        one_run(assistant, questions[:3])  # warm up the model and caches
        runs = [one_run(assistant, questions) for _ in range(args.repeat)]
    summary = summarize(METRICS, runs)
    print(f"citation checks: {len(questions)} questions x {args.repeat} repeats (medians of per-repeat values)")
    print(render(summary))
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "summary": summary}, indent=2))
    print(f"(mean over all: {statistics.mean(r['llm_cold_p50'] for r in runs):.2f} ms LLM-shaped cold p50)")


if __name__ == "__main__":
    main()

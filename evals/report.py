"""What a run's reports say: the metrics and their definitions, the summary table, results.json data; CI gates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evals.results import RunResult
from rag import ConfigError
from rag.serialise import to_dict

# Summary metrics in the order reports show them, with the definition each report carries.
DEFINITIONS: dict[str, str] = {
    "hit@1": "share of questions whose top retrieved document is a gold source",
    "hit@5": "share of questions with a gold source among the first 5 distinct retrieved documents",
    "hit@10": "share of questions with a gold source among the first 10 distinct retrieved documents",
    "recall@5": "share of a question's gold sources among the first 5 documents, averaged",
    "recall@10": "share of a question's gold sources among the first 10 documents, averaged",
    "mrr@10": "mean of 1/rank of the first gold document (0 past rank 10)",
    "ndcg@10": "trec_eval ndcg_cut_10: graded gain / log2(rank+1), over the ideal ordering",
    "passage_hit@1": "share of questions whose top retrieved chunk contains a reference answer (DPR top-k)",
    "passage_hit@5": "share of questions with a reference answer inside one of the top 5 chunks",
    "passage_hit@10": "share of questions with a reference answer inside one of the top 10 chunks",
    "passage_mrr@10": "mean of 1/rank of the first chunk containing a reference answer (0 past 10)",
    "em": "exact match of the answer (citation markers removed) with a reference, SQuAD-normalised",
    "f1": "SQuAD token F1 between the answer and the best reference",
    "contained": "share of answers that contain a normalised reference answer as whole words",
    "citation_precision": "share of an answer's citations whose passage holds a reference or is from a gold "
                          "source, averaged over answered questions with citations",
    "citation_recall": "share of answer sentences with at least one correct citation, averaged",
    "abstained": "share of questions the assistant declined to answer",
    "unsupported_rate": "share of answer sentences that no passage they cite supports (the citation checker)",
    "uncited": "share of (non-abstaining) answers left without any valid citation",
    "abstain_precision": "share of abstentions that were on unanswerable questions",
    "abstain_recall": "share of unanswerable questions on which the assistant abstained",
    **{f"{stage}_{p}_ms": f"{p[1:]}th percentile of the {stage} time per question, milliseconds"
       for stage in ("embed", "retrieve", "answer", "total") for p in ("p50", "p95")},
}
ALIASES = {"mrr": "mrr@10", "ndcg": "ndcg@10", "passage_mrr": "passage_mrr@10", "recall": "recall@10",
           "p50": "total_p50_ms", "p95": "total_p95_ms"}


def metric_name(name: str) -> str:
    name = ALIASES.get(name.strip().lower(), name.strip().lower())
    if name not in DEFINITIONS:
        raise ConfigError(f"unknown metric {name!r}; metrics are: {', '.join(DEFINITIONS)}")
    return name


def parse_gates(items: Sequence[str]) -> dict[str, float]:
    """``["hit@5=0.9"]`` -> ``{"hit@5": 0.9}``; unknown metrics and bad numbers are errors."""
    gates: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            number = float(value) if sep else None
        except ValueError:
            number = None
        if number is None:
            raise ConfigError(f"gate {item!r}: write METRIC=NUMBER, e.g. hit@5=0.9")
        gates[metric_name(name)] = number
    return gates


def gate_failures(
    results: Sequence[RunResult], minimum: Mapping[str, float], maximum: Mapping[str, float] | None = None
) -> list[str]:
    """A line per metric below its ``minimum`` (or above its ``maximum``), per setting."""
    failures: list[str] = []
    for r in results:
        for bound, gates, bad in (("min", minimum, float.__lt__), ("max", maximum or {}, float.__gt__)):
            for name, limit in gates.items():
                value = r.metrics.get(name)
                if value is None:
                    failures.append(f"{name} is not measured on this set ({r.label}); cannot check --{bound}")
                elif bad(float(value), limit):
                    word = "below" if bound == "min" else "above"
                    failures.append(f"{name} = {value:.4f} is {word} {limit:g} ({r.label})")
    return failures


def fmt(value: float | None, name: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if name.endswith("_ms") else f"{value:.3f}"


def table_rows(results: Sequence[RunResult]) -> list[tuple[str, list[str]]]:
    """(metric, formatted value per setting) for every metric some setting measured."""
    return [
        (name, [fmt(r.metrics.get(name), name) for r in results])
        for name in DEFINITIONS
        if any(r.metrics.get(name) is not None for r in results)
    ]


def markdown(results: Sequence[RunResult], run_info: Mapping[str, Any]) -> str:
    first = results[0]
    lines = [
        f"# Eval: {first.set_name}",
        "",
        f"- set: `{first.spec}` — {first.counts['questions']} questions "
        f"({first.counts['unanswerable']} unanswerable); limit {run_info.get('limit')}, seed {run_info.get('seed')}",
        f"- ranking depth {run_info.get('depth')}; answers with top_k {first.settings.get('top_k')}",
        f"- corpus ingest: {first.ingest}",
        "",
        "| metric | " + " | ".join(r.label for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    lines += [f"| {name} | " + " | ".join(values) + " |" for name, values in table_rows(results)]
    lines += ["", "| setting | seconds |", "|---|---:|"]
    lines += [f"| {r.label} | {r.seconds:.1f} |" for r in results]
    lines += ["", "## Definitions", ""]
    lines += [f"- **{name}**: {text}" for name, text in DEFINITIONS.items() if any(
        r.metrics.get(name) is not None for r in results)]
    return "\n".join(lines) + "\n"


def to_json(results: Sequence[RunResult], run_info: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "run": dict(run_info),
        "definitions": DEFINITIONS,
        "results": [to_dict(r) for r in results],
    }

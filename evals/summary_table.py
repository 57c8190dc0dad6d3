"""One Markdown table from several written eval runs: a row per set and setting.

The README's accuracy table is made this way from the ``results.json`` of each run:

    python -m evals.summary_table evals/runs/2026*_xquad* evals/runs/2026*_covid* ...

Columns are the headline metrics; a metric a run did not measure shows as "–".
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.report import fmt

# (column title, metric names joined with " / " in one cell)
COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hit@1 / @5", ("hit@1", "hit@5")),
    ("MRR@10 / nDCG@10", ("mrr@10", "ndcg@10")),
    ("passage hit@5 / MRR", ("passage_hit@5", "passage_mrr@10")),
    ("EM / F1", ("em", "f1")),
    ("contained", ("contained",)),
    ("citation P / R", ("citation_precision", "citation_recall")),
    ("abstention P / R", ("abstain_precision", "abstain_recall")),
    ("p50 / p95 ms", ("total_p50_ms", "total_p95_ms")),
)


def cell(metrics: Mapping[str, Any], names: Sequence[str]) -> str:
    values = [metrics.get(n) for n in names]
    if all(v is None for v in values):
        return "–"
    if all(n.endswith("_ms") for n in names):
        return " / ".join("–" if v is None else f"{v:.0f}" for v in values)
    return " / ".join(fmt(v, n) for v, n in zip(values, names, strict=True))


def summary_table(results: Sequence[Mapping[str, Any]], *, bold: str = "") -> str:
    """Rows ``set | setting | columns...``; the setting labelled ``bold`` is set in bold."""
    head = "| set | setting | " + " | ".join(title for title, _ in COLUMNS) + " |"
    lines = [head, "|---|---|" + "---:|" * len(COLUMNS)]
    previous = None
    for r in results:
        name = f"{r['set_name']} ({r['counts']['questions']} q)" if r["set_name"] != previous else ""
        previous = r["set_name"]
        label = r["label"].split("=", 1)[-1]
        cells = [cell(r["metrics"], names) for _, names in COLUMNS]
        if bold and r["label"].endswith(bold):
            label, cells = f"**{label}**", [f"**{c}**" if c != "–" else c for c in cells]
        lines.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    from evals.runner import load_results

    parser = argparse.ArgumentParser(prog="python -m evals.summary_table", description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders (or their results.json)")
    parser.add_argument("--bold", default="", help="setting to set in bold, e.g. hybrid")
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] = []
    for run in args.runs:
        path = Path(run)
        results += load_results(path / "results.json" if path.is_dir() else path)
    print(summary_table(results, bold=args.bold), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

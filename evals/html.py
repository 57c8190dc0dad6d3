"""A self-contained HTML report: inline SVG plots (no scripts, no network) and the worst failures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from evals.report import DEFINITIONS, fmt, table_rows
from evals.results import Record, RunResult

COLOURS = ("#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6")
WORST = 10

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
.case{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:1em 0}
.passage{border-left:4px solid #ccc;padding:.2em .8em;margin:.4em 0;white-space:pre-wrap;font-size:13px}
.passage.gold{border-color:#109618}.bad{color:#b00}.ok{color:#080}.muted{color:#777;font-size:12px}
svg text{font:11px system-ui,sans-serif}
"""


def _legend(results: Sequence[RunResult]) -> str:
    return " ".join(
        f'<span style="color:{COLOURS[i % len(COLOURS)]}">&#9632;</span> {escape(r.label)}'
        for i, r in enumerate(results)
    )


def metric_bars(results: Sequence[RunResult]) -> str:
    """Horizontal bars, one group per 0..1 metric, one bar per setting."""
    names = [n for n in DEFINITIONS if not n.endswith("_ms") and any(r.metrics.get(n) is not None for r in results)]
    bar, gap, left, width = 11, 8, 130, 420
    group = bar * len(results) + gap
    height = group * len(names) + 20
    parts = [f'<svg width="{left + width + 60}" height="{height}" '
             f'role="img" aria-label="metrics per setting">']
    for x in (0, 0.25, 0.5, 0.75, 1):
        px = left + x * width
        parts.append(f'<line x1="{px:.0f}" y1="0" x2="{px:.0f}" y2="{height - 16}" stroke="#eee"/>'
                     f'<text x="{px:.0f}" y="{height - 4}" text-anchor="middle">{x:g}</text>')
    for g, name in enumerate(names):
        y0 = g * group
        parts.append(f'<text x="{left - 6}" y="{y0 + group / 2:.0f}" text-anchor="end">{escape(name)}</text>')
        for i, r in enumerate(results):
            value = r.metrics.get(name)
            w = (value or 0.0) * width
            y = y0 + i * bar
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" '
                         f'fill="{COLOURS[i % len(COLOURS)]}"><title>{escape(r.label)}: {fmt(value)}</title></rect>'
                         f'<text x="{left + w + 3:.1f}" y="{y + bar - 3}">{fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(counts: Sequence[int], labels: Sequence[str], colour: str, title: str) -> str:
    """Vertical bars of ``counts`` with a label under each (pure SVG text)."""
    width, height, base = max(240, 36 * len(counts)), 130, 100
    step = width / max(len(counts), 1)
    top = max(counts, default=0) or 1
    parts = [f'<svg width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}"><text x="0" y="11">{escape(title)}</text>']
    for i, (count, label) in enumerate(zip(counts, labels, strict=True)):
        h = 80 * count / top
        x = i * step
        parts.append(f'<rect x="{x + 2:.1f}" y="{base - h:.1f}" width="{step - 4:.1f}" height="{h:.1f}" '
                     f'fill="{colour}"><title>{escape(label)}: {count}</title></rect>')
        if count:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{base - h - 2:.1f}" text-anchor="middle">{count}</text>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{base + 13}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def latency_bins(times: Sequence[float], bins: int = 10, high: float | None = None) -> tuple[list[int], list[str]]:
    """Counts of ``times`` in equal bins from 0 to ``high`` (the last bin takes the rest)."""
    top = high if high is not None else max(times, default=1.0)
    size = max(top, 1e-9) / bins
    counts = [0] * bins
    for t in times:
        counts[min(int(t / size), bins - 1)] += 1
    return counts, [f"{size * (i + 1):.0f}" for i in range(bins)]


def rank_counts(records: Sequence[Record]) -> tuple[list[int], list[str]]:
    labels = [str(k) for k in range(1, 11)] + ["none"]
    counts = [0] * 11
    for r in records:
        if r.gold:
            counts[r.gold_rank - 1 if r.gold_rank is not None and r.gold_rank <= 10 else 10] += 1
    return counts, labels


def badness(r: Record) -> tuple[float, float, float]:
    """Sort key for the failure list: retrieval misses first, then wrong abstentions, then low F1."""
    missed = 1.0 if r.gold and (r.gold_rank is None or r.gold_rank > 5) else 0.0
    wrong_abstention = 1.0 if r.unanswerable != r.abstained else 0.0
    return (missed, wrong_abstention, 1.0 - (r.metrics.get("f1") or r.metrics.get("citation_precision") or 0.0))


def _case(r: Record) -> str:
    refs = ", ".join(escape(a) for a in r.references) or "<i>none</i>"
    gold = ", ".join(escape(g) for g in r.gold) or ("<i>unanswerable</i>" if r.unanswerable else "<i>none</i>")
    rank = "not retrieved" if r.gold and r.gold_rank is None else str(r.gold_rank or "–")
    cites = "".join(
        f'<li class="{"ok" if c["correct"] else "bad"}">[{c["n"]}] {escape(str(c["display"]))}: '
        f'&ldquo;{escape(str(c["sentence"]))}&rdquo;</li>' for c in r.citations
    )
    passages = "".join(
        f'<div class="passage{" gold" if h["gold"] else ""}"><span class="muted">#{h["rank"]} '
        f'{escape(str(h["display"]))} score {h["score"]}{" (gold)" if h["gold"] else ""}</span>\n'
        f'{escape(str(h.get("text", "")))}</div>'
        for h in r.hits if "text" in h
    )
    scores = ", ".join(f"{k} {fmt(v)}" for k, v in r.metrics.items() if v is not None)
    return (
        f'<div class="case"><b>{escape(r.question)}</b> <span class="muted">({escape(r.id)})</span><br>'
        f"reference: {refs}<br>gold: {gold} — gold rank: {rank}<br>"
        f"answer{' (abstained)' if r.abstained else ''}: {escape(r.answer)}"
        f"<ul>{cites}</ul><div class=\"muted\">{escape(scores)}</div>"
        f"<details><summary>retrieved passages</summary>{passages}</details></div>"
    )


def html_report(results: Sequence[RunResult], run_info: Mapping[str, Any]) -> str:
    first = results[0]
    head = "".join(f"<th>{escape(r.label)}</th>" for r in results)
    rows = "".join(
        f"<tr><td title=\"{escape(DEFINITIONS[name])}\">{escape(name)}</td>"
        + "".join(f'<td class="n">{v}</td>' for v in values) + "</tr>"
        for name, values in table_rows(results)
    )
    high = max((r.timings.get("total", 0.0) for res in results for r in res.records), default=1.0)
    latency = "".join(
        histogram(*latency_bins([x.timings.get("total", 0.0) for x in r.records], high=high),
                  COLOURS[i % len(COLOURS)], f"total ms per question (upper bin edges) — {r.label}")
        for i, r in enumerate(results)
    )
    ranks = "".join(
        histogram(*rank_counts(r.records), COLOURS[i % len(COLOURS)], f"rank of the gold source — {r.label}")
        for i, r in enumerate(results)
    )
    failures = "".join(
        f"<h3>{escape(r.label)}</h3>" + "".join(_case(x) for x in sorted(r.records, key=badness, reverse=True)[:WORST])
        for r in results
    )
    definitions = "".join(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in DEFINITIONS.items())
    info = escape(", ".join(f"{k}={v}" for k, v in run_info.items()))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Eval: {escape(first.set_name)}</title>
<style>{CSS}</style></head><body>
<h1>Eval: {escape(first.set_name)}</h1>
<p>{escape(first.spec)} — {first.counts['questions']} questions ({first.counts['unanswerable']} unanswerable).
<span class="muted">{info}</span></p>
<p class="muted">corpus: {escape(first.ingest)}</p>
<h2>Summary</h2><table><tr><th>metric</th>{head}</tr>{rows}</table>
<h2>Metrics per setting</h2><p>{_legend(results)}</p>{metric_bars(results)}
<h2>Latency</h2>{latency}
<h2>Rank of the gold source</h2>{ranks}
<h2>Worst failures</h2>{failures}
<h2>Definitions</h2><ul>{definitions}</ul>
</body></html>
"""

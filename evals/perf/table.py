"""Benchmark tables: medians, min and max over repeated runs, with targets and verdicts."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    """One row of the table: how to show it and what it should reach."""

    key: str
    label: str
    unit: str
    target: str = ""
    passes: Callable[[float], bool] | None = None


def summarize(metrics: Sequence[Metric], runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Median, min, max and verdict of each metric over the runs (pure)."""
    out: dict[str, dict[str, Any]] = {}
    for m in metrics:
        values = [float(r[m.key]) for r in runs]
        median = statistics.median(values)
        verdict = "" if m.passes is None else ("ok" if m.passes(median) else "MISS")
        out[m.key] = {
            "label": m.label, "unit": m.unit, "median": median, "min": min(values),
            "max": max(values), "target": m.target, "verdict": verdict,
        }
    return out


def fmt(value: float) -> str:
    """Integers as such, else three significant digits (no exponent below 1000)."""
    if value == int(value) and abs(value) >= 10:
        return f"{int(value)}"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def render(summary: dict[str, dict[str, Any]]) -> str:
    """A fixed-width table, one row per metric."""
    header = ("measurement", "unit", "median", "min", "max", "target", "verdict")
    rows = [header] + [
        (s["label"], s["unit"], fmt(s["median"]), fmt(s["min"]), fmt(s["max"]), s["target"], s["verdict"])
        for s in summary.values()
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(line.rstrip() for line in lines)

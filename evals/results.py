"""What a run produces: a record per question, a result per setting, the report of the whole run.

Plain values shared by ``evals.runner`` (which makes them) and ``evals.report`` /
``evals.html`` (which write them); they import this module and it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Record:
    """One question's outcome: the answer, what was retrieved and every metric for it."""

    id: str
    question: str
    references: tuple[str, ...]
    gold: dict[str, int]
    unanswerable: bool
    answer: str
    abstained: bool
    citations: tuple[dict[str, Any], ...]
    hits: tuple[dict[str, Any], ...]
    gold_rank: int | None
    passage_rank: int | None
    metrics: dict[str, float | None]
    timings: dict[str, float]


@dataclass(frozen=True)
class RunResult:
    """One setting's run over a set: the summary metrics and every record."""

    set_name: str
    spec: str
    label: str
    settings: dict[str, Any]
    metrics: dict[str, float | None]
    counts: dict[str, int]
    records: tuple[Record, ...]
    ingest: str
    seconds: float


@dataclass(frozen=True)
class EvalReport:
    """What ``run_eval`` returns: one result per setting, where the reports were written, and how it ran.

    ``run_info`` (the set, limit, seed, workers, ranking depth, compare) heads every report of the run.
    """

    results: tuple[RunResult, ...]
    out_dir: Path | None
    run_info: dict[str, Any]

    @property
    def metrics(self) -> dict[str, float | None]:
        """The first (or only) setting's summary metrics."""
        return self.results[0].metrics

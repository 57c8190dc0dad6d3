"""Evaluation sets, metrics, a runner over ``rag.Assistant`` and reports (docs/evals.md).

>>> from evals import run_eval
>>> run_eval("evals/sets/seed.jsonl").metrics["hit@5"]   # doctest: +SKIP
"""

from __future__ import annotations

from evals.datasets import DatasetError, EvalCase, EvalSet, load_set
from evals.runner import EvalReport, Record, RunResult, run_eval

__all__ = ["DatasetError", "EvalCase", "EvalReport", "EvalSet", "Record", "RunResult", "load_set", "run_eval"]

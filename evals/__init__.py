"""Evaluation sets, metrics, a runner over ``rag.Assistant`` and reports (docs/evals.md).

>>> from evals import run_eval
>>> run_eval("evals/sets/seed.jsonl").metrics["hit@5"]   # doctest: +SKIP
"""

from __future__ import annotations

from evals.cases import DatasetError, EvalCase, EvalSet
from evals.datasets import load_set
from evals.results import EvalReport, Record, RunResult
from evals.runner import run_eval

__all__ = ["DatasetError", "EvalCase", "EvalReport", "EvalSet", "Record", "RunResult", "load_set", "run_eval"]

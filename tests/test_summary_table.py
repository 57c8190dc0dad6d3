"""The table that joins several eval runs (pure formatting, and the command over a results.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.summary_table import main, summary_table


def _result(set_name: str, label: str, **metrics: float | None) -> dict[str, object]:
    return {"set_name": set_name, "label": label, "counts": {"questions": 10}, "metrics": metrics}


RESULTS = [
    _result("seed", "retrieval=dense", **{"hit@1": 0.9, "hit@5": 1.0, "total_p50_ms": 12.4, "total_p95_ms": 40.0}),
    _result("seed", "retrieval=hybrid", **{"hit@1": 1.0, "hit@5": 1.0, "abstain_precision": None}),
]


def test_one_row_per_set_and_setting_with_the_set_named_once() -> None:
    lines = summary_table(RESULTS, bold="hybrid").splitlines()
    assert lines[0].startswith("| set | setting | hit@1 / @5 |")
    assert lines[2].startswith("| seed (10 q) | dense | 0.900 / 1.000 |")
    assert lines[2].endswith("| 12 / 40 |")
    assert lines[3].startswith("|  | **hybrid** | **1.000 / 1.000** |")
    assert "| – |" in lines[3]  # not measured (or None) stays a dash, never bold


def test_command_reads_run_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"results": RESULTS}))
    assert main([str(tmp_path), "--bold", "hybrid"]) == 0
    assert capsys.readouterr().out == summary_table(RESULTS, bold="hybrid")

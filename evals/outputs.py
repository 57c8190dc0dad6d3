"""Where a run's reports go: a new folder per run holding results.json, summary.md and report.html."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.html import html_report
from evals.report import markdown, to_json
from evals.results import RunResult
from rag import Settings


def run_folder(out: Path, set_name: str, settings: Settings, compare: str | None, limit: int | None) -> Path:
    """A new folder under ``out`` named by the time, the set and the settings that matter."""
    defaults = Settings(index_dir=settings.index_dir)
    parts = [set_name]
    for key in ("retrieval", "top_k", "chunk_size", "chunk_overlap", "answer_sentences", "llm"):
        value = getattr(settings, key, None)
        if value is not None and ((key == "retrieval" and not compare) or value != getattr(defaults, key, None)):
            parts.append(f"{key}={value}")
    if compare:
        parts.append(f"compare-{compare}")
    if limit:
        parts.append(f"limit={limit}")
    slug = re.sub(r"[^A-Za-z0-9=.,_+-]+", "_", "_".join(parts))[:150]
    base = out / f"{time.strftime('%Y%m%d-%H%M%S')}_{slug}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    folder.mkdir(parents=True)
    return folder


def write_reports(folder: Path, results: Sequence[RunResult], run_info: Mapping[str, Any]) -> None:
    (folder / "results.json").write_text(
        json.dumps(to_json(results, run_info), indent=1, ensure_ascii=False), encoding="utf-8")
    (folder / "summary.md").write_text(markdown(results, run_info), encoding="utf-8")
    (folder / "report.html").write_text(html_report(results, run_info), encoding="utf-8")

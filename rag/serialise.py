"""One serialiser: the pipeline's values as JSON-ready data, for ``--json``, the web API and eval reports.

``rag ask --json`` and the UI's ``ask`` API print ``to_dict(answer)``; ``rag sources --json``,
``rag status --json`` and the UI's ``sources`` API ``to_dict`` of each record or status; the UI's
``ingest`` API ``to_dict(report)``; an eval run keeps ``citation_summary`` and ``hit_summary`` per
answer and writes ``to_dict`` of each result. docs/asking.md describes the answer's fields.

>>> from rag.serialise import to_dict
>>> sorted(to_dict(IngestReport(added=("a.md",))))[:3]
['added', 'chunks_written', 'failed']
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any

from index.models import Hit, IngestReport
from rag.models import Answer, Citation

__all__ = ["citation_summary", "hit_summary", "to_dict"]


def to_dict(value: object) -> dict[str, Any]:
    """``value`` as plain dicts, lists, tuples, strings and numbers (pure).

    An ``Answer`` keeps the field names of ``rag.Answer``, its ``timings`` rounded to 0.1 ms;
    each ``Citation`` also carries its ``sentence``, ``document_span`` and ``location``. An
    ``IngestReport`` gives the lists and counts of a report and its ``summary`` and ``ok``.
    Every other dataclass (``Hit``, ``SentenceSupport``, ``DocumentRecord``, ``IndexStatus``,
    ``CheckReport``, ``RepairReport``, an eval's ``RunResult``) gives its fields, recursively.
    """
    if isinstance(value, Answer):
        return _answer(value)
    if isinstance(value, Citation):
        return _citation(value)
    if isinstance(value, IngestReport):
        return _ingest_report(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"to_dict takes one of the pipeline's values (a dataclass), not {type(value).__name__}")


def _answer(answer: Answer) -> dict[str, Any]:
    data = asdict(answer)
    data["timings"] = {k: round(v, 1) for k, v in answer.timings.items()}
    data["citations"] = [_citation(c) for c in answer.citations]
    return data


def _citation(citation: Citation) -> dict[str, Any]:
    data = asdict(citation)
    data.update(sentence=citation.sentence, document_span=citation.document_span, location=citation.location)
    return data


def _ingest_report(report: IngestReport) -> dict[str, Any]:
    return {
        "added": list(report.added),
        "updated": list(report.updated),
        "unchanged": list(report.unchanged),
        # "file", not "path": gradio_client takes a dict with a "path" for a file to download
        "failed": [{"file": f.path, "reason": f.reason} for f in report.failed],
        "skipped": list(report.skipped),
        "chunks_written": report.chunks_written,
        "summary": report.summary(),
        "ok": report.ok,
    }


def citation_summary(citation: Citation) -> dict[str, Any]:
    """Where a citation points and what it quotes, without the chunk's text (an eval keeps one per citation)."""
    chunk = citation.chunk
    return {"n": citation.n, "display": chunk.display, "chunk_id": chunk.id, "page": chunk.page,
            "sentence": citation.sentence, "score": round(citation.score, 4)}


def hit_summary(hit: Hit) -> dict[str, Any]:
    """A retrieved chunk's rank, identity and scores, without its text (an eval keeps one per hit)."""
    chunk = hit.chunk
    return {"rank": hit.rank, "chunk_id": chunk.id, "display": chunk.display, "page": chunk.page,
            "score": round(hit.score, 5), "dense": hit.dense, "lexical": hit.lexical}

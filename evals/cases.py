"""What an eval set is made of: its cases, the set itself, and the error a set that cannot be read raises.

The plain values every reader of sets shares (``evals.datasets`` for the project's JSONL,
``evals.formats`` for SQuAD, BEIR and PubMedQA, ``evals.catalog`` for the built-in sets);
they import this module and it imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rag import RagError


class DatasetError(RagError):
    """An eval set cannot be read: the message names the file, the line and the fix."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None) -> None:
        where = f"{path}:{line}: " if path is not None and line is not None else f"{path}: " if path else ""
        super().__init__(where + message)
        self.path = None if path is None else str(path)
        self.line = line


@dataclass(frozen=True)
class EvalCase:
    """One question with what a correct result looks like.

    ``gold`` maps gold source names (as ``rag sources`` shows them) to a relevance grade
    (1 unless the set grades them, as BEIR qrels may). ``extractive`` says the reference
    answers are passages of the documents (so a retrieved chunk can contain them).
    """

    id: str
    question: str
    answers: tuple[str, ...] = ()
    gold: Mapping[str, int] = field(default_factory=dict)
    unanswerable: bool = False
    span: tuple[int, int] | None = None
    extractive: bool = True
    line: int | None = None


@dataclass(frozen=True)
class EvalSet:
    """The cases of a set and the corpus paths (absolute) to ingest before asking them."""

    name: str
    kind: str
    spec: str
    cases: tuple[EvalCase, ...]
    corpus: tuple[Path, ...]

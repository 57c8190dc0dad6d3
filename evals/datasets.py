"""Evaluation sets: the cases to ask, their reference answers and gold sources, and the corpus.

A set is named by a spec string:

- ``path/to/set.jsonl`` — the project's own format (below; docs/evals.md has the full schema);
- ``squad:FILE.json`` — SQuAD v1.1/v2.0 JSON; each paragraph's context becomes a document;
- ``beir:FOLDER`` — a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv);
- ``pubmedqa:FILE.json`` (or its folder) — PubMedQA's own JSON; each abstract is a document;
- a built-in name (``docs``, ``seed``, ``xquad-en``, ``covid-qa-dev``, ``pubmedqa``): ``evals.catalog``
  says where each comes from and where it lives in the data folder.

The JSONL format, one case per line (blank lines and lines starting with ``#`` are skipped)::

    {"id": "q1", "question": "Who ...?", "answers": ["Jane Roe"], "sources": ["notes/a.md"],
     "span": [120, 128], "corpus": "../my-docs"}
    {"question": "What is not in the documents?", "unanswerable": true}

``corpus`` (a file or folder, or a list of them; relative to the set file or absolute) is
required on the first case and inherited by later cases that omit it. ``sources`` are the
gold documents as ``rag sources`` shows them: the path relative to the corpus folder that
holds them, or the bare file name of a corpus that is a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals import catalog, formats
from evals.cases import DatasetError, EvalCase, EvalSet


def _norm(path: Path) -> Path:
    """Absolute, with ``..`` collapsed, without resolving symlinks (as the index stores paths)."""
    return Path(os.path.normpath(path.expanduser().absolute()))


def resolve_corpus(raw: str, base: Path, data_dir: str | Path | None = None) -> Path:
    """Where a corpus path written in a set points to.

    Relative paths are relative to ``base`` (the set file's folder). A path that goes
    through a folder named ``shared`` (``../../shared/corpus/x.txt``) is looked up under
    ``data_dir`` first when one is given (``RAG_DATA_DIR``, the data folder), so a set keeps
    working from any checkout location.
    """
    given = Path(raw).expanduser()
    candidates: list[Path] = []
    if data_dir and "shared" in given.parts:
        tail = given.parts[given.parts.index("shared") + 1 :]
        candidates.append(_norm(Path(data_dir).joinpath(*tail)))
    candidates.append(_norm(given if given.is_absolute() else base / given))
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return candidates[-1]


def _text_length(path: Path) -> int | None:
    if path.suffix.lower() not in {".txt", ".md"}:
        return None
    return len(path.read_text(encoding="utf-8", errors="replace"))


def source_exists(corpus: Sequence[Path], source: str) -> Path | None:
    """The file a gold source name refers to under one of the corpus paths, if any."""
    for root in corpus:
        if root.is_file() and root.name == source:
            return root
        if root.is_dir() and (root / source).is_file():
            return root / source
    return None


def _strings(value: Any, name: str, path: Path, line: int) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DatasetError(f'"{name}" must be a list of non-empty strings, got {value!r}', path=path, line=line)
    return tuple(v.strip() for v in value)


def _span(value: Any, path: Path, line: int) -> tuple[int, int] | None:
    if value is None:
        return None
    ok = isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)
    if not ok or not 0 <= value[0] < value[1]:
        raise DatasetError(f'"span" must be [start, end] with 0 <= start < end, got {value!r}', path=path, line=line)
    return (value[0], value[1])


_KNOWN_KEYS = {"id", "question", "answers", "sources", "unanswerable", "span", "corpus", "extractive", "tags"}


def _parse_case(
    record: dict[str, Any], corpus: tuple[Path, ...], path: Path, line: int
) -> EvalCase:
    unknown = set(record) - _KNOWN_KEYS
    if unknown:
        raise DatasetError(f"unknown field(s) {', '.join(sorted(unknown))}; see docs/evals.md", path=path, line=line)
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError('"question" is missing or empty', path=path, line=line)
    answers = _strings(record.get("answers", []), "answers", path, line)
    sources = _strings(record.get("sources", []), "sources", path, line)
    unanswerable = bool(record.get("unanswerable", False))
    if unanswerable and (answers or sources):
        raise DatasetError('an "unanswerable" case has no "answers" or "sources"', path=path, line=line)
    if not unanswerable and not (answers or sources):
        raise DatasetError('give "answers" or "sources" (or mark the case "unanswerable": true)',
                           path=path, line=line)
    span = _span(record.get("span"), path, line)
    for source in sources:
        found = source_exists(corpus, source)
        if found is None:
            where = ", ".join(str(c) for c in corpus)
            raise DatasetError(f"source {source!r} is not in the corpus ({where})", path=path, line=line)
        length = _text_length(found) if span else None
        if span and length is not None and span[1] > length:
            raise DatasetError(f"span {list(span)} is past the end of {source} ({length} characters)",
                               path=path, line=line)
    return EvalCase(
        id=str(record.get("id") or f"line{line}"),
        question=question.strip(),
        answers=answers,
        gold={s: 1 for s in sources},
        unanswerable=unanswerable,
        span=span,
        extractive=bool(record.get("extractive", True)),
        line=line,
    )


def load_jsonl(path: str | Path, *, data_dir: str | Path | None = None) -> EvalSet:
    """Read a set in the project's JSONL format; errors name the line."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError("no such eval set file (give a .jsonl path, squad:/beir:/pubmedqa:PATH, "
                           "or a built-in name: rag eval --list)", path=path)
    cases: list[EvalCase] = []
    corpus: tuple[Path, ...] = ()
    all_corpus: dict[Path, None] = {}
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"not valid JSON ({exc.msg}, column {exc.colno})", path=path, line=number) from None
        if not isinstance(record, dict):
            raise DatasetError("each line must be a JSON object", path=path, line=number)
        if "corpus" in record:
            raw = record["corpus"]
            listed = _strings(raw, "corpus", path, number)
            corpus = tuple(resolve_corpus(r, path.parent, data_dir) for r in listed)
            for given, resolved in zip(listed, corpus, strict=True):
                if not resolved.exists():
                    hint = " (set RAG_DATA_DIR to the data folder)" if "shared" in Path(given).parts else ""
                    raise DatasetError(f"corpus {given!r} not found: {resolved}{hint}", path=path, line=number)
            all_corpus.update(dict.fromkeys(corpus))
        elif not corpus:
            raise DatasetError('the first case must name its "corpus" (a file or folder)', path=path, line=number)
        cases.append(_parse_case(record, corpus, path, number))
    if not cases:
        raise DatasetError("the set has no cases", path=path)
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise DatasetError(f"duplicate case id(s): {', '.join(dupes)}", path=path)
    return EvalSet(path.stem, "jsonl", str(path), tuple(cases), tuple(all_corpus))


def load_set(spec: str | Path, *, cache_dir: str | Path, data_dir: str | Path | None = None) -> EvalSet:
    """Load the set a spec names; SQuAD, BEIR and PubMedQA documents are written under ``cache_dir``."""
    text = str(spec)
    if text in catalog.BUILTIN:
        if data_dir is None:
            from rag import Settings

            data_dir = Settings.from_env().data_dir
        text = catalog.spec_for(text, data_dir)
    kind, sep, rest = text.partition(":")
    if sep and kind in formats.LOADERS and len(kind) > 1:  # len > 1: not a Windows drive letter
        return formats.LOADERS[kind](Path(rest).expanduser(), Path(cache_dir))
    if text.endswith(".jsonl"):
        return load_jsonl(text, data_dir=data_dir)
    raise DatasetError(
        f"cannot tell the format of {text!r}: give a built-in set ({', '.join(catalog.BUILTIN)}), "
        "a .jsonl file, or prefix squad:, beir: or pubmedqa:"
    )

"""Public eval-set formats turned into cases plus a folder of documents (one .txt per document).

The documents are written under the run cache, once per version of the data file; an
unchanged file rewrites nothing, so the next run's ingest skips every document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from evals.cases import DatasetError, EvalCase, EvalSet


def safe_name(raw: str) -> str:
    """A file name for a document id: letters, digits, ``._-`` kept, the rest ``_`` (pure)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("._") or "doc"
    return name[:120]


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def write_documents(folder: Path, documents: Mapping[str, str]) -> Path:
    """Make ``folder`` hold exactly ``documents`` (name -> text), touching only what changed."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in documents.items():
        target = folder / name
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    for stale in folder.glob("*.txt"):
        if stale.name not in documents:
            stale.unlink()
    return folder


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise DatasetError("no such file", path=path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"not valid JSON ({exc.msg}, line {exc.lineno})", path=path, line=exc.lineno) from None


def _squad_span(context: str, answer: Mapping[str, Any]) -> tuple[int, int] | None:
    text = str(answer.get("text", ""))
    start = answer.get("answer_start")
    if not isinstance(start, int) or context[start : start + len(text)] != text:
        start = context.find(text)  # some sets' offsets are a few characters off
    return (start, start + len(text)) if text and start >= 0 else None


def load_squad(path: Path, cache: Path) -> EvalSet:
    """SQuAD v1.1/v2.0 JSON: each paragraph is a document named ``TITLE-NNN.txt``."""
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DatasetError('not SQuAD JSON: expected {"data": [{"paragraphs": [...]}]}', path=path)
    documents: dict[str, str] = {}
    cases: list[EvalCase] = []
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate(article.get("paragraphs", [])):
            title = article.get("title") or paragraph.get("document_id") or f"article{a}"
            name = f"{safe_name(str(title))}-{p:03d}.txt"
            if name in documents:
                name = f"{safe_name(str(title))}-{a:04d}-{p:03d}.txt"
            context = str(paragraph["context"])
            documents[name] = context
            for qa in paragraph.get("qas", []):
                impossible = bool(qa.get("is_impossible", False))
                answers = tuple(dict.fromkeys(str(x["text"]) for x in qa.get("answers", []) if x.get("text")))
                spans = [_squad_span(context, x) for x in qa.get("answers", [])]
                cases.append(EvalCase(
                    id=str(qa.get("id", f"{name}:{len(cases)}")),
                    question=str(qa["question"]),
                    answers=() if impossible else answers,
                    gold={} if impossible else {name: 1},
                    unanswerable=impossible,
                    span=next((s for s in spans if s), None),
                ))
    folder = write_documents(cache / "corpora" / f"squad-{safe_name(path.stem)}-{_digest(path)}", documents)
    return EvalSet(path.stem, "squad", f"squad:{path}", tuple(cases), (folder,))


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise DatasetError("no such file (a BEIR folder holds corpus.jsonl, queries.jsonl, qrels/)", path=path)
    with path.open(encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"not valid JSON ({exc.msg})", path=path, line=number) from None
            if not isinstance(record, dict) or "_id" not in record:
                raise DatasetError('each line must be an object with an "_id"', path=path, line=number)
            yield number, record


def _qrels_file(path: Path) -> tuple[Path, Path]:
    """(BEIR folder, qrels file): a folder means its qrels/test.tsv (else dev, else train)."""
    if path.is_file():
        return path.parent.parent, path
    for split in ("test", "dev", "train"):
        if (path / "qrels" / f"{split}.tsv").is_file():
            return path, path / "qrels" / f"{split}.tsv"
    raise DatasetError("no qrels/test.tsv, qrels/dev.tsv or qrels/train.tsv in the BEIR folder", path=path)


def load_beir(path: Path, cache: Path) -> EvalSet:
    """A BEIR folder: corpus.jsonl documents, queries.jsonl questions, graded qrels (no answers)."""
    root, qrels_path = _qrels_file(path)
    documents: dict[str, str] = {}
    names: dict[str, str] = {}
    for number, doc in _jsonl(root / "corpus.jsonl"):
        name = f"{safe_name(str(doc['_id']))}.txt"
        if name in documents:
            raise DatasetError(f"document id {doc['_id']!r} repeats (or clashes as file name {name})",
                               path=root / "corpus.jsonl", line=number)
        title, body = str(doc.get("title") or "").strip(), str(doc.get("text") or "")
        documents[name] = f"{title}\n\n{body}" if title else body
        names[str(doc["_id"])] = name
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(qrels_path.read_text(encoding="utf-8").splitlines(), start=1):
        cols = line.split("\t")
        if not line.strip() or (number == 1 and not cols[-1].strip().lstrip("-").isdigit()):
            continue  # the header row
        if len(cols) != 3:
            raise DatasetError("expected query-id<TAB>corpus-id<TAB>score", path=qrels_path, line=number)
        if cols[1] not in names:
            raise DatasetError(f"corpus id {cols[1]!r} is not in corpus.jsonl", path=qrels_path, line=number)
        if int(cols[2]) > 0:
            qrels.setdefault(cols[0], {})[names[cols[1]]] = int(cols[2])
    cases = [
        EvalCase(id=str(q["_id"]), question=str(q.get("text", "")), gold=qrels[str(q["_id"])], line=number)
        for number, q in _jsonl(root / "queries.jsonl")
        if str(q["_id"]) in qrels
    ]
    folder = write_documents(cache / "corpora" / f"beir-{safe_name(root.name)}-{_digest(root / 'corpus.jsonl')}",
                             documents)
    return EvalSet(root.name, "beir", f"beir:{path}", tuple(cases), (folder,))


def load_pubmedqa(path: Path, cache: Path) -> EvalSet:
    """PubMedQA JSON (PMID -> QUESTION, CONTEXTS, LONG_ANSWER, final_decision).

    Each abstract (its CONTEXTS, joined) is a document ``PMID.txt`` and the gold source of its
    question. The reference answer is LONG_ANSWER, the abstract's conclusion, which PubMedQA
    leaves out of the contexts: so it is not ``extractive`` and answer-passage metrics do not
    apply; F1 against it says how close an answer comes to the authors' conclusion.
    """
    if path.is_dir():
        path = path / "ori_pqal.json"
    data = _read_json(path)
    if not isinstance(data, dict):
        raise DatasetError("not PubMedQA JSON: expected {PMID: {QUESTION, CONTEXTS, ...}}", path=path)
    documents: dict[str, str] = {}
    cases: list[EvalCase] = []
    for pmid, item in data.items():
        if not isinstance(item, dict) or "QUESTION" not in item or "CONTEXTS" not in item:
            raise DatasetError(f"entry {pmid} lacks QUESTION or CONTEXTS", path=path)
        name = f"{safe_name(str(pmid))}.txt"
        documents[name] = "\n\n".join(str(c) for c in item["CONTEXTS"])
        long_answer = str(item.get("LONG_ANSWER") or "").strip()
        cases.append(EvalCase(
            id=str(pmid), question=str(item["QUESTION"]), answers=(long_answer,) if long_answer else (),
            gold={name: 1}, extractive=False,
        ))
    folder = write_documents(cache / "corpora" / f"pubmedqa-{safe_name(path.stem)}-{_digest(path)}", documents)
    return EvalSet(path.stem, "pubmedqa", f"pubmedqa:{path}", tuple(cases), (folder,))


LOADERS: dict[str, Callable[[Path, Path], EvalSet]] = {
    "squad": load_squad,
    "beir": load_beir,
    "pubmedqa": load_pubmedqa,
}

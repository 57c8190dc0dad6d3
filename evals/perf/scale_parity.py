"""Do the candidate lexical engines rank like today's bm25s index? Top-10 overlap, hit@5 and MRR.

Two small corpora, tokenized with ``index.text_terms.index_tokens`` for every engine:

- the repository's docs (``README.md`` and ``docs/*.md``) split into paragraphs, queried
  with the docs eval set's questions and a few hundred of the paragraphs' own sentences;
- the xquad-en paragraphs from the shared folder (read at run time), queried with their
  questions; hit@5 and MRR@10 count the question's own paragraph.

For every engine: mean overlap of its top 10 with bm25s's top 10 (``overlap@10``), the
share of queries whose top 10 is identical as a set, and for xquad hit@5 and MRR@10.

    .venv/bin/python -m evals.perf.scale_parity                 # needs $RAG_SHARED_DIR for xquad
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.perf.bench_ingest import REPO, XQUAD, shared_dir
from evals.perf.scale_engines import open_engine
from index.sentences import split_sentences
from index.text_terms import index_tokens

CANDIDATES = ("fts5", "fts5-raw", "tantivy")


@dataclass(frozen=True)
class Corpus:
    name: str
    passages: tuple[tuple[str, str], ...]  # (passage id, text)
    queries: tuple[tuple[str, str | None], ...]  # (question, id of the passage that answers it, or None)


def docs_corpus(limit: int) -> Corpus:
    """Paragraphs of the repo's docs; the docs set's questions and up to ``limit`` sentences."""
    files = sorted([REPO / "README.md", *REPO.glob("docs/*.md")])
    paragraphs = []
    for path in files:
        for i, block in enumerate(re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))):
            if len(block.split()) >= 8:
                paragraphs.append((f"{path.name}#{i}", block))
    questions = [json.loads(line)["question"] for line in (REPO / "evals/sets/docs.jsonl").read_text().splitlines()]
    sentences = [text[s:e] for _, text in paragraphs for s, e in split_sentences(text)]
    step = max(1, len(sentences) // limit)
    picked = [s for s in sentences[::step] if len(s.split()) >= 4][:limit]
    return Corpus("docs", tuple(paragraphs), tuple((q, None) for q in [*questions, *picked]))


def xquad_corpus(path: Path) -> Corpus | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs = [p for article in data["data"] for p in article["paragraphs"]]
    passages = tuple((f"p{i}", p["context"]) for i, p in enumerate(paragraphs))
    queries = tuple((qa["question"], f"p{i}") for i, p in enumerate(paragraphs) for qa in p["qas"])
    return Corpus("xquad-en", passages, queries)


def build(engine: str, corpus: Corpus, folder: Path) -> Any:
    index = open_engine(engine, folder / engine)
    tokens = index_tokens([text for _, text in corpus.passages])
    # one document per passage: their order is the same for every engine
    index.build((pid, "v1", [(pid, t)]) for (pid, _), t in zip(corpus.passages, tokens, strict=True))
    return index


def compare(corpus: Corpus, engines: Sequence[str]) -> list[dict[str, Any]]:
    """One row per engine (bm25s first): overlap@10 with bm25s, identical top-10 share, hit@5, MRR@10."""
    query_tokens = index_tokens([q for q, _ in corpus.queries])
    with tempfile.TemporaryDirectory(prefix="scale-parity-") as tmp:
        results: dict[str, list[list[str]]] = {}
        for engine in ("json", *engines):
            index = build(engine, corpus, Path(tmp))
            results[engine] = [[cid for cid, _ in index.search(t, 10)] if t else [] for t in query_tokens]
            index.close()
    rows = []
    base = results["json"]
    for engine, ranked in results.items():
        overlap = [len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(ranked, base, strict=True) if b]
        same = [set(a) == set(b) for a, b in zip(ranked, base, strict=True) if b]
        row: dict[str, Any] = {
            "corpus": corpus.name, "engine": engine, "queries": len(overlap),
            "overlap_at_10": sum(overlap) / len(overlap), "same_top10": sum(same) / len(same),
        }
        gold = [(r, g) for r, (_, g) in zip(ranked, corpus.queries, strict=True) if g is not None]
        if gold:
            row["hit_at_5"] = sum(g in r[:5] for r, g in gold) / len(gold)
            row["mrr_at_10"] = sum(1 / (r.index(g) + 1) for r, g in gold if g in r) / len(gold)
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", help="the shared folder (default: $RAG_SHARED_DIR, else ../shared)")
    parser.add_argument("--engines", default=",".join(CANDIDATES))
    parser.add_argument("--sentences", type=int, default=300, help="docs sentences used as queries (300)")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e and e != "json"]
    corpora = [docs_corpus(args.sentences)]
    xquad = xquad_corpus(shared_dir(args.shared) / XQUAD)
    if xquad is None:
        print("xquad-en not found: give --shared or RAG_SHARED_DIR; comparing on the docs only")
    else:
        corpora.append(xquad)
    print(f"{'corpus':9} {'engine':9} {'queries':>7} {'overlap@10':>10} {'same top10':>10} {'hit@5':>6} {'MRR@10':>6}")
    for corpus in corpora:
        for row in compare(corpus, engines):
            hit = f"{row['hit_at_5']:.4f}" if "hit_at_5" in row else "-"
            mrr = f"{row['mrr_at_10']:.4f}" if "mrr_at_10" in row else "-"
            print(f"{row['corpus']:9} {row['engine']:9} {row['queries']:7d} {row['overlap_at_10']:10.4f} "
                  f"{row['same_top10']:10.4f} {hit:>6} {mrr:>6}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

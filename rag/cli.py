"""The ``rag`` command: ingest, ask, sources, delete, status, reset.

Errors from the project become one clear line on stderr and a non-zero exit:
2 for a wrong setting or usage, 1 when some files failed or an operation failed,
130 when interrupted (the index stays consistent; run the command again).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from index.errors import ConfigError, IndexMismatchError, RagError
from rag.assistant import Assistant
from rag.chat_cli import (
    LLM_COMMANDS,
    LLM_KEYS,
    add_chat_arguments,
    add_llm_arguments,
    checks_to_dict,
    print_checks,
    print_sources,
    run_chat,
    stream_to,
)
from rag.config import Settings
from rag.models import Answer


def _common(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("index")
    g.add_argument("--index", dest="index_dir", metavar="DIR", help="index folder (RAG_INDEX_DIR)")
    g.add_argument("--chroma-url", metavar="URL", help="use a Chroma server instead (RAG_CHROMA_URL)")
    g.add_argument("--collection", metavar="NAME", help="knowledge base name (RAG_COLLECTION)")
    g.add_argument("--model", dest="embed_model", metavar="NAME_OR_PATH", help="embedding model (RAG_EMBED_MODEL)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Ask questions of your documents, with citations.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="add, update (and with --sync remove) documents")
    p.add_argument("paths", nargs="+", help="files or folders (recursive)")
    p.add_argument("--include", action="append", default=[], metavar="GLOB", help="only matching files")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="skip matching files")
    p.add_argument("--sync", action="store_true", help="remove documents whose files are gone")
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="tag the ingested documents")
    p.add_argument("--chunk-size", type=int, metavar="TOKENS", help="RAG_CHUNK_SIZE (default 224)")
    p.add_argument("--chunk-overlap", type=int, metavar="TOKENS", help="RAG_CHUNK_OVERLAP (default 64)")
    p.add_argument("--max-file-mb", type=float, metavar="MB", help="skip bigger files (RAG_MAX_FILE_MB, 50)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _common(p)

    p = sub.add_parser("ask", help="answer a question from the indexed documents")
    p.add_argument("question")
    p.add_argument("--top-k", type=int, metavar="N", help="passages to retrieve (RAG_TOP_K, 5)")
    p.add_argument("--sources", metavar="GLOB", help="only search documents whose path matches")
    p.add_argument("--retrieval", choices=["dense", "bm25", "hybrid"], help="RAG_RETRIEVAL (default hybrid)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--stream", action="store_true", help="print the answer as it is generated")
    add_llm_arguments(p)
    _common(p)

    p = sub.add_parser("chat", help="a terminal chat about the documents, with follow-up questions")
    add_chat_arguments(p)
    _common(p)

    p = sub.add_parser("sources", help="list indexed documents")
    p.add_argument("--json", action="store_true")
    _common(p)

    p = sub.add_parser("delete", help="remove documents (or everything under a folder) from the index")
    p.add_argument("paths", nargs="+")
    _common(p)

    p = sub.add_parser("status", help="index location, model, counts, size")
    p.add_argument("--json", action="store_true")
    _common(p)

    p = sub.add_parser("reset", help="delete the whole knowledge base")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _common(p)

    p = sub.add_parser("ui", help="open the chat web UI (Gradio) on http://127.0.0.1:7860")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--auth", metavar="USER:PASSWORD|FILE", help="require a login (a file holds user:password lines)")
    p.add_argument("--sample", action="append", metavar="PATH", help="corpus to ingest when the index is empty "
                   "(default: the project's README.md and docs/)")
    p.add_argument("--uploads", metavar="DIR", help="where uploaded files are kept (default: INDEX-uploads)")
    p.add_argument("--max-upload-mb", type=float, metavar="MB", help="upload size limit (default: RAG_MAX_FILE_MB)")
    _common(p)

    p = sub.add_parser("eval", help="run an eval set: retrieval, answer and citation accuracy (docs/evals.md)")
    p.add_argument("eval_set", metavar="SET", nargs="?",
                   help="a built-in set (rag eval --list), a .jsonl set, or squad:FILE, beir:FOLDER, pubmedqa:FILE")
    p.add_argument("--list", action="store_true", help="list the built-in sets: source, licence, size, present")
    p.add_argument("--data-dir", metavar="DIR", help="the data folder (RAG_DATA_DIR, default ../shared)")
    p.add_argument("--limit", type=int, metavar="N", help="ask N questions drawn at random (with --seed)")
    p.add_argument("--seed", type=int, default=0, help="seed of the --limit sample (default 0)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="threads sharing one assistant (default 1)")
    p.add_argument("--out", default="evals/runs", metavar="DIR", help="where runs are written (default evals/runs)")
    p.add_argument("--cache", metavar="DIR", help="eval indexes and generated corpora (default OUT/cache)")
    p.add_argument("--compare", metavar="SETTING=V1,V2", help="run once per value, e.g. retrieval=dense,bm25,hybrid")
    p.add_argument("--min", action="append", metavar="METRIC=VALUE", help="fail (exit 3) below, e.g. hit@5=0.9")
    p.add_argument("--max", action="append", metavar="METRIC=VALUE", help="fail (exit 3) above, e.g. p95=500")
    p.add_argument("--retrieval", metavar="MODE", help="dense, bm25 or hybrid (RAG_RETRIEVAL)")
    p.add_argument("--top-k", type=int, metavar="N", help="passages to answer from (RAG_TOP_K, 5)")
    p.add_argument("--chunk-size", type=int, metavar="TOKENS", help="RAG_CHUNK_SIZE (default 224)")
    p.add_argument("--chunk-overlap", type=int, metavar="TOKENS", help="RAG_CHUNK_OVERLAP (default 64)")
    p.add_argument("--model", dest="embed_model", metavar="NAME_OR_PATH", help="embedding model (RAG_EMBED_MODEL)")
    p.add_argument("--set", action="append", metavar="SETTING=VALUE", help="any other setting, e.g. llm=ollama:x")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = sub.add_parser("data", help="the eval data folder: list the built-in sets, fetch the public ones")
    p.add_argument("action", choices=["list", "fetch"])
    p.add_argument("names", nargs="*", metavar="NAME", help="sets to fetch (rag eval --list names them)")
    p.add_argument("--data-dir", metavar="DIR", help="the data folder (RAG_DATA_DIR, default ../shared)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="per download (default 60)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    keys = (
        "index_dir", "chroma_url", "collection", "embed_model",
        "chunk_size", "chunk_overlap", "max_file_mb", "top_k", "retrieval", "data_dir", *LLM_KEYS,
    )
    values = {k: getattr(args, k, None) for k in keys}
    if args.command not in LLM_COMMANDS:
        values["llm"] = "extractive"  # `rag ingest` never loads a language model
    return Settings.from_env(**values)


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "citations": [
            {
                "n": c.n, "source": c.chunk.source, "display": c.chunk.display, "page": c.chunk.page,
                "chunk_id": c.chunk.id, "sentence": c.sentence, "span_in_document": list(c.document_span),
                "score": c.score,
            }
            for c in answer.citations
        ],
        "hits": [
            {
                "rank": h.rank, "score": round(h.score, 4), "display": h.chunk.display,
                "page": h.chunk.page, "chunk_id": h.chunk.id,
            }
            for h in answer.hits
        ],
        "timings_ms": {k: round(v, 1) for k, v in answer.timings.items()},
        **checks_to_dict(answer),
    }


def print_answer(answer: Answer) -> None:
    print(answer.text)
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            print(f"  [{c.n}] {c.location}  (score {c.score:.2f})")
            print(f"      \u201c{' '.join(c.sentence.split())}\u201d")
    print_checks(answer)


def _cmd_ingest(a: Assistant, args: argparse.Namespace) -> int:
    bar: Any = None
    progress = None
    if not args.quiet:
        from tqdm import tqdm

        def progress(done: int, total: int, name: str) -> None:
            nonlocal bar
            if bar is None:
                # miniters=1: redraw at most every 0.1 s but never skip a file (tqdm may otherwise wait
                # for dozens of fast files and show nothing through a long embedding batch)
                bar = tqdm(total=total, unit="file", desc="ingest", file=sys.stderr, leave=False, miniters=1)
            bar.set_postfix_str(name[-40:], refresh=False)
            bar.update(1)

    try:
        report = a.ingest(args.paths, include=args.include, exclude=args.exclude, sync=args.sync,
                          tags=args.tag, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    for path in report.skipped:
        print(f"skipped (unsupported type): {path}")
    for path in report.recovered:
        print(f"recovered (an earlier run was interrupted; re-ingest if it is not below): {path}")
    for note in report.notes:
        print(f"note: {note}")
    for failure in report.failed:
        print(f"failed: {failure.path}: {failure.reason}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1


def _cmd_sources(a: Assistant, args: argparse.Namespace) -> int:
    records = a.sources()
    if args.json:
        print(json.dumps([asdict(r) for r in records], indent=2))
        return 0
    if not records:
        print("no documents indexed yet: rag ingest PATH")
        return 0
    width = max(len(r.display) for r in records)
    print(f"{'file'.ljust(width)}  chunks  pages  ingested")
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.ingested_at))
        print(f"{r.display.ljust(width)}  {r.chunks:>6}  {r.pages or '-':>5}  {when}")
    print(f"{len(records)} documents")
    return 0


def _cmd_status(a: Assistant, args: argparse.Namespace) -> int:
    st = a.status()
    if args.json:
        print(json.dumps(asdict(st), indent=2))
        return 0
    size = f"{st.size_bytes / 1e6:.1f} MB" if st.size_bytes is not None else "(server)"
    print(f"index:      {st.location} (collection {st.collection})")
    print(f"model:      {st.model} ({st.dimension or '?'}-d)")
    print(f"chunking:   {st.chunk_size} tokens, {st.chunk_overlap} overlap")
    print(f"documents:  {st.documents}  chunks: {st.chunks}  pages: {st.pages}")
    print(f"size:       {size}")
    if not st.exists:
        print("(empty: run `rag ingest PATH` first)")
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    if args.command in ("eval", "data"):
        from evals.cli import run_data, run_from_args  # lazy: rag never imports evals at module level

        return (run_from_args if args.command == "eval" else run_data)(args, _settings(args))
    assistant = Assistant.open(settings=_settings(args))
    if args.command == "ui":
        from pathlib import Path

        from ui.app import run_ui  # lazy: only `rag ui` pays for Gradio

        sample = [Path(p) for p in args.sample] if args.sample else None
        return run_ui(assistant, host=args.host, port=args.port, auth=args.auth, sample=sample,
                      uploads_dir=args.uploads, max_upload_mb=args.max_upload_mb, started=started)
    if args.command == "ingest":
        return _cmd_ingest(assistant, args)
    if args.command == "chat":
        return run_chat(assistant, stream=args.stream, top_k=args.top_k, sources=args.sources)
    if args.command == "ask" and args.stream and not args.json:
        answer = stream_to(assistant.stream(args.question, top_k=args.top_k, sources=args.sources), sys.stdout)
        print_sources(answer, sys.stdout)
        return 0
    if args.command == "ask":
        answer = assistant.ask(args.question, top_k=args.top_k, sources=args.sources)
        if args.json:
            print(json.dumps(answer_to_dict(answer), indent=2, ensure_ascii=False))
        else:
            print_answer(answer)
        return 0
    if args.command == "sources":
        return _cmd_sources(assistant, args)
    if args.command == "delete":
        for source in assistant.delete(args.paths):
            print(f"deleted: {source}")
        return 0
    if args.command == "status":
        return _cmd_status(assistant, args)
    if args.command == "reset":
        if not args.yes and input(f"Delete everything in {assistant.store.location}? [y/N] ").lower() != "y":
            print("nothing deleted")
            return 1
        assistant.reset()
        print(f"reset: {assistant.store.location} (collection {assistant.store.name}) is empty")
        return 0
    raise AssertionError(args.command)


def main(argv: Sequence[str] | None = None) -> None:
    try:
        code = run(argv)
    except KeyboardInterrupt:
        print("\ninterrupted: the index stays consistent; run the same command again to finish.", file=sys.stderr)
        code = 130
    except (ConfigError, IndexMismatchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()

"""The ``rag`` command: ingest, ask, sources, delete, status, check, repair, reset.

Errors from the project become one clear line on stderr and a non-zero exit:
2 for a wrong setting or usage, 1 when some files failed or an operation failed,
130 when interrupted (the index stays consistent; run the command again).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index.errors import ConfigError, IndexMismatchError, RagError
from index.locking import busy_error, writer_active
from index.names import printable, printable_id
from rag.assistant import Assistant
from rag.chat_cli import (
    LLM_COMMANDS,
    LLM_KEYS,
    add_chat_arguments,
    add_llm_arguments,
    print_sources,
    run_chat,
    stream_to,
)
from rag.config import EMBED_BACKENDS, Settings
from rag.models import Answer
from rag.retrieval import RETRIEVAL_MODES
from rag.serialise import to_dict

# our loggers: shown on stderr as plain lines (warnings by default, everything with -v)
_OUR_LOGGERS = ("index", "rag", "evals", "ui")


def _common(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("index")
    g.add_argument("--index", dest="index_dir", metavar="DIR", help="index folder (RAG_INDEX_DIR)")
    g.add_argument("--chroma-url", metavar="URL", help="use a Chroma server instead (RAG_CHROMA_URL)")
    g.add_argument("--collection", metavar="NAME", help="knowledge base name (RAG_COLLECTION)")
    g.add_argument("--model", dest="embed_model", metavar="NAME_OR_PATH", help="embedding model (RAG_EMBED_MODEL)")
    g.add_argument("--embed-backend", choices=EMBED_BACKENDS,
                   help=f"run the embedding model on {', '.join(EMBED_BACKENDS)} "
                   f"(RAG_EMBED_BACKEND, default {Settings.embed_backend})")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show more: timings, the model files loaded, third-party warnings and progress bars")


def build_parser(*, with_evals: bool = True) -> argparse.ArgumentParser:
    """The parser of every command; without ``with_evals`` the flags of ``eval`` and ``data`` are left out."""
    parser = argparse.ArgumentParser(prog="rag", description="Ask questions of your documents, with citations.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="add, update (and with --sync remove) documents")
    p.add_argument("paths", nargs="+", help="files or folders (recursive)")
    p.add_argument("--include", action="append", default=[], metavar="GLOB", help="only matching files")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="skip matching files")
    p.add_argument("--sync", action="store_true", help="remove documents whose files are gone")
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="tag the ingested documents")
    p.add_argument("--chunk-size", type=int, metavar="TOKENS", help=f"RAG_CHUNK_SIZE (default {Settings.chunk_size})")
    p.add_argument("--chunk-overlap", type=int, metavar="TOKENS",
                   help=f"RAG_CHUNK_OVERLAP (default {Settings.chunk_overlap})")
    p.add_argument("--max-file-mb", type=float, metavar="MB",
                   help=f"skip bigger files (RAG_MAX_FILE_MB, {Settings.max_file_mb:g})")
    p.add_argument("--file-timeout", type=float, metavar="SECONDS",
                   help=f"give up reading a file after this long (RAG_FILE_TIMEOUT, {Settings.file_timeout:g}; "
                   "0: no limit)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _common(p)

    p = sub.add_parser("ask", help="answer a question from the indexed documents")
    p.add_argument("question")
    p.add_argument("--top-k", type=int, metavar="N", help=f"passages to retrieve (RAG_TOP_K, {Settings.top_k})")
    p.add_argument("--sources", metavar="GLOB", help="only search documents whose path matches")
    p.add_argument("--retrieval", choices=RETRIEVAL_MODES, help=f"RAG_RETRIEVAL (default {Settings.retrieval})")
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

    p = sub.add_parser("check", help="verify the index: every vector readable and found, lexical index in step")
    p.add_argument("--sample", type=int, default=200, metavar="N",
                   help="chunks to find by their own text (default 200; all when there are fewer)")
    _common(p)

    p = sub.add_parser("repair", help="rebuild what `rag check` found damaged, from what is intact")
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
    p.add_argument("--uploads", metavar="DIR", help="where uploaded files are kept (default: INDEX/uploads)")
    p.add_argument("--max-upload-mb", type=float, metavar="MB", help="upload size limit (default: RAG_MAX_FILE_MB)")
    _common(p)

    # `rag eval` and `rag data` declare their flags in evals.cli, beside the code that reads them;
    # it is imported only to run (or show the help of) one of them, so `rag ask` never loads evals
    p = sub.add_parser("eval", help="run an eval set: retrieval, answer and citation accuracy (docs/evals.md)")
    q = sub.add_parser("data", help="the eval data folder: list the built-in sets, fetch the public ones")
    if with_evals:
        from evals.cli import add_data_arguments, add_eval_arguments

        add_eval_arguments(p)
        add_data_arguments(q)
    return parser


# setting name -> its flag, where the flag is not the name with dashes (``top_k`` -> ``--top-k``)
_FLAG_NAMES = {
    "index_dir": "--index", "embed_model": "--model", "llm_api_key": "--llm-key",
    "llm_temperature": "--temperature", "llm_max_tokens": "--max-tokens",
}


def flag_name(setting: str) -> str:
    """The command-line flag that sets ``setting`` (pure)."""
    return _FLAG_NAMES.get(setting, "--" + setting.replace("_", "-"))


def _settings(args: argparse.Namespace) -> Settings:
    keys = (
        "index_dir", "chroma_url", "collection", "embed_model", "embed_backend",
        "chunk_size", "chunk_overlap", "max_file_mb", "file_timeout", "top_k", "retrieval", "data_dir", *LLM_KEYS,
    )
    values = {k: getattr(args, k, None) for k in keys}
    flags = {k: flag_name(k) for k, v in values.items() if v is not None}
    if args.command not in LLM_COMMANDS:
        values["llm"] = "extractive"  # `rag ingest` never loads a language model
    return Settings.from_env(flags=flags, **values)


# commands that only read an index: they never create one, and (but for delete and reset) need documents
_WRITERS = frozenset({"ingest", "delete", "reset", "repair"})
_READERS = frozenset({"ask", "chat", "sources", "delete", "reset", "check", "repair"})


def _require_documents(assistant: Assistant) -> None:
    if assistant.sources():
        return
    where = assistant.location
    url = assistant.settings.chroma_url
    how = f"rag ingest FOLDER --chroma-url {url}" if url else f"rag ingest FOLDER --index {where}"
    raise ConfigError(
        f"the index at {where} (collection {assistant.collection}) holds no documents; add some with `{how}`"
    )


def print_answer(answer: Answer) -> None:
    print(answer.text)
    print_sources(answer)


def _cmd_ingest(a: Assistant, args: argparse.Namespace) -> int:
    bars: dict[str, Any] = {}
    progress = file_progress = None
    if not args.quiet:
        from tqdm import tqdm

        def progress(done: int, total: int, name: str) -> None:
            if "file" in bars:  # the big file just finished
                bars.pop("file").close()
            if "files" not in bars:
                # miniters=1: redraw at most every 0.1 s but never skip a file (tqdm may otherwise wait
                # for dozens of fast files and show nothing through a long embedding batch)
                bars["files"] = tqdm(total=total, unit="file", desc="ingest", file=sys.stderr, leave=False,
                                     miniters=1)
            bars["files"].set_postfix_str(printable(name)[-40:], refresh=False)
            bars["files"].update(1)

        def file_progress(name: str, done: int, total: int) -> None:
            if "file" not in bars:  # a file bigger than one batch: a bar of its own, in characters
                bars["file"] = tqdm(total=total, unit="char", unit_scale=True, desc=printable(name)[-30:],
                                    file=sys.stderr, leave=False, position=1, miniters=1)
            bars["file"].update(done - bars["file"].n)

    try:
        report = a.ingest(args.paths, include=args.include, exclude=args.exclude, sync=args.sync,
                          tags=args.tag, progress=progress, file_progress=file_progress)
    finally:
        for bar in bars.values():
            bar.close()
    for path in report.skipped:
        print(f"skipped (unsupported type): {printable_id(path)}")
    for path in report.recovered:
        print(f"recovered (an earlier run was interrupted; re-ingest if it is not below): {printable_id(path)}")
    for note in report.notes:
        print(f"note: {printable(note)}")
    for failure in report.failed:
        print(f"failed: {printable_id(failure.path)}: {printable(failure.reason)}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1


def _cmd_sources(a: Assistant, args: argparse.Namespace) -> int:
    records = a.sources()
    if args.json:
        print(json.dumps([to_dict(r) for r in records], indent=2))
        return 0
    names = [printable(r.display) for r in records]
    width = max(len(n) for n in names)
    print(f"{'file'.ljust(width)}  chunks  pages  ingested")
    for r, name in zip(records, names, strict=True):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.ingested_at))
        print(f"{name.ljust(width)}  {r.chunks:>6}  {r.pages or '-':>5}  {when}")
    print(f"{len(records)} documents")
    return 0


def _cmd_status(a: Assistant, args: argparse.Namespace) -> int:
    st = a.status()
    if args.json:
        print(json.dumps(to_dict(st), indent=2))
        return 0
    size = f"{st.size_bytes / 1e6:.1f} MB" if st.size_bytes is not None else "(server)"
    print(f"index:      {st.location} (collection {st.collection})")
    print(f"model:      {st.model} ({st.dimension or '?'}-d)")
    print(f"chunking:   {st.chunk_size} tokens, {st.chunk_overlap} overlap")
    print(f"documents:  {st.documents}  chunks: {st.chunks}  pages: {st.pages}")
    print(f"size:       {size}")
    if st.lexical_index:
        print(f"lexical:    {st.lexical_index}")
    if st.embed_cache:
        state = "ready" if st.embed_cache_ready else "not made yet: exported on first use"
        print(f"embedder:   {st.embed_backend}, {st.embed_cache} ({state})")
    elif st.embed_backend:
        print(f"embedder:   {st.embed_backend}")
    if not st.exists:
        print("(empty: run `rag ingest PATH` first)")
    return 0


def configure_logging(verbose: bool) -> None:
    """Our messages as plain lines on stderr; third-party loggers only for errors unless ``verbose``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in _OUR_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(logging.INFO if verbose else logging.WARNING)
        logger.propagate = False
    if not verbose:
        for name in ("chromadb", "httpx", "onnxruntime", "sentence_transformers", "transformers", "torch"):
            logging.getLogger(name).setLevel(logging.ERROR)


def start_loading(assistant: Assistant) -> threading.Thread:
    """Load the embedding model in a background thread (``Assistant.warm_up``).

    An error while loading is not lost: the model is still unloaded, so the first real use
    raises it again, with its message, where the caller handles errors.
    """
    def run() -> None:
        try:
            assistant.warm_up()
        except RagError:
            logging.getLogger("rag").debug("background model load failed; the first question will say why")

    thread = threading.Thread(target=run, name="rag-load-model", daemon=True)
    thread.start()
    return thread


def _cmd_check(a: Assistant, args: argparse.Namespace) -> int:
    from index.check import describe

    report = a.check_report(sample=max(1, args.sample))
    for line in describe(report):
        print(line)
    return 0 if report.ok else 1


def _cmd_repair(a: Assistant) -> int:
    report = a.repair()
    for line in report.lines():
        print(line)
    print(f"repaired: {report.location}; run `rag check --index {report.location}` to verify")
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(with_evals=command in ("eval", "data")).parse_args(argv)
    started = time.perf_counter()
    configure_logging(args.verbose)
    if args.command in ("eval", "data"):
        from evals.cli import run_data, run_from_args  # lazy: rag never imports evals at module level

        return (run_from_args if args.command == "eval" else run_data)(args, _settings(args))
    settings = _settings(args)
    folder = Path(settings.index_dir).expanduser()
    if args.command in _WRITERS and not settings.chroma_url and writer_active(folder):
        raise busy_error(folder)  # before Chroma opens: a writer stopped mid-write would make the open wait
    assistant = Assistant.open(settings=settings, create=args.command not in _READERS, quiet=not args.verbose)
    if args.command in ("ask", "chat", "sources"):
        _require_documents(assistant)
    if args.command == "ui":
        # the model loads while Gradio is imported and the app is built (the first question need not wait)
        start_loading(assistant)
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
            print(json.dumps(to_dict(answer), indent=2, ensure_ascii=False))
        else:
            print_answer(answer)
        if args.verbose:
            stages = ", ".join(f"{k} {v:.0f} ms" for k, v in answer.timings.items())
            print(f"timings: {stages}; whole command {time.perf_counter() - started:.2f} s", file=sys.stderr)
        return 0
    if args.command == "sources":
        return _cmd_sources(assistant, args)
    if args.command == "delete":
        for source in assistant.delete(args.paths):
            print(f"deleted: {printable_id(source)}")
        return 0
    if args.command == "status":
        return _cmd_status(assistant, args)
    if args.command == "check":
        return _cmd_check(assistant, args)
    if args.command == "repair":
        return _cmd_repair(assistant)
    if args.command == "reset":
        if not args.yes and input(f"Delete everything in {assistant.location}? [y/N] ").lower() != "y":
            print("nothing deleted")
            return 1
        assistant.reset()
        print(f"reset: {assistant.location} (collection {assistant.collection}) is empty")
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

"""``rag eval`` and ``rag data``: run a set (or compare settings), print the summary, apply the CI gates;
list the built-in sets and fetch the public ones into the data folder.

The flags of both commands are declared here, beside the code that reads them: rag/cli.py
calls ``add_eval_arguments`` and ``add_data_arguments`` (and then ``run_from_args`` or
``run_data``) only for these two commands, so ``rag ask`` never imports the evals package.
"""

from __future__ import annotations

import argparse
import sys

from evals.catalog import table
from evals.report import gate_failures, markdown, parse_gates
from evals.results import RunResult
from evals.runner import apply_setting, run_eval
from rag import ConfigError, Settings
from rag.retrieval import RETRIEVAL_MODES

GATE_FAILED = 3  # exit code when a --min/--max gate fails (1 and 2 are errors, as for every command)


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``rag eval`` (``run_from_args`` reads them; setting flags go to ``Settings``)."""
    p = parser
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
    p.add_argument("--retrieval", metavar="MODE",
                   help=f"{', '.join(RETRIEVAL_MODES)} (RAG_RETRIEVAL, default {Settings.retrieval})")
    p.add_argument("--top-k", type=int, metavar="N", help=f"passages to answer from (RAG_TOP_K, {Settings.top_k})")
    p.add_argument("--chunk-size", type=int, metavar="TOKENS", help=f"RAG_CHUNK_SIZE (default {Settings.chunk_size})")
    p.add_argument("--chunk-overlap", type=int, metavar="TOKENS",
                   help=f"RAG_CHUNK_OVERLAP (default {Settings.chunk_overlap})")
    p.add_argument("--model", dest="embed_model", metavar="NAME_OR_PATH", help="embedding model (RAG_EMBED_MODEL)")
    p.add_argument("--set", action="append", metavar="SETTING=VALUE", help="any other setting, e.g. llm=ollama:x")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("-v", "--verbose", action="store_true", help="show more (our and third-party messages)")


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``rag data`` (``run_data`` reads them)."""
    p = parser
    p.add_argument("action", choices=["list", "fetch"])
    p.add_argument("names", nargs="*", metavar="NAME", help="sets to fetch (rag eval --list names them)")
    p.add_argument("--data-dir", metavar="DIR", help="the data folder (RAG_DATA_DIR, default ../shared)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="per download (default 60)")
    p.add_argument("-v", "--verbose", action="store_true", help="show more (our and third-party messages)")


def run_from_args(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``rag eval`` with parsed arguments and the settings from flags and environment."""
    if args.list:
        print(table(settings.data_dir))
        return 0
    if not args.eval_set:
        raise ConfigError("rag eval: give a SET (a built-in name, a .jsonl file, squad:FILE, ...); rag eval --list")
    minimum = parse_gates(args.min or [])
    maximum = parse_gates(args.max or [])
    if args.retrieval:
        settings = apply_setting(settings, "retrieval", args.retrieval)
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: write SETTING=VALUE, e.g. --set answer_sentences=1")
        settings = apply_setting(settings, key.strip(), value.strip())

    def show(result: RunResult) -> None:
        if not args.quiet:
            print(f"{result.label}: {result.counts['questions']} questions in {result.seconds:.1f}s", file=sys.stderr)

    report = run_eval(
        args.eval_set, settings=settings, compare=args.compare, limit=args.limit, seed=args.seed,
        workers=args.workers, out=args.out, cache=args.cache, progress=not args.quiet, on_result=show,
    )
    print(markdown(report.results, report.run_info).split("\n## ")[0])
    if report.out_dir is not None:
        print(f"reports: {report.out_dir}/ (summary.md, report.html, results.json)")
    failures = gate_failures(report.results, minimum, maximum)
    for line in failures:
        print(f"FAILED: {line}", file=sys.stderr)
    return GATE_FAILED if failures else 0


def run_data(args: argparse.Namespace, settings: Settings) -> int:
    """``rag data list`` (the table of ``rag eval --list``) and ``rag data fetch NAME...``."""
    if args.action == "list":
        print(table(settings.data_dir))
        return 0
    if not args.names:
        raise ConfigError("rag data fetch: name the set(s) to fetch, e.g. rag data fetch xquad-en (rag data list)")
    from evals.fetch import fetch

    if args.timeout <= 0:
        raise ConfigError(f"--timeout ({args.timeout}) must be positive (seconds)")
    for name in args.names:
        for done in fetch(name, settings.data_dir, base_url=settings.data_url, timeout=args.timeout):
            print(f"{name}: {done.path} ({done.how})")
    return 0

"""``rag eval`` and ``rag data``: run a set (or compare settings), print the summary, apply the CI gates;
list the built-in sets and fetch the public ones into the data folder.

rag/cli.py defines the arguments and calls ``run_from_args`` lazily, so ``rag ask``
never imports the evals package.
"""

from __future__ import annotations

import argparse
import sys

from evals.catalog import table
from evals.report import gate_failures, parse_gates
from evals.runner import RunResult, apply_setting, run_eval
from rag import ConfigError, Settings

GATE_FAILED = 3  # exit code when a --min/--max gate fails (1 and 2 are errors, as for every command)


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
    from evals.report import markdown

    print(markdown(report.results, {"limit": args.limit, "seed": args.seed, "depth": 10}).split("\n## ")[0])
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

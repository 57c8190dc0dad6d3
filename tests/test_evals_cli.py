"""`rag eval` and `rag data` are declared in evals/cli.py, beside the code that reads their flags,
and `rag --help` / `rag ask` never import the evals package for them."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from evals.cli import add_data_arguments, add_eval_arguments
from rag.cli import build_parser

REPO = Path(__file__).resolve().parents[1]


def _options(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    return [tuple(a.option_strings) or (a.dest,) for a in parser._actions]


def _sub(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    sub: argparse.ArgumentParser = choices[name]
    return sub


def test_eval_and_data_take_exactly_the_arguments_evals_cli_declares() -> None:
    for name, add in (("eval", add_eval_arguments), ("data", add_data_arguments)):
        alone = argparse.ArgumentParser()
        add(alone)
        assert _options(_sub(build_parser(), name)) == _options(alone)
        assert _options(_sub(build_parser(with_evals=False), name)) == [("-h", "--help")]
    args = build_parser().parse_args(["eval", "seed", "--limit", "3", "--top-k", "4", "--set", "llm=extractive"])
    assert (args.eval_set, args.limit, args.top_k, args.set, args.seed, args.out) == (
        "seed", 3, 4, ["llm=extractive"], 0, "evals/runs")


def test_rag_help_and_parsing_ask_leave_evals_unimported() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from rag.cli import run\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    for argv in (['--help'], ['ask', '--help']):\n"
        "        try:\n"
        "            run(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "assert 'rag ask' in out.getvalue() or 'usage' in out.getvalue()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'evals'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_rag_eval_help_lists_the_flags() -> None:
    done = subprocess.run([sys.executable, "-m", "rag", "eval", "--help"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    for flag in ("--list", "--data-dir", "--limit", "--seed", "--workers", "--out", "--cache", "--compare", "--min",
                 "--max", "--retrieval", "--top-k", "--chunk-size", "--chunk-overlap", "--model", "--set", "--quiet"):
        assert flag in done.stdout, flag

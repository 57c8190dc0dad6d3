"""The CLI's LLM side: ``--llm`` flags, ``rag ask --stream``, ``rag chat``, and how checks are shown.

``rag.cli`` wires these in; they live here to keep that module small.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

from index.errors import RagError
from index.names import printable
from rag.assistant import Assistant
from rag.config import Settings
from rag.models import Answer

# setting names the flags below fill in (None: not given, the environment decides)
LLM_KEYS = (
    "llm", "llm_url", "llm_api_key", "llm_timeout", "llm_temperature", "llm_max_tokens",
    "llm_context_window", "llm_retries", "prompts_dir", "history_tokens",
)
# commands that answer questions; the others never load a language model
LLM_COMMANDS = frozenset({"ask", "chat", "ui", "eval"})


def add_llm_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that choose and tune the language model (each also a RAG_* variable)."""
    g = parser.add_argument_group("language model (docs/llm.md)")
    g.add_argument("--llm", metavar="PROVIDER:MODEL",
                   help="openai:MODEL, ollama:MODEL or llama-cpp:FILE.gguf (RAG_LLM; default: extractive)")
    g.add_argument("--llm-url", metavar="URL", help="server API root, e.g. http://localhost:8080/v1 (RAG_LLM_URL)")
    g.add_argument("--llm-key", dest="llm_api_key", metavar="KEY",
                   help="API key (RAG_LLM_API_KEY; OPENAI_API_KEY for OpenAI)")
    g.add_argument("--llm-timeout", type=float, metavar="SECONDS",
                   help=f"per request (RAG_LLM_TIMEOUT, {Settings.llm_timeout:g})")
    g.add_argument("--temperature", dest="llm_temperature", type=float,
                   help=f"RAG_LLM_TEMPERATURE ({Settings.llm_temperature:g})")
    g.add_argument("--max-tokens", dest="llm_max_tokens", type=int, metavar="N",
                   help=f"answer budget (RAG_LLM_MAX_TOKENS, {Settings.llm_max_tokens})")
    g.add_argument("--llm-context-window", type=int, metavar="TOKENS",
                   help=f"the model's context window (RAG_LLM_CONTEXT_WINDOW, {Settings.llm_context_window})")
    g.add_argument("--llm-retries", type=int, metavar="N",
                   help=f"retries of transient failures (RAG_LLM_RETRIES, {Settings.llm_retries})")
    g.add_argument("--prompts-dir", metavar="DIR", help="folder of prompt overrides (RAG_PROMPTS_DIR)")


def add_chat_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top-k", type=int, metavar="N", help=f"passages to retrieve (RAG_TOP_K, {Settings.top_k})")
    parser.add_argument("--sources", metavar="GLOB", help="only search documents whose path matches")
    parser.add_argument("--no-stream", dest="stream", action="store_false", help="print each answer when complete")
    parser.add_argument("--history-tokens", type=int, metavar="N",
                        help=f"conversation kept for follow-ups (RAG_HISTORY_TOKENS, {Settings.history_tokens})")
    add_llm_arguments(parser)


def print_checks(answer: Answer, out: TextIO | None = None) -> None:
    """What the citation checks found, for people: rewritten question, unsupported sentences, removals."""
    out = out or sys.stdout
    if answer.standalone_question:
        print(f"\n(searched for: {answer.standalone_question})", file=out)
    if answer.removed_citations:
        shown = ", ".join(f"[{n}]" for n in answer.removed_citations)
        print(f"\nRemoved {len(answer.removed_citations)} citation(s) that pointed at no source: {shown}", file=out)
    if answer.uncited:
        print("\nNo valid citation: nothing in this answer is backed by a source.", file=out)
    unsupported = answer.unsupported
    if unsupported:
        print(f"\nUnsupported ({len(unsupported)} of {sum(s.claim for s in answer.sentences)} sentences: "
              "no cited passage backs them):", file=out)
        for s in unsupported:
            cites = "".join(f"[{n}]" for n in s.cited) or "no citation"
            print(f"  ! \u201c{s.text}\u201d  ({cites}, support {s.score:.2f})", file=out)


def stream_to(items: Any, out: TextIO) -> Answer:
    """Print the text pieces of a stream as they come; return its final ``Answer``."""
    shown: list[str] = []
    for item in items:
        if isinstance(item, Answer):
            out.write("\n")
            if item.text.strip() != "".join(shown).strip():
                print(f"(checked) {item.text}", file=out)  # invented [n] removed from what was streamed
            return item
        shown.append(item)
        out.write(item)
        out.flush()
    raise RagError("the answer stream ended without an answer")


def print_sources(answer: Answer, out: TextIO | None = None) -> None:
    """The citations under an answer, each with its quoted sentence, then the checks' warnings."""
    if answer.citations:
        print("\nSources:", file=out)
        for c in answer.citations:
            print(f"  [{c.n}] {printable(c.location)}  (score {c.score:.2f})", file=out)
            print(f"      \u201c{' '.join(c.sentence.split())}\u201d", file=out)
    print_checks(answer, out)


HELP = "Ask about your documents. Commands: /reset forgets the conversation, /exit (or Ctrl-D) quits."


def run_chat(
    assistant: Assistant,
    *,
    stream: bool = True,
    top_k: int | None = None,
    sources: str | None = None,
    read: Callable[[str], str] = input,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """A terminal chat with history. An error ends the turn, never the conversation."""
    out = out or sys.stdout
    err = err or sys.stderr
    print(f"rag chat ({assistant.backend_name}). {HELP}", file=out)
    messages: list[dict[str, str]] = []
    while True:
        try:
            line = read("\nyou> ").strip()
        except EOFError:
            print(file=out)
            return 0
        if line in ("/exit", "/quit"):
            return 0
        if line == "/reset":
            messages.clear()
            print("(conversation forgotten)", file=out)
            continue
        if not line:
            continue
        turn = [*messages, {"role": "user", "content": line}]
        try:
            if stream:
                out.write("\nrag> ")
                answer = stream_to(assistant.chat_stream(turn, top_k=top_k, sources=sources), out)
            else:
                answer = assistant.chat(turn, top_k=top_k, sources=sources)
                print(f"\nrag> {answer.text}", file=out)
        except RagError as exc:  # LLMError among them: say what to fix, keep the conversation
            print(f"\nerror: {exc}", file=err)
            print("(the conversation is kept; fix the setting or try again)", file=out)
            continue
        print_sources(answer, out)
        messages = [*turn, {"role": "assistant", "content": answer.text}]

"""What every answerer is: one protocol, the prepared question it receives, and which one a setting names.

``Assistant.ask`` and ``Assistant.stream`` prepare a question once (checked, embedded,
retrieved: a ``PreparedQuestion``) and hand it to the configured ``Answerer``, which
returns an ``Answer`` whose citations it has already checked. A question with no
passages never reaches an answerer: ``nothing_found`` makes that answer, for all of them.

Answerers are named by the ``llm`` setting: "" (or "extractive") the offline default,
``provider:model`` a language model (``rag.llm``). ``ANSWERERS`` maps each name to the
function ``build(settings, parts) -> Answerer`` that makes it; ``rag.parts`` imports and
calls it, and ``Settings`` accepts exactly the names listed here (``answerer_name``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from index.embedding import Embedder
from index.lexical import LexicalIndex
from index.models import Hit
from index.store import ChromaStore
from rag.llm import EXTRACTIVE, LLMBackend, parse_spec
from rag.models import Answer

NOT_FOUND = "Not found in the indexed documents."

# answerer name -> "module:function" building it from (settings, AnswererParts). "llm" is any
# provider:model of rag.llm; another name is chosen by ``llm = "NAME:..."`` (e.g. "reader": "rag.reader:build").
ANSWERERS = {
    "extractive": "rag.parts:build_extractive",
    "llm": "rag.parts:build_llm",
}


@dataclass(frozen=True)
class PreparedQuestion:
    """A question made ready to answer: stripped, embedded, its passages retrieved (best first).

    ``started`` is the ``time.perf_counter()`` when preparation began; ``embed_ms`` and
    ``retrieve_ms`` are the two stages' milliseconds (they become ``Answer.timings``).
    """

    text: str
    vector: tuple[float, ...]
    hits: tuple[Hit, ...]
    started: float
    embed_ms: float
    retrieve_ms: float


class Answerer(Protocol):
    """Answers a prepared question from its passages; the ``Answer``'s citations are already checked.

    ``stream`` yields text pieces as they are produced, then the final ``Answer`` (whose
    text replaces the pieces). An answerer that also has ``condense(history, question)``
    (``rag.chat.Condenser``) rewrites chat follow-ups itself; others use the rule.
    """

    @property
    def name(self) -> str:
        """What made the answer (``Answer.backend``): "extractive", or the LLM's ``provider:model``."""
        ...

    def answer(self, question: PreparedQuestion) -> Answer: ...

    def stream(self, question: PreparedQuestion) -> Iterator[str | Answer]: ...


@dataclass(frozen=True)
class AnswererParts:
    """What an answerer may be built from (``rag.parts`` passes it to the ``build`` function).

    ``llm`` is a backend given by the caller instead of the one the settings name.
    """

    store: ChromaStore
    embedder: Embedder
    lexical: LexicalIndex
    llm: LLMBackend | None = None


def answerer_name(llm: str) -> str:
    """Which ``ANSWERERS`` entry the ``llm`` setting names; a ``ConfigError`` for none (pure).

    >>> answerer_name(""), answerer_name("ollama:llama3.2")
    ('extractive', 'llm')
    """
    value = llm.strip()
    if value.lower() in EXTRACTIVE:
        return "extractive"
    prefix = value.partition(":")[0].lower()
    if prefix in ANSWERERS and prefix not in ("extractive", "llm"):
        return prefix
    parse_spec(value)  # an LLM's provider:model, or the error naming the choices
    return "llm"


def nothing_found(question: PreparedQuestion, backend: str) -> Answer:
    """The answer to a question no passage matched (the same for every answerer)."""
    return Answer(question.text, NOT_FOUND, (), (), True, {"answer": 0.0}, backend=backend)


def words_a_few_at_a_time(text: str, size: int = 4) -> Iterator[str]:
    """``text`` in pieces of ``size`` words, spaces kept, for answerers that have it all at once (pure).

    >>> list(words_a_few_at_a_time("one two three four five six", 4))
    ['one two three four ', 'five six']
    """
    words = text.split(" ")
    for i in range(0, len(words), size):
        yield " ".join(words[i : i + size]) + (" " if i + size < len(words) else "")


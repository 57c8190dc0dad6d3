"""Answer with a language model: pack the sources, fill the prompt, generate, check the citations.

The orchestration only; the logic lives in pure modules: ``rag.packing`` (what fits),
``rag.prompting`` (templates), ``rag.citations`` (the checks), ``rag.condense``
(follow-ups), and ``rag.llm`` (backends and failures).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from index.models import Hit
from index.tokens import count_tokens
from rag.answering import PreparedQuestion
from rag.citations import MIN_SUPPORT, check_answer
from rag.condense import Message, format_history, previous_user_questions, rule_condense, trim_history
from rag.errors import LLMError
from rag.llm import LLMBackend
from rag.models import Answer
from rag.packing import PackedSource, context_budget, format_sources, pack_sources
from rag.prompting import ANSWER, CONDENSE, load_prompt, no_answer_text

CONDENSE_MAX_TOKENS = 96
MAX_REWRITE_WORDS = 40


@dataclass(frozen=True)
class LLMAnswerConfig:
    """Budgets and checks for generated answers: ``Settings.llm_answer_config()`` builds it."""

    context_window: int
    max_tokens: int
    history_tokens: int
    prompts_dir: str
    min_support: float = MIN_SUPPORT


@dataclass(frozen=True)
class PreparedPrompt:
    """The prompt sent to the model and the numbered sources it holds."""

    text: str
    sources: tuple[PackedSource, ...]
    tokens: int


class LLMAnswerer:
    """Generate a cited answer from retrieved passages, then check every citation.

    >>> settings = Settings(llm="ollama:llama3.2")                                          # doctest: +SKIP
    >>> answerer = LLMAnswerer(build_backend(settings.llm_options()), settings.llm_answer_config())  # doctest: +SKIP
    >>> answerer.answer(prepared).unsupported                                    # doctest: +SKIP
    """

    def __init__(self, backend: LLMBackend, config: LLMAnswerConfig) -> None:
        self.backend = backend
        self.config = config
        # Fail early (at construction) on a broken prompts folder, not mid-answer.
        self.no_answer = no_answer_text(self.config.prompts_dir)
        load_prompt(ANSWER, self.config.prompts_dir)
        load_prompt(CONDENSE, self.config.prompts_dir)

    @property
    def name(self) -> str:
        """The backend's ``provider:model`` (``Answer.backend``)."""
        return self.backend.name

    def prepare(self, question: str, hits: Sequence[Hit]) -> PreparedPrompt:
        """Pack as many sources as the window leaves room for and render the answer prompt."""
        template = load_prompt(ANSWER, self.config.prompts_dir)
        frame = template.render(sources="", question=question, no_answer=self.no_answer)
        budget = context_budget(self.config.context_window, self.config.max_tokens, count_tokens(frame))
        if budget <= 0:
            raise LLMError(
                f"the question and prompt leave no room for sources in a {self.config.context_window}-token "
                "window; raise RAG_LLM_CONTEXT_WINDOW (--llm-context-window) or lower RAG_LLM_MAX_TOKENS"
            )
        packed = tuple(pack_sources(hits, budget))
        text = template.render(sources=format_sources(packed), question=question, no_answer=self.no_answer)
        return PreparedPrompt(text, packed, count_tokens(text))

    def finish(
        self, question: str, hits: Sequence[Hit], prepared: PreparedPrompt, raw: str, timings: dict[str, float]
    ) -> Answer:
        """Check the generated text against the sources it was given and build the ``Answer``."""
        started = time.perf_counter()
        result = check_answer(
            raw,
            {p.n: p.hit.chunk for p in prepared.sources},
            no_answer=self.no_answer,
            min_support=self.config.min_support,
        )
        text = result.text or self.no_answer
        timings["check"] = (time.perf_counter() - started) * 1000
        return Answer(
            question=question,
            text=text,
            citations=result.citations,
            hits=tuple(hits),
            abstained=result.abstained or not result.text,
            timings=timings,
            sentences=result.sentences,
            removed_citations=result.removed,
            uncited=result.uncited,
            backend=self.backend.name,
        )

    def answer(self, question: PreparedQuestion) -> Answer:
        """Generate from the question's passages and check the citations."""
        started = time.perf_counter()
        prepared = self.prepare(question.text, question.hits)
        raw = self.backend.complete(prepared.text)
        timings = {"answer": (time.perf_counter() - started) * 1000}
        return self.finish(question.text, question.hits, prepared, raw, timings)

    def stream(self, question: PreparedQuestion) -> Iterator[str | Answer]:
        """Yield the model's text as it arrives, then the checked ``Answer``.

        The streamed text is the raw output; the final ``Answer.text`` has any
        invented ``[n]`` removed, so front ends should replace what they showed.
        """
        started = time.perf_counter()
        prepared = self.prepare(question.text, question.hits)
        pieces: list[str] = []
        first: float | None = None
        for piece in self.backend.stream(prepared.text):
            if first is None:
                first = time.perf_counter()
            pieces.append(piece)
            yield piece
        timings = {"answer": (time.perf_counter() - started) * 1000}
        if first is not None:
            timings["first_token"] = (first - started) * 1000
        yield self.finish(question.text, question.hits, prepared, "".join(pieces), timings)

    def condense(self, history: Sequence[Message], question: str) -> str:
        """Rewrite a follow-up into a standalone question with the model (history trimmed to budget)."""
        kept = trim_history(history, self.config.history_tokens)
        if not kept:
            return question
        prompt = load_prompt(CONDENSE, self.config.prompts_dir).render(
            history=format_history(kept), question=question
        )
        raw = self.backend.complete(prompt, max_tokens=CONDENSE_MAX_TOKENS)
        rewritten = clean_condensed(raw)
        if not plausible_rewrite(rewritten):  # small models ramble: fall back to the rule
            return rule_condense(previous_user_questions(kept), question)
        return rewritten


def plausible_rewrite(text: str, max_words: int = MAX_REWRITE_WORDS) -> bool:
    """A usable standalone question: non-empty, one short sentence or two (pure).

    >>> plausible_rewrite("Who founded Acme?"), plausible_rewrite("The user asked " + "very " * 60)
    (True, False)
    """
    return 0 < len(text.split()) <= max_words


def clean_condensed(raw: str) -> str:
    """The first non-empty line of a condense reply, without a label or quotes (pure).

    >>> clean_condensed('Standalone question: "Who founded Acme?"\\nExtra')
    'Who founded Acme?'
    """
    for line in raw.splitlines():
        line = line.strip()
        if not line:
            continue
        lowered = line.lower()
        for label in ("standalone question:", "question:", "rewritten question:"):
            if lowered.startswith(label):
                line = line[len(label):].strip()
                break
        return line.strip("\"'“”` ").strip()
    return ""

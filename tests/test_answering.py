"""One question path for every answerer (rag.answering, rag.parts), over the real index and embedder.

``ask`` and ``stream`` prepare a question once and hand it to whichever ``Answerer`` the
settings name; the extractive and the LLM answerer both return checked answers. A third
answerer is this module itself (``build`` below), wired in by one entry of ``ANSWERERS``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rag import Answer, Assistant, ConfigError, ExtractiveAnswerer, LLMAnswerer, PreparedQuestion, RagError, Settings
from rag.answering import ANSWERERS, NOT_FOUND, AnswererParts
from rag.models import Citation
from rag.parts import build_answerer
from tests.test_llm_answers import Scripted, cite_and_invent

QUESTION = "What are the aims of the water scheme?"
STAGES = {"answer", "embed", "retrieve", "total"}


class EchoAnswerer:
    """A third answerer: quotes the first sentence of the best passage, and keeps what it was given."""

    name = "echo"

    def __init__(self) -> None:
        self.seen: list[PreparedQuestion] = []

    def answer(self, question: PreparedQuestion) -> Answer:
        self.seen.append(question)
        chunk = question.hits[0].chunk
        end = chunk.text.find(". ") + 1 or len(chunk.text)
        citation = Citation(n=1, chunk=chunk, span=(0, end), score=1.0)
        return Answer(question.text, f"{chunk.text[:end]} [1]", (citation,), question.hits, False,
                      {"answer": 0.0}, backend=self.name)

    def stream(self, question: PreparedQuestion) -> Iterator[str | Answer]:
        answer = self.answer(question)
        yield answer.text
        yield answer


def build(settings: Settings, parts: AnswererParts) -> EchoAnswerer:
    """What ``rag.parts`` calls for ``llm = "echo:..."`` once ``ANSWERERS`` names it."""
    return EchoAnswerer()


def test_a_third_answerer_is_one_module_and_one_line_of_wiring(
    article_assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="provider:model"):
        article_assistant.settings.with_(llm="echo:first-sentence")  # not wired yet: an unknown name
    monkeypatch.setitem(ANSWERERS, "echo", f"{__name__}:build")  # the one line of wiring
    a = article_assistant.variant(settings=article_assistant.settings.with_(llm="echo:first-sentence"))
    assert a.backend_name == "echo"
    answer = a.ask(f"  {QUESTION}  ")
    assert answer.backend == "echo" and answer.text.endswith("[1]") and set(answer.timings) == STAGES
    echo = a._answerer
    assert isinstance(echo, EchoAnswerer)
    seen = echo.seen[0]
    assert seen.text == QUESTION and len(seen.vector) == 384 and seen.hits == answer.hits
    assert seen.embed_ms > 0 and seen.retrieve_ms > 0
    *pieces, final = list(a.stream(QUESTION))
    assert pieces == [answer.text] and isinstance(final, Answer) and set(final.timings) == STAGES


@pytest.mark.parametrize("kind", ["extractive", "llm"])
def test_ask_and_stream_give_the_same_checked_answer_and_timings(article_assistant: Assistant, kind: str) -> None:
    a = article_assistant if kind == "extractive" else article_assistant.variant(llm=Scripted(cite_and_invent))
    asked = a.ask(QUESTION)
    *pieces, streamed = list(a.stream(QUESTION))
    assert isinstance(streamed, Answer) and pieces and all(isinstance(p, str) for p in pieces)
    assert (streamed.text, streamed.citations, streamed.hits) == (asked.text, asked.citations, asked.hits)
    assert asked.sentences and streamed.sentences == asked.sentences  # both checked
    # the same stages, embedding included, whichever way the answer was asked for
    assert set(asked.timings) - {"first_token"} == set(streamed.timings) - {"first_token"} == STAGES | {"check"}


@pytest.mark.parametrize("kind", ["extractive", "llm"])
def test_no_passage_is_one_not_found_answer(article_assistant: Assistant, kind: str) -> None:
    backend = Scripted(cite_and_invent)
    a = article_assistant if kind == "extractive" else article_assistant.variant(llm=backend)
    asked = a.ask(QUESTION, sources="no-such-file-*")
    *pieces, streamed = list(a.stream(QUESTION, sources="no-such-file-*"))
    for answer in (asked, streamed):
        assert isinstance(answer, Answer)
        assert answer.text == NOT_FOUND and answer.abstained and not answer.hits and not answer.citations
        assert answer.backend == a.backend_name and set(answer.timings) == STAGES
    assert "".join(p for p in pieces if isinstance(p, str)) == NOT_FOUND
    assert backend.prompts == []  # the model is never asked about nothing


@pytest.mark.parametrize("kind", ["extractive", "llm"])
def test_an_empty_question_is_one_error_for_ask_and_stream(article_assistant: Assistant, kind: str) -> None:
    a = article_assistant if kind == "extractive" else article_assistant.variant(llm=Scripted(cite_and_invent))
    with pytest.raises(RagError, match="empty"):
        a.ask("   ")
    with pytest.raises(RagError, match="empty"):
        next(iter(a.stream("   ")))


def test_both_answerers_return_checked_answers_by_themselves(article_assistant: Assistant) -> None:
    store, embedder, lexical = article_assistant._store, article_assistant._embedder, article_assistant._lexical
    hits = article_assistant.retrieve(QUESTION)
    vector = embedder.embed_query(QUESTION)
    question = PreparedQuestion(QUESTION, tuple(vector), tuple(hits), 0.0, 1.0, 1.0)
    settings = article_assistant.settings
    extractive = build_answerer(settings, AnswererParts(store, embedder, lexical))
    llm = build_answerer(settings, AnswererParts(store, embedder, lexical, Scripted(cite_and_invent)))
    assert isinstance(extractive, ExtractiveAnswerer) and isinstance(llm, LLMAnswerer)
    quoted = extractive.answer(question)
    assert quoted.sentences and all(s.supported for s in quoted.sentences) and "check" in quoted.timings
    generated = llm.answer(question)
    assert generated.removed_citations == (7,) and generated.unsupported  # the invented [7] and claim


def test_the_extractive_answerer_knows_the_index_vocabulary(article_assistant: Assistant) -> None:
    """Terms the documents never mention count against closeness in meaning, from the answerer's own index."""
    store, embedder, lexical = article_assistant._store, article_assistant._embedder, article_assistant._lexical
    config = Settings().extractive_config()
    knowing = ExtractiveAnswerer(embedder, config, store=store, lexical=lexical)
    assert knowing.unknown_terms("zorblat quixotrian water scheme").unknown == 2
    assert ExtractiveAnswerer(embedder, config).unknown_terms("zorblat quixotrian water scheme").unknown == 0

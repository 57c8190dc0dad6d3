"""The offline default answerer: quote the best-supported units (sentences, rows, list items, ...) and cite them.

Candidate sentences come from the retrieved chunks. Each is scored against the
question, not just by its chunk's rank: cosine similarity of sentence and question
embeddings, plus the idf-weighted share of the question's terms it contains, plus
a little of its chunk's retrieval score. The best one or two become the answer,
each followed by its ``[n]``. When the best score is too weak the answerer
abstains instead of quoting noise. Nothing is generated, so nothing is invented.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from index.embedding import Embedder
from index.lexical import LexicalIndex
from index.models import Hit
from index.sentences import split_sentences
from index.store import ChromaStore
from index.text_terms import index_tokens, terms
from rag.abstention import missing_measure, missing_words, paraphrase_drop, without_each
from rag.answer_shape import reshape
from rag.answer_units import ROW, TITLE, Unit
from rag.answering import NOT_FOUND, PreparedQuestion, words_a_few_at_a_time
from rag.citations import check_extractive
from rag.models import Answer, Citation
from rag.question_focus import focus_of, holds, without_form
from rag.question_types import fits, question_type
from rag.superlative import asks_extreme_price, priced_table, without_extreme
from rag.term_overlap import Coverage, coverage
from rag.unit_scores import Candidate, ExtractiveConfig, candidate_units, embedding_text, preselect, score_candidates

_CACHE_SIZE = 20_000
_ALL_KNOWN = Coverage()


def _neighbour_spans(best: Candidate) -> set[tuple[int, int]]:
    """The spans of the sentences right before and after ``best`` in its chunk."""
    spans = split_sentences(best.hit.chunk.text)
    if best.span not in spans:
        return set()
    i = spans.index(best.span)
    return {spans[j] for j in (i - 1, i + 1) if 0 <= j < len(spans)}


def complement(
    best: Candidate, candidates: Sequence[Candidate], question_terms: Sequence[str], config: ExtractiveConfig
) -> Candidate | None:
    """The neighbour of the best sentence that holds question terms the best one lacks (pure).

    "What might dwindle as a consequence of the centralization?" is answered by the
    sentence after the one that names the consequences: the two together cover the
    question, so the second is quoted even though it scores lower on its own.
    """
    wanted = set(question_terms)
    missing = wanted - set(terms(best.sentence_text))
    if not missing:
        return None
    beside = _neighbour_spans(best)
    for cand in candidates:
        same_chunk = cand.hit.chunk.id == best.hit.chunk.id
        if cand is best or cand.score - cand.novelty < config.min_score or not same_chunk or cand.span not in beside:
            continue
        if missing & set(terms(cand.sentence_text)):
            return cand
    return None


def choose(
    candidates: Sequence[Candidate],
    config: ExtractiveConfig,
    question_terms: Sequence[str] = (),
    unknown: Coverage = _ALL_KNOWN,
    neighbours: Sequence[Candidate] = (),
) -> list[Candidate]:
    """The sentences to answer with, or [] to abstain (pure).

    The best sentence, then others scoring close to it; failing those, its neighbour
    when that one completes the question's terms (see ``complement``), looked for among
    ``candidates`` and then ``neighbours`` (every unit, whatever the question's type: a
    question of two parts has one type). ``unknown`` tells how many of the question's
    terms the index has never seen (``rag.term_overlap.coverage``).
    """
    if not candidates:
        return []
    best = candidates[0]
    gate = gate_unit(candidates)
    names_the_unknown = unknown.unknown >= config.min_unknown_terms and unknown.share >= config.max_unknown
    close_in_meaning = gate.dense >= config.strong_dense and not names_the_unknown
    supported = gate.lexical >= config.min_lexical or close_in_meaning
    if gate.score - gate.novelty < config.min_score or not supported:
        return []
    chosen = [best]
    for cand in candidates[1:]:
        if len(chosen) >= config.max_sentences:
            break
        # close to the best both with and without the type bonus, which lifts every unit of the right kind alike
        close = cand.score >= config.second_ratio * best.score and cand.support >= config.second_ratio * best.support
        if not close or cand.score - cand.novelty < config.min_score:
            continue
        if any(_overlaps(cand, c) for c in chosen):
            continue  # a list and its own item, a section and its line: quote one of them
        chosen.append(cand)
    if len(chosen) == 1 and config.max_sentences > 1:
        extra = complement(best, [*candidates, *neighbours], question_terms, config)
        if extra is not None:
            chosen = sorted([best, extra], key=lambda c: c.span[0])  # read in the document's order
    return chosen


def gate_unit(candidates: Sequence[Candidate]) -> Candidate:
    """The unit whether to answer at all is judged on: the best without the novelty term, which
    only orders the units (a unit saying much beside the question is no better evidence)."""
    return max(candidates, key=lambda c: c.score - c.novelty)


def decide(
    candidates: Sequence[Candidate],
    config: ExtractiveConfig,
    question: str,
    unknown: Coverage = _ALL_KNOWN,
    neighbours: Sequence[Candidate] = (),
    drop: Callable[[Candidate], float] = lambda best: 0.0,
) -> list[Candidate]:
    """``choose``, then the two signals of ``rag.abstention``: the units to quote, or [] for "not found" (pure).

    When ``choose`` abstains although the best unit scores enough, ``drop(best)`` (how much the
    question's similarity to it falls without one of the terms it lacks; asked for only here,
    as it costs embeddings) can still show that it answers a paraphrase. Whatever is chosen, a
    question asking for a measure (a price, a length ...) is not answered by units without one.
    """
    question_terms = terms(question)
    chosen = choose(candidates, config, question_terms, unknown, neighbours)
    enough_terms = len(set(question_terms)) >= config.paraphrase_min_terms
    worth_trying = enough_terms and unknown.share < config.paraphrase_max_unknown
    gate = gate_unit(candidates) if candidates else None
    best_scores = gate is not None and gate.score - gate.novelty >= config.min_score
    if not chosen and gate is not None and best_scores and worth_trying and drop(gate) >= config.paraphrase_drop:
        chosen = choose(candidates, replace(config, min_lexical=0.0), question_terms, unknown, neighbours)
    chosen = reshape(question, chosen, [*candidates, *neighbours], config.max_sentences)  # ``rag.answer_shape``
    if chosen and config.check_measures and missing_measure(question, [c.sentence_text for c in chosen]):
        return []
    return chosen


def _overlaps(a: Candidate, b: Candidate) -> bool:
    """Whether two candidates quote overlapping text of one document."""
    if a.hit.chunk.source != b.hit.chunk.source:
        return False
    a0, a1 = a.hit.chunk.start + a.span[0], a.hit.chunk.start + a.span[1]
    b0, b1 = b.hit.chunk.start + b.span[0], b.hit.chunk.start + b.span[1]
    return a0 < b1 and b0 < a1


def compose(question: str, chosen: Sequence[Candidate], hits: Sequence[Hit]) -> tuple[str, tuple[Citation, ...]]:
    """Answer text with ``[n]`` after each sentence, best-supported first."""
    if not chosen:
        return NOT_FOUND, ()
    ordered = list(chosen)
    citations = tuple(
        Citation(n=i, chunk=c.hit.chunk, span=c.span, score=round(c.score, 4))
        for i, c in enumerate(ordered, start=1)
    )
    # the quoted sentence may wrap across lines in the file; the answer reads as one line
    text = " ".join(f"{' '.join(c.sentence.split())} [{c.n}]" for c in citations)
    return text, citations


class ExtractiveAnswerer:
    """Answer by quoting the retrieved sentences that best support an answer, then check the quotes.

    With the index's ``store`` and ``lexical`` index it also knows which of a question's
    terms the documents never mention (see ``choose``); without them every term counts as known.

    >>> answerer = ExtractiveAnswerer(embedder, Settings().extractive_config(),   # doctest: +SKIP
    ...                               store=store, lexical=lexical)
    >>> answerer.answer(prepared).text                                          # doctest: +SKIP
    """

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        config: ExtractiveConfig,
        *,
        store: ChromaStore | None = None,
        lexical: LexicalIndex | None = None,
    ) -> None:
        self._embedder = embedder
        self.config = config
        self._store = store
        self._lexical = lexical
        self._cache: OrderedDict[tuple[str, int, int], list[float]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def _unit_vectors(self, units: Sequence[tuple[Hit, Unit]]) -> list[list[float]]:
        """Unit embeddings, remembered per chunk and span (popular passages recur)."""
        keys = [(h.chunk.id, u.span[0], u.span[1]) for h, u in units]
        with self._cache_lock:
            known = {k: self._cache[k] for k in keys if k in self._cache}
        missing = [i for i, k in enumerate(keys) if k not in known]
        if missing:
            fresh = self._embedder.embed_documents([embedding_text(*units[i]) for i in missing])
            with self._cache_lock:
                for i, vec in zip(missing, fresh, strict=True):
                    known[keys[i]] = vec
                    self._cache[keys[i]] = vec
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        return [known[k] for k in keys]

    def unknown_terms(self, question: str, *, focus_held: bool = False) -> Coverage:
        """How many of ``question``'s terms the index has never seen (none without a lexical index);
        the words naming the answer's form are not counted (``rag.question_focus.without_form``)."""
        if self._lexical is None or self._store is None:
            return _ALL_KNOWN
        self._lexical.sync(self._store)  # its vocabulary tells what the documents never mention (any mode)
        if not len(self._lexical):
            return Coverage()
        question_tokens = index_tokens([without_form(question, focus_held=focus_held)])[0]
        return coverage(question_tokens, self._lexical.idf(question_tokens))

    def answer(self, question: PreparedQuestion) -> Answer:
        """The best-supported sentences of the question's passages, their citations checked."""
        unknown = self.unknown_terms(question.text)
        return check_extractive(self.quote(question.text, question.hits, question.vector, unknown=unknown), NOT_FOUND)

    def stream(self, question: PreparedQuestion) -> Iterator[str | Answer]:
        """The whole answer at once, yielded a few words at a time, then the ``Answer``."""
        answer = self.answer(question)
        yield from words_a_few_at_a_time(answer.text)
        yield answer


    def paraphrase_drop(self, question: str, best: Candidate, question_vector: Sequence[float]) -> float:
        """How much leaving out one question term that ``best`` lacks lowers their similarity (``rag.abstention``)."""
        # a term the unit's heading holds is no paraphrase: the heading is embedded with the unit
        missing = missing_words(question, f"{best.context} {best.sentence_text}")[: self.config.paraphrase_terms]
        with self._cache_lock:
            unit_vector = self._cache.get((best.hit.chunk.id, best.span[0], best.span[1]))
        if not missing or unit_vector is None:
            return 0.0
        variants = self._embedder.embed_documents(without_each(question, missing))
        return paraphrase_drop(question_vector, unit_vector, variants)

    def rank(self, question: str, hits: Sequence[Hit], question_vector: Sequence[float]) -> list[Candidate]:
        """The units of ``hits`` that may answer ``question``, scored, best first."""
        return self._ranked(question, hits, question_vector)[0]

    def _ranked(
        self, question: str, hits: Sequence[Hit], question_vector: Sequence[float]
    ) -> tuple[list[Candidate], list[Candidate]]:
        """(the units that fit the question's type, every scored unit), best first."""
        qtype = question_type(question)
        units = preselect(question, candidate_units(hits, self.config.min_words), self.config.embed_candidates, qtype)
        vectors = self._unit_vectors(units)
        scored = score_candidates(question, units, question_vector, vectors, self.config, qtype)
        # scored among all units (their words set the idf), then only those that can answer are kept
        fitting = [c for c in scored if fits(qtype, c.kind, c.sentence_text)]
        titles = [c for c in fitting if c.kind == TITLE]
        focus = focus_of(question)  # "what time", "which organisation": the units that hold one, when any do
        focused = [c for c in fitting if focus is not None and holds(focus, c.sentence_text)]
        return titles or focused or fitting, scored  # "what is the title of ...": a title when one was retrieved

    def quote(
        self, question: str, hits: Sequence[Hit], question_vector: Sequence[float], *, unknown: Coverage = _ALL_KNOWN
    ) -> Answer:
        """Quote the best-supported sentences of ``hits`` (citations not yet checked); ``unknown`` as in ``choose``."""
        started = time.perf_counter()
        candidates, scored = self._ranked(question, hits, question_vector)
        focus = focus_of(question)
        if focus is not None and candidates and holds(focus, candidates[0].sentence_text):
            unknown = self.unknown_terms(question, focus_held=True)  # "organisation", answered by "... Institute"
        rows = [(c.sentence_text, c.context) for c in candidates if c.kind == ROW]
        if asks_extreme_price(question) and priced_table(rows):  # "cheapest": answered by a price column
            unknown = self.unknown_terms(without_extreme(question))
        chosen = decide(
            candidates, self.config, question, unknown, scored,
            drop=lambda best: self.paraphrase_drop(question, best, question_vector),
        )
        text, citations = compose(question, chosen, hits)
        return Answer(
            question=question,
            text=text,
            citations=citations,
            hits=tuple(hits),
            abstained=not citations,
            timings={"answer": (time.perf_counter() - started) * 1000},
        )


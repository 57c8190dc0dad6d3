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
from dataclasses import dataclass, replace

import numpy as np

from index.embedding import Embedder
from index.lexical import LexicalIndex
from index.models import Hit
from index.sentences import split_sentences
from index.store import ChromaStore
from index.text_terms import idf_weights, index_tokens, terms
from rag.abstention import missing_measure, missing_words, paraphrase_drop, without_each
from rag.answer_shape import reshape
from rag.answer_units import ROW, SENTENCE, TITLE, Unit, find_units
from rag.answering import NOT_FOUND, PreparedQuestion, words_a_few_at_a_time
from rag.citations import check_extractive
from rag.models import Answer, Citation
from rag.question_focus import asked, focus_of, holds, without_form
from rag.question_types import QuestionType, fits, question_type, type_bonus
from rag.superlative import asks_extreme_price, priced_table, without_extreme
from rag.term_overlap import Coverage, coverage, weighted_overlap
from rag.unit_spans import without_pieces

_CACHE_SIZE = 20_000
_ALL_KNOWN = Coverage()


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved chunk, with its scores."""

    hit: Hit
    span: tuple[int, int]
    dense: float
    lexical: float
    score: float
    kind: str = SENTENCE  # the kind of unit (``rag.answer_units``)
    bonus: float = 0.0  # the part of ``score`` owed to the question's type (``rag.question_types``)
    novelty: float = 0.0  # the part of ``score`` owed to words the question lacks (``novelty``): ranks, never supports
    context: str = ""  # the heading (and table header) the unit sits under, embedded with it (``embedding_text``)

    @property
    def support(self) -> float:
        """The score without the type bonus: how well the unit itself matches the question."""
        return self.score - self.bonus - self.novelty

    @property
    def sentence_text(self) -> str:
        return self.hit.chunk.text[self.span[0] : self.span[1]]


@dataclass(frozen=True)
class ExtractiveConfig:
    """Weights and thresholds; the defaults are set from the eval sets (see README).

    ``max_sentences`` is a setting (``RAG_ANSWER_SENTENCES``): ``Settings.extractive_config()``
    gives it, so it has no default here.
    """

    max_sentences: int
    dense_weight: float = 0.55
    lexical_weight: float = 0.35
    chunk_weight: float = 0.10
    min_score: float = 0.30  # below this best score: abstain
    min_lexical: float = 0.35  # the best unit must hold this share of the question's terms (sweep_abstention) ...
    strong_dense: float = 0.45  # ... unless it is this close in meaning (both read from sweep_abstention)
    second_ratio: float = 0.8  # a second sentence must score at least this share of the first
    # closeness in meaning alone is no support when the question names at least two things
    # (and this share of its terms) that occur nowhere in the index: the documents never mention them
    max_unknown: float = 0.3
    min_unknown_terms: int = 2
    embed_candidates: int = 10  # units embedded per question, chosen by a cheap pre-score (latency; cached)
    min_words: int = 3
    type_weight: float = 0.15  # the bonus for a unit of the kind the question asks for (``rag.question_types``)
    # a best unit that fails the two tests above still supports an answer when leaving out one of the question's
    # terms it lacks lowers their similarity by this much: it says that term in other words (``rag.abstention``)
    paraphrase_drop: float = 0.05
    paraphrase_terms: int = 8  # at most this many such terms are tried (one embedding each, only before abstaining)
    # a question of fewer content terms loses half its meaning without any one of them: its drop says nothing
    paraphrase_min_terms: int = 3
    # ... and one of which half or more the index has never seen is about something else ("Tesla", "GDP")
    paraphrase_max_unknown: float = 0.5
    check_measures: bool = True  # a question asking for a price, length, phone number or version needs one quoted
    novelty_weight: float = 0.2  # the most a unit gains for saying more than the question (``novelty``)
    novelty_terms: int = 3  # ... which it gains in full with this many terms the question lacks


def candidate_units(hits: Sequence[Hit], min_words: int) -> list[tuple[Hit, Unit]]:
    """Every unit of the retrieved chunks long enough to be an answer, best chunk first.

    A piece of a sentence that a chunk boundary cut, whose whole sentence another retrieved
    chunk holds, is left out (``rag.unit_spans.without_pieces``).
    """
    out: list[tuple[Hit, Unit]] = []
    seen: set[tuple[str, int, int]] = set()
    for hit in hits:
        text = hit.chunk.text
        base = hit.chunk.start
        for unit in find_units(text, document_start=hit.chunk.start == 0):
            s, e = unit.span
            key = (hit.chunk.source, base + s, base + e)  # overlapping chunks repeat units
            body = text[s:e]
            if key in seen or body.endswith("?"):
                continue
            if unit.kind == SENTENCE and len(body.split()) < min_words:
                continue
            seen.add(key)
            out.append((hit, unit))
    return without_pieces(out)


def _unit_terms(hit: Hit, unit: Unit) -> list[str]:
    return terms(f"{unit.context} {hit.chunk.text[unit.span[0] : unit.span[1]]}")


def preselect(
    question: str, units: Sequence[tuple[Hit, Unit]], limit: int, qtype: QuestionType
) -> list[tuple[Hit, Unit]]:
    """The ``limit`` units worth embedding: term overlap, fit to the question's type, chunk rank (pure)."""
    # "which organisation", "how big": what the answer is, not what it says
    q_terms = terms(asked(question, (h.chunk.text[u.span[0] : u.span[1]] for h, u in units)))
    focus = focus_of(question)
    unit_terms = [_unit_terms(h, u) for h, u in units]
    idf = idf_weights(unit_terms)
    keyed = [
        (
            weighted_overlap(q_terms, ut, idf)
            + 0.3 * type_bonus(qtype, u.kind, h.chunk.text[u.span[0] : u.span[1]])
            + 0.3 * fits(qtype, u.kind, h.chunk.text[u.span[0] : u.span[1]])
            + 0.3 * (focus is not None and holds(focus, h.chunk.text[u.span[0] : u.span[1]]))
            + 0.3 * (missing_measure(question, [h.chunk.text[u.span[0] : u.span[1]]]) is None)
            + 0.5 / hit.rank,
            i,
        )
        for i, ((hit, u), ut) in enumerate(zip(units, unit_terms, strict=True))
        for h in (hit,)
    ]
    keep = sorted(i for _, i in sorted(keyed, key=lambda k: (-k[0], k[1]))[:limit])
    return [units[i] for i in keep]


def embedding_text(hit: Hit, unit: Unit) -> str:
    """What is embedded for a unit: its text, after the heading (and table header) it sits under."""
    body = hit.chunk.text[unit.span[0] : unit.span[1]]
    return f"{unit.context}: {body}" if unit.context else body


def novelty(question_terms: Sequence[str], unit_terms: Sequence[str], saturation: int) -> float:
    """0..1: how much a unit says beyond the question, by its distinct terms the question lacks (pure).

    An answer holds something the question does not: "What suggests that the viruses have
    low genetic diversity?" is not answered by "This suggests that the viruses may have low
    genetic diversity.", which shares every word with it, but by the sentence that names
    the evidence. Counted up to ``saturation`` terms, so long units gain no more than full ones.
    """
    if saturation < 1:
        return 0.0
    new = set(unit_terms) - set(question_terms)
    return min(len(new), saturation) / saturation


def score_candidates(
    question: str,
    units: Sequence[tuple[Hit, Unit]],
    question_vector: Sequence[float],
    unit_vectors: Sequence[Sequence[float]],
    config: ExtractiveConfig,
    qtype: QuestionType | None = None,
) -> list[Candidate]:
    """Score each unit against the question (pure); best first."""
    if not units:
        return []
    qtype = qtype or question_type(question)
    q_terms = terms(asked(question, (h.chunk.text[u.span[0] : u.span[1]] for h, u in units)))
    unit_terms = [_unit_terms(h, u) for h, u in units]
    own_terms = [terms(h.chunk.text[u.span[0] : u.span[1]]) for h, u in units]
    idf = idf_weights(unit_terms)
    q = np.asarray(question_vector, dtype=np.float32)
    m = np.asarray(unit_vectors, dtype=np.float32)
    dense = m @ q
    top_chunk = max(h.score for h, _ in units) or 1.0
    scored = []
    for (hit, unit), d, ut, ot in zip(units, dense.tolist(), unit_terms, own_terms, strict=True):
        own = weighted_overlap(q_terms, ot, idf)
        framed = weighted_overlap(q_terms, ut, idf)
        # a heading's words count half; a title is asked for by what its title page says ("dated ...")
        lex = framed if unit.kind == TITLE else own + 0.5 * (framed - own)
        body = hit.chunk.text[unit.span[0] : unit.span[1]]
        bonus = config.type_weight * type_bonus(qtype, unit.kind, body)
        new = config.novelty_weight * novelty(q_terms, ot, config.novelty_terms)
        score = (
            config.dense_weight * d
            + config.lexical_weight * lex
            + config.chunk_weight * max(hit.score, 0.0) / top_chunk
            + bonus
            + new
        )
        scored.append(Candidate(hit, unit.span, float(d), lex, score, unit.kind, bonus, new, unit.context))
    scored.sort(key=lambda c: c.score, reverse=True)
    return scored


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


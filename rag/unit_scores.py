"""Answer units scored against a question: which units are candidates, which are embedded, their scores.

The extractive answerer (``rag.extractive``) takes the units of the retrieved chunks
(``candidate_units``), embeds the few a cheap pre-score ranks highest (``preselect``), and
scores each by closeness in meaning, the share of the question's terms it holds, its chunk's
retrieval score, its fit to the question's type and what it says beyond the question
(``score_candidates``). Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.models import Hit
from index.text_terms import idf_weights, terms
from rag.abstention import missing_measure
from rag.answer_units import SENTENCE, TITLE, Unit, find_units
from rag.question_focus import asked, focus_of, holds
from rag.question_types import QuestionType, fits, question_type, type_bonus
from rag.term_overlap import weighted_overlap
from rag.unit_spans import without_pieces


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
    keyed = []
    for i, ((hit, u), ut) in enumerate(zip(units, unit_terms, strict=True)):
        body = hit.chunk.text[u.span[0] : u.span[1]]
        pre = (
            weighted_overlap(q_terms, ut, idf)
            + 0.3 * type_bonus(qtype, u.kind, body)
            + 0.3 * fits(qtype, u.kind, body)
            + 0.3 * (focus is not None and holds(focus, body))
            + 0.3 * (missing_measure(question, [body]) is None)
            + 0.5 / hit.rank
        )
        keyed.append((pre, i))
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

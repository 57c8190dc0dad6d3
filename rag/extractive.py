"""The offline default answerer: quote the best-supported sentences and cite them.

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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from index.embedding import Embedder
from index.lexical import LexicalIndex
from index.models import Hit
from index.sentences import split_sentences
from index.store import ChromaStore
from index.text_terms import idf_weights, index_tokens, terms
from rag.answer_types import can_answer, expected_type
from rag.answering import NOT_FOUND, PreparedQuestion, words_a_few_at_a_time
from rag.citations import check_extractive
from rag.models import Answer, Citation
from rag.term_overlap import Coverage, coverage, weighted_overlap

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
    min_lexical: float = 0.40  # the best sentence must hold this share of the question's terms ...
    strong_dense: float = 0.50  # ... unless it is this close in meaning
    second_ratio: float = 0.8  # a second sentence must score at least this share of the first
    # closeness in meaning alone is no support when the question names at least two things
    # (and this share of its terms) that occur nowhere in the index: the documents never mention them
    max_unknown: float = 0.3
    min_unknown_terms: int = 2
    embed_candidates: int = 6  # sentences embedded per question, chosen by a cheap pre-score (latency)
    min_words: int = 3


def candidate_spans(hits: Sequence[Hit], min_words: int) -> list[tuple[Hit, tuple[int, int]]]:
    """Every sentence of the retrieved chunks long enough to be an answer, best chunk first."""
    out: list[tuple[Hit, tuple[int, int]]] = []
    seen: set[tuple[str, int]] = set()
    for hit in hits:
        base = hit.chunk.start
        for s, e in split_sentences(hit.chunk.text):
            key = (hit.chunk.source, base + s)  # overlapping chunks repeat sentences
            sentence = hit.chunk.text[s:e]
            # headings and questions restate a topic; they do not answer it
            if key in seen or len(sentence.split()) < min_words or sentence.startswith("#") or sentence.endswith("?"):
                continue
            seen.add(key)
            out.append((hit, (s, e)))
    return out


def preselect(
    question: str, spans: Sequence[tuple[Hit, tuple[int, int]]], limit: int
) -> list[tuple[Hit, tuple[int, int]]]:
    """The ``limit`` sentences worth embedding: term overlap with the question, then chunk rank (pure)."""
    q_terms = terms(question)
    sentence_terms = [terms(h.chunk.text[s:e]) for h, (s, e) in spans]
    idf = idf_weights(sentence_terms)
    keyed = [
        (weighted_overlap(q_terms, st, idf) + 0.5 / hit.rank, i)
        for i, ((hit, _), st) in enumerate(zip(spans, sentence_terms, strict=True))
    ]
    keep = sorted(i for _, i in sorted(keyed, key=lambda k: (-k[0], k[1]))[:limit])
    return [spans[i] for i in keep]


def score_candidates(
    question: str,
    spans: Sequence[tuple[Hit, tuple[int, int]]],
    question_vector: Sequence[float],
    sentence_vectors: Sequence[Sequence[float]],
    config: ExtractiveConfig,
) -> list[Candidate]:
    """Score each sentence against the question (pure); best first."""
    if not spans:
        return []
    q_terms = terms(question)
    sentence_terms = [terms(h.chunk.text[s:e]) for h, (s, e) in spans]
    idf = idf_weights(sentence_terms)
    q = np.asarray(question_vector, dtype=np.float32)
    m = np.asarray(sentence_vectors, dtype=np.float32)
    dense = m @ q
    top_chunk = max(h.score for h, _ in spans) or 1.0
    scored = []
    for (hit, span), d, st in zip(spans, dense.tolist(), sentence_terms, strict=True):
        lex = weighted_overlap(q_terms, st, idf)
        score = (
            config.dense_weight * d
            + config.lexical_weight * lex
            + config.chunk_weight * max(hit.score, 0.0) / top_chunk
        )
        scored.append(Candidate(hit, span, float(d), lex, score))
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
        if cand is best or cand.score < config.min_score or not same_chunk or cand.span not in beside:
            continue
        if missing & set(terms(cand.sentence_text)):
            return cand
    return None


def choose(
    candidates: Sequence[Candidate],
    config: ExtractiveConfig,
    question_terms: Sequence[str] = (),
    unknown: Coverage = _ALL_KNOWN,
) -> list[Candidate]:
    """The sentences to answer with, or [] to abstain (pure).

    The best sentence, then others scoring close to it; failing those, its neighbour
    when that one completes the question's terms (see ``complement``). ``unknown`` tells
    how many of the question's terms the index has never seen (``rag.term_overlap.coverage``).
    """
    if not candidates:
        return []
    best = candidates[0]
    names_the_unknown = unknown.unknown >= config.min_unknown_terms and unknown.share >= config.max_unknown
    close_in_meaning = best.dense >= config.strong_dense and not names_the_unknown
    supported = best.lexical >= config.min_lexical or close_in_meaning
    if best.score < config.min_score or not supported:
        return []
    chosen = [best]
    for cand in candidates[1:]:
        if len(chosen) >= config.max_sentences:
            break
        if cand.score < config.second_ratio * best.score or cand.score < config.min_score:
            break
        chosen.append(cand)
    if len(chosen) == 1 and config.max_sentences > 1:
        extra = complement(best, candidates, question_terms, config)
        if extra is not None:
            chosen = sorted([best, extra], key=lambda c: c.span[0])  # read in the document's order
    return chosen


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

    def _sentence_vectors(self, spans: Sequence[tuple[Hit, tuple[int, int]]]) -> list[list[float]]:
        """Sentence embeddings, remembered per chunk and span (popular passages recur)."""
        keys = [(h.chunk.id, s, e) for h, (s, e) in spans]
        with self._cache_lock:
            known = {k: self._cache[k] for k in keys if k in self._cache}
        missing = [i for i, k in enumerate(keys) if k not in known]
        if missing:
            fresh = self._embedder.embed_documents(
                [spans[i][0].chunk.text[spans[i][1][0] : spans[i][1][1]] for i in missing]
            )
            with self._cache_lock:
                for i, vec in zip(missing, fresh, strict=True):
                    known[keys[i]] = vec
                    self._cache[keys[i]] = vec
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        return [known[k] for k in keys]

    def unknown_terms(self, question: str) -> Coverage:
        """How many of ``question``'s terms the index has never seen (none without a lexical index)."""
        if self._lexical is None or self._store is None:
            return _ALL_KNOWN
        self._lexical.sync(self._store)  # its vocabulary tells what the documents never mention (any mode)
        if not len(self._lexical):
            return Coverage()
        question_tokens = index_tokens([question])[0]
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

    def quote(
        self, question: str, hits: Sequence[Hit], question_vector: Sequence[float], *, unknown: Coverage = _ALL_KNOWN
    ) -> Answer:
        """Quote the best-supported sentences of ``hits`` (citations not yet checked); ``unknown`` as in ``choose``."""
        started = time.perf_counter()
        spans = preselect(question, candidate_spans(hits, self.config.min_words), self.config.embed_candidates)
        vectors = self._sentence_vectors(spans)
        candidates = score_candidates(question, spans, question_vector, vectors, self.config)
        kind = expected_type(question)
        candidates = [c for c in candidates if can_answer(c.hit.chunk.text[c.span[0] : c.span[1]], kind)]
        chosen = choose(candidates, self.config, terms(question), unknown)
        text, citations = compose(question, chosen, hits)
        return Answer(
            question=question,
            text=text,
            citations=citations,
            hits=tuple(hits),
            abstained=not citations,
            timings={"answer": (time.perf_counter() - started) * 1000},
        )


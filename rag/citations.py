"""Checked citations: parse ``[n]`` markers, drop invented ones, score each sentence's support (pure).

Whatever produced the answer (the extractive answerer or any LLM), the same checks
run on its text:

1. every ``[n]`` marker (also ``[1, 2]``, ``[1-3]``, ``[Source 2]``) is parsed;
   numbers that name no source are removed from the text and counted;
2. the answer is split into sentences; a marker belongs to the sentence it ends
   (``"... grew. [1]"`` counts for "grew");
3. each sentence gets a support score against the passages it cites: the
   idf-weighted share of its content words found in the best single sentence, or
   pair of adjacent sentences, of one cited passage. That window is the evidence
   span. Below ``min_support`` the sentence is flagged unsupported;
4. an answer that does not abstain and keeps no valid citation is marked ``uncited``.

Lexical support is cheap (well under 20 ms per answer) and transparent; it cannot
judge paraphrase the way an entailment model could, so the threshold is moderate.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from index.models import Chunk
from index.sentences import split_sentences
from index.text_terms import idf_weights, terms
from rag.models import Answer, Citation, SentenceSupport

MIN_SUPPORT = 0.5
MIN_CLAIM_TERMS = 2  # sentences with fewer content words are not checked ("Yes.", "In short:")

# The one pattern of a citation marker; rag.views and evals.metrics use it too.
MARKER = re.compile(
    r"\s?\[\s*(?:sources?\s*)?(\d{1,3}(?:\s*(?:[,;]|–|-|and)\s*(?:sources?\s*)?\d{1,3})*)\s*\]",
    re.IGNORECASE,
)
_NUM_OR_RANGE = re.compile(r"(\d+)\s*(?:(?:-|–)\s*(\d+))?")
_PUNCT_SPACE = re.compile(r"\s+([.,;:!?])")
_LEADING_MARKERS = re.compile(r"(?:\s*\[[^\]]{1,40}\])+")


@dataclass(frozen=True)
class Marker:
    """A ``[...]`` citation marker: its span in the text and the numbers it names."""

    start: int
    end: int
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class CheckResult:
    """What the checks found; ``text`` has the invalid markers removed."""

    text: str
    sentences: tuple[SentenceSupport, ...]
    citations: tuple[Citation, ...]
    removed: tuple[int, ...]
    uncited: bool
    abstained: bool


def parse_markers(text: str) -> list[Marker]:
    """Every citation marker in ``text``, in order (pure).

    >>> [m.numbers for m in parse_markers("A [1]. B [2, 3][4-5]. C [x].")]
    [(1,), (2, 3), (4, 5)]
    """
    out: list[Marker] = []
    for m in MARKER.finditer(text):
        numbers: list[int] = []
        for a, b in _NUM_OR_RANGE.findall(m.group(1)):
            lo, hi = int(a), int(b or a)
            if hi < lo or hi - lo > 20:
                hi = lo
            numbers.extend(range(lo, hi + 1))
        out.append(Marker(m.start(), m.end(), tuple(dict.fromkeys(numbers))))
    return out


def remove_invalid(text: str, valid: set[int] | frozenset[int]) -> tuple[str, tuple[int, ...]]:
    """Rewrite markers to keep only ``valid`` numbers; return the text and the numbers removed (pure).

    >>> remove_invalid("Grew [1][7]. Fell [2, 9].", {1, 2})
    ('Grew [1]. Fell [2].', (7, 9))
    """
    removed: list[int] = []
    pieces: list[str] = []
    last = 0
    for marker in parse_markers(text):
        keep = [n for n in marker.numbers if n in valid]
        removed.extend(n for n in marker.numbers if n not in valid)
        if len(keep) == len(marker.numbers):
            continue
        lead = " " if text[marker.start].isspace() else ""
        pieces.append(text[last : marker.start])
        if keep:
            pieces.append(lead + "[" + ", ".join(str(n) for n in keep) + "]")
        elif lead and text.startswith("[", marker.end):
            pieces.append(lead)  # "x [7][2]" -> "x [2]", not "x[2]"
        last = marker.end
    pieces.append(text[last:])
    return "".join(pieces), tuple(removed)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Answer sentences, with markers that open a sentence moved to the one before (pure)."""
    spans = split_sentences(text)
    out: list[tuple[int, int]] = []
    for s, e in spans:
        lead = _LEADING_MARKERS.match(text, s)
        if lead and out and lead.end() > s:
            ps, _ = out[-1]
            out[-1] = (ps, lead.end())
            s = lead.end()
            while s < e and text[s].isspace():
                s += 1
        if e > s:
            out.append((s, e))
    return out


@lru_cache(maxsize=4096)
def evidence_windows(chunk_text: str) -> tuple[tuple[tuple[int, int], frozenset[str]], ...]:
    """Single sentences and adjacent pairs of a passage, with their terms: the candidate evidence spans.

    Memoised by text: the same passages come back answer after answer.
    """
    spans = split_sentences(chunk_text)
    singles = [(span, frozenset(terms(chunk_text[span[0] : span[1]]))) for span in spans]
    pairs = [((a[0][0], b[0][1]), a[1] | b[1]) for a, b in itertools.pairwise(singles)]
    return tuple(singles + pairs)


def _support(claim: Sequence[str], window: frozenset[str], weights: Mapping[str, float], total: float) -> float:
    return sum(weights[t] for t in set(claim) if t in window) / total if total else 0.0


def _is_abstention(text: str, no_answer: str) -> bool:
    norm = " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
    phrase = " ".join(re.sub(r"[^\w\s]", " ", no_answer.lower()).split())
    return bool(phrase) and phrase in norm


def check_answer(
    text: str,
    sources: Mapping[int, Chunk],
    *,
    no_answer: str = "",
    min_support: float = MIN_SUPPORT,
) -> CheckResult:
    """Run every check on ``text``, whose ``[n]`` refer to ``sources`` (pure).

    ``no_answer`` is the wording of an abstention; an answer containing it is an
    abstention and needs no citation.
    """
    cleaned, removed = remove_invalid(text.strip(), frozenset(sources))
    windows = {n: evidence_windows(chunk.text) for n, chunk in sources.items()}
    distinct = {chunk.text: windows[n] for n, chunk in sources.items()}
    idf = idf_weights([t for ws in distinct.values() for _, t in ws])
    abstained = _is_abstention(cleaned, no_answer) if no_answer else False

    checked: list[SentenceSupport] = []
    best_for: dict[int, tuple[float, tuple[int, int], list[int]]] = {}
    for index, (s, e) in enumerate(sentence_spans(cleaned)):
        sentence = cleaned[s:e]
        cited = tuple(dict.fromkeys(n for m in parse_markers(sentence) for n in m.numbers))
        bare = _PUNCT_SPACE.sub(r"\1", re.sub(r"\s+", " ", MARKER.sub(" ", sentence))).strip()
        claim_terms = terms(bare)
        claim = len(set(claim_terms)) >= MIN_CLAIM_TERMS and not (abstained and _is_abstention(bare, no_answer))
        score, source, evidence = 0.0, None, None
        default = max(idf.values(), default=1.0)
        weights = {t: idf.get(t, default) for t in set(claim_terms)}
        total = sum(weights.values())
        for n in cited:
            for window, window_terms in windows[n]:
                value = _support(claim_terms, window_terms, weights, total)
                if value > score + 1e-9:
                    score, source, evidence = value, n, window
        for n in cited:
            previous = best_for.get(n)
            if previous is None:
                best_for[n] = (score if source == n else 0.0, evidence if source == n and evidence else (0, 0), [index])
            else:
                previous[2].append(index)
                if source == n and evidence and score > previous[0]:
                    best_for[n] = (score, evidence, previous[2])
        supported = (not claim) or score >= min_support
        checked.append(SentenceSupport(bare, (s, e), cited, round(score, 4), supported, source, evidence, claim))

    citations = tuple(
        Citation(n, sources[n], span if span != (0, 0) else _first_span(sources[n].text), round(score, 4), tuple(idx))
        for n, (score, span, idx) in sorted(best_for.items())
    )
    uncited = not abstained and not citations and bool(cleaned)
    return CheckResult(cleaned, tuple(checked), citations, removed, uncited, abstained)


def _first_span(text: str) -> tuple[int, int]:
    spans = split_sentences(text)
    return spans[0] if spans else (0, len(text))


def summarize(sentences: Sequence[SentenceSupport]) -> dict[str, int]:
    """Counts for reports: checked claims, supported, unsupported (pure)."""
    claims = [s for s in sentences if s.claim]
    return {
        "claims": len(claims),
        "supported": sum(s.supported for s in claims),
        "unsupported": sum(not s.supported for s in claims),
    }


def check_extractive(answer: Answer, no_answer: str) -> Answer:
    """Run the same checks on an extractive answer, keeping its own citations (pure).

    The extractive answerer quotes its sources, so its sentences should all check
    as supported; running the checks anyway keeps one contract for every backend.
    """
    started = time.perf_counter()
    result = check_answer(answer.text, {c.n: c.chunk for c in answer.citations}, no_answer=no_answer)
    indexes: dict[int, list[int]] = {}
    for i, sentence in enumerate(result.sentences):
        for n in sentence.cited:
            indexes.setdefault(n, []).append(i)
    timings = dict(answer.timings, check=(time.perf_counter() - started) * 1000)
    return replace(
        answer,
        text=result.text,
        citations=tuple(replace(c, sentences=tuple(indexes.get(c.n, ()))) for c in answer.citations),
        sentences=result.sentences,
        removed_citations=result.removed,
        uncited=result.uncited,
        abstained=answer.abstained or result.abstained,
        timings=timings,
    )

"""Eval metrics as pure functions; docs/evals.md defines each one in words.

Ranking metrics follow trec_eval over a ranked list of *distinct documents* (the
order in which each source first appears among the retrieved chunks) and a gold
mapping ``document -> relevance grade`` (> 0 is relevant):

- ``hit_at(k)`` (trec_eval ``success_k``): 1 when a relevant document is in the top k;
- ``recall_at(k)``: the share of relevant documents found in the top k;
- ``reciprocal_rank(k)``: 1 / rank of the first relevant document, 0 past rank k;
- ``ndcg_at(k)`` (``ndcg_cut_k``): sum of grade / log2(rank + 1) over the top k,
  divided by the same sum for the ideal order of the gold documents.

Answer metrics use the official SQuAD v1.1 normalisation (lower case, drop ASCII
punctuation, drop the articles a/an/the, collapse white space) and take the best
score over the reference answers. One step comes first: Unicode NFKC, the same
normalisation the loaders apply to every ingested document. Without it a reference
that keeps a ligature or a narrow no-break space ("ﬁ", U+202F; 22 of covid-qa's 963
answers do) could never be found in the passage it was taken from.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from rag.citations import MARKER

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


# -- ranking over documents -------------------------------------------------------------


def distinct(items: Iterable[str]) -> list[str]:
    """Items in order of first appearance: the document ranking of a list of chunk sources."""
    return list(dict.fromkeys(items))


def _relevant(gold: Mapping[str, int]) -> set[str]:
    return {doc for doc, grade in gold.items() if grade > 0}


def first_relevant_rank(ranked: Sequence[str], gold: Mapping[str, int]) -> int | None:
    """1-based rank of the first relevant document, or None when none was retrieved."""
    relevant = _relevant(gold)
    return next((i for i, doc in enumerate(ranked, start=1) if doc in relevant), None)


def hit_at(ranked: Sequence[str], gold: Mapping[str, int], k: int) -> float:
    rank = first_relevant_rank(ranked[:k], gold)
    return 1.0 if rank is not None else 0.0


def recall_at(ranked: Sequence[str], gold: Mapping[str, int], k: int) -> float:
    relevant = _relevant(gold)
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:k])) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], gold: Mapping[str, int], k: int = 10) -> float:
    rank = first_relevant_rank(ranked[:k], gold)
    return 1.0 / rank if rank is not None else 0.0


def ndcg_at(ranked: Sequence[str], gold: Mapping[str, int], k: int = 10) -> float:
    """trec_eval's ndcg_cut_k: graded gains, log2(rank + 1) discount, ideal over all gold."""
    dcg = sum(max(gold.get(doc, 0), 0) / math.log2(i + 1) for i, doc in enumerate(ranked[:k], start=1))
    ideal = sorted((g for g in gold.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


# -- answers -----------------------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """The official SQuAD v1.1 normalisation, after the loaders' Unicode NFKC."""
    text = "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def strip_markers(text: str) -> str:
    """An answer without its citation markers (``[n]``, ``[1, 2]``, ... as ``rag.citations`` reads them)."""
    return " ".join(MARKER.sub(" ", text).split())


def exact_match(prediction: str, reference: str) -> float:
    return 1.0 if normalize_answer(prediction) == normalize_answer(reference) else 0.0


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1: harmonic mean of token precision and recall after normalisation."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return 1.0 if pred == ref else 0.0
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains(text: str, reference: str) -> bool:
    """The normalised reference appears in the normalised text as whole words."""
    ref = normalize_answer(reference)
    return bool(ref) and f" {ref} " in f" {normalize_answer(text)} "


def best(metric: str, prediction: str, references: Sequence[str]) -> float:
    """The best of ``em``, ``f1`` or ``contained`` over the references (0 with none)."""
    if metric == "em":
        scores = [exact_match(prediction, r) for r in references]
    elif metric == "f1":
        scores = [token_f1(prediction, r) for r in references]
    elif metric == "contained":
        scores = [1.0 if contains(prediction, r) else 0.0 for r in references]
    else:
        raise ValueError(f"unknown answer metric {metric!r}")
    return max(scores, default=0.0)


# -- answer passages (DPR top-k accuracy) --------------------------------------------------


def answer_passage_rank(passages: Sequence[str], references: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved passage that contains a reference answer."""
    refs = [f" {r} " for r in (normalize_answer(x) for x in references) if r]
    for i, passage in enumerate(passages, start=1):
        text = f" {normalize_answer(passage)} "
        if any(r in text for r in refs):
            return i
    return None


def rank_hit(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def rank_reciprocal(rank: int | None, k: int) -> float:
    return 1.0 / rank if rank is not None and rank <= k else 0.0


# -- citations (ALCE-style) ----------------------------------------------------------------


def citation_correct(passage: str, document: str, references: Sequence[str], gold: Mapping[str, int]) -> bool:
    """A citation is correct when its passage contains a reference answer or its document is gold."""
    return gold.get(document, 0) > 0 or any(contains(passage, r) for r in references)


def citation_precision(correct: Sequence[bool]) -> float | None:
    """Share of an answer's citations that are correct; None for an answer without citations."""
    return sum(correct) / len(correct) if correct else None


def citation_recall(sentence_citations: Sequence[Sequence[int]], correct: Mapping[int, bool]) -> float | None:
    """Share of answer sentences citing at least one correct source; None with no sentences."""
    if not sentence_citations:
        return None
    supported = sum(1 for cited in sentence_citations if any(correct.get(n, False) for n in cited))
    return supported / len(sentence_citations)


# -- abstention and aggregation --------------------------------------------------------------


def abstention(unanswerable: Sequence[bool], abstained: Sequence[bool]) -> tuple[float | None, float | None]:
    """(precision, recall) of abstaining, with the unanswerable cases as the positives.

    Both are None for a set without unanswerable cases: there is nothing to measure.
    """
    both = sum(1 for u, a in zip(unanswerable, abstained, strict=True) if u and a)
    n_abstained, n_unanswerable = sum(abstained), sum(unanswerable)
    if not n_unanswerable:
        return None, None
    precision = both / n_abstained if n_abstained else None
    recall = both / n_unanswerable if n_unanswerable else None
    return precision, recall


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values; None when none is."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

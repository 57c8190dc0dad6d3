"""Words, stop words, stems and idf: the one place text becomes terms (pure, but for the stemmer).

Retrieval (the BM25 index, proximity re-ranking, the unknown-term coverage) and the
answerers (sentence choice, citation checks, follow-up detection) all take their terms
from here, so a word is stemmed the same way everywhere and idf has one formula.

Two tokenizers, on purpose, each with its own stop-word list:

- ``index_tokens`` makes the BM25 tokens of chunks and questions: lower case, runs of two
  or more word characters, the short ``RANKING_STOP_WORDS`` list, Snowball stems. Every
  index built so far holds these tokens, and the eval numbers were measured with them.
- ``terms`` makes the content terms the answerers compare: words with an inner
  apostrophe kept whole ("don't"), one-letter words kept, and the longer
  ``ANSWER_STOP_WORDS`` list (pronouns, auxiliaries, "according", "tell", ...) dropped,
  since a sentence that shares only such words with the question is not evidence.

Merging the two would change what BM25 ranks and which sentences the answerers pick;
``ANSWER_STOP_WORDS`` is a superset of ``RANKING_STOP_WORDS``, so the lists differ only
by the words that matter for answers but are kept for ranking.

The stemmer is PyStemmer, a declared dependency: without it every call here raises
``MissingStemmerError`` instead of quietly returning unstemmed words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from index.errors import RagError


class MissingStemmerError(RagError):
    """PyStemmer, which every tokenizer of this project needs, is not installed."""


# The English list of bm25s / scikit-learn style BM25 tokenizers: what ranking ignores.
RANKING_STOP_WORDS = frozenset(
    """
    a an and are as at be but by for if in into is it no not of on or such that the their
    then there these they this to was will with
    """.split()
)

# What the answerers ignore: the ranking list plus pronouns, auxiliaries and question framing.
ANSWER_STOP_WORDS = RANKING_STOP_WORDS | frozenset(
    """
    about above after again against all also am any because been before being below between
    both can could did do does doing down during each few from further had has have having he
    her here hers herself him himself his how i its itself just me more most my myself nor now
    off once only other our ours ourselves out over own same she should so some than theirs
    them themselves those through too under until up very we were what when where which while
    who whom why would you your yours yourself yourselves s t don doesn didn isn wasn aren
    weren won shall may might must let us according say said says tell told please much many one
    """.split()
)

_INDEX_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    try:
        import Stemmer
    except ImportError as exc:
        raise MissingStemmerError(
            "the PyStemmer package is not installed, and every search and answer needs its English "
            "stemmer; install it with `pip install PyStemmer` (it is a dependency of rag-assistant)"
        ) from exc
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball English stem of a lower-case word."""
    return str(_stemmer().stemWord(word))


def index_tokens(texts: Sequence[str]) -> list[list[str]]:
    """The BM25 tokens of each text: the same for chunks and questions.

    A text met again in ``texts`` (boilerplate, a file of one repeated word) is tokenized once.
    """
    known: dict[str, list[str]] = {}
    out: list[list[str]] = []
    for text in texts:
        tokens = known.get(text)
        if tokens is None:
            tokens = known[text] = [
                stem(w) for w in _INDEX_TOKEN.findall(text.lower()) if w not in RANKING_STOP_WORDS
            ]
        out.append(list(tokens))
    return out


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (inner apostrophes kept, curly ones made straight)."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Stemmed content words of ``text`` for the answerers, stop words dropped, in order."""
    return [stem(w) for w in words(text) if w not in ANSWER_STOP_WORDS]


def idf_weights(documents: Iterable[Iterable[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency of each term over ``documents`` (the BM25 idf)."""
    n = 0
    df: dict[str, int] = {}
    for doc in documents:
        n += 1
        for term in set(doc):
            df[term] = df.get(term, 0) + 1
    return idf_from_counts(df, n)


def idf_from_counts(document_frequency: dict[str, int], documents: int) -> dict[str, float]:
    """The idf of each term that occurs in ``document_frequency[term]`` of ``documents``."""
    n = documents
    return {t: math.log(1.0 + (n - d + 0.5) / (d + 0.5)) for t, d in document_frequency.items()}


@lru_cache(maxsize=1)
def answer_stop_stems() -> frozenset[str]:
    """The answer stop words and their stems: what index tokens of a stop word can look like."""
    return ANSWER_STOP_WORDS | frozenset(stem(w) for w in ANSWER_STOP_WORDS)

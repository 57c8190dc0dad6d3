"""Generated passages for the scale benchmark: fixed seed, Zipf-like vocabulary, ~170 words each.

The vocabulary starts with the real words of this repository's own docs (most frequent
first) and goes on with pronounceable made-up words, so the term statistics look like
prose: a few very common words, a long tail of rare ones. Passages are grouped into
documents of ``per_document`` passages, as chunks are grouped by file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
VOCABULARY = 40_000
ZIPF_S = 1.07
WORDS_PER_PASSAGE = 170
_ONSETS = ("b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "br", "tr", "st", "pl", "gr", "ch", "sh")
_VOWELS = ("a", "e", "i", "o", "u", "ea", "io", "ou")
_CODAS = ("", "n", "r", "s", "t", "l", "m", "nd", "st", "rk")


@dataclass(frozen=True)
class Passage:
    """One generated chunk: its document, position in it, its words and their stems."""

    source: str
    position: int
    words: tuple[str, ...]
    tokens: tuple[str, ...]

    @property
    def chunk_id(self) -> str:
        return f"{self.source}#{self.position}"

    @property
    def text(self) -> str:
        """Sentences of 17 words."""
        w = self.words
        return ". ".join(" ".join(w[j:j + 17]) for j in range(0, len(w), 17)) + "."


def vocabulary(size: int = VOCABULARY, seed: int = 7) -> list[str]:
    """Real words of the repo's docs by frequency, then made-up words, ``size`` in all (pure given the repo)."""
    counts: Counter[str] = Counter()
    for path in sorted([*REPO.glob("docs/*.md"), REPO / "README.md"]):
        if path.is_file():
            counts.update(re.findall(r"[a-z]{2,}", path.read_text(encoding="utf-8").lower()))
    words = [w for w, _ in counts.most_common()]
    seen = set(words)
    rng = np.random.default_rng(seed)
    while len(words) < size:
        syllables = int(rng.integers(2, 5))
        parts = [(rng.integers(len(_ONSETS)), rng.integers(len(_VOWELS)), rng.integers(len(_CODAS)))
                 for _ in range(syllables)]
        word = "".join(_ONSETS[o] + _VOWELS[v] + _CODAS[c] for o, v, c in parts)
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words[:size]


def zipf_weights(size: int, s: float = ZIPF_S) -> np.ndarray:
    ranks = np.arange(1, size + 1, dtype=np.float64)
    weights = ranks**-s
    normalised: np.ndarray = weights / weights.sum()
    return normalised


def stems_of(words: list[str]) -> list[str]:
    """Each word's token as ``index.text_terms.index_tokens`` makes it ("" for a stop word).

    Generated text is vocabulary words ([a-z]{2,}) between spaces and full stops, so
    tokenizing a passage is the same as mapping each of its words through this table.
    """
    from index.text_terms import index_tokens

    return [t[0] if t else "" for t in index_tokens(words)]


def passages(count: int, *, per_document: int = 20, seed: int = 1, prefix: str = "doc") -> Iterator[Passage]:
    """``count`` passages in documents of ``per_document``, the same for the same arguments."""
    vocab = vocabulary()
    words = np.array(vocab, dtype=object)
    stems = np.array(stems_of(vocab), dtype=object)
    keep = stems != ""
    weights = zipf_weights(len(words))
    rng = np.random.default_rng(seed)
    block = 2_000
    for start in range(0, count, block):
        n = min(block, count - start)
        lengths = rng.integers(WORDS_PER_PASSAGE - 30, WORDS_PER_PASSAGE + 31, size=n)
        picks = rng.choice(len(words), size=int(lengths.sum()), p=weights)
        offset = 0
        for i in range(n):
            ids = picks[offset:offset + lengths[i]]
            offset += int(lengths[i])
            number = start + i
            yield Passage(
                f"{prefix}-{number // per_document:07d}", number % per_document,
                tuple(words[ids]), tuple(stems[ids[keep[ids]]]),
            )


def queries(count: int, *, seed: int = 2) -> list[str]:
    """Questions of 3-7 words drawn from the same vocabulary (mid-frequency words more often)."""
    words = vocabulary()
    weights = zipf_weights(len(words), 0.8)
    rng = np.random.default_rng(seed)
    return [
        " ".join(words[int(i)] for i in rng.choice(len(words), size=int(rng.integers(3, 8)), p=weights))
        for _ in range(count)
    ]

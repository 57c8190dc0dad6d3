"""Context packing: numbered sources, most relevant first, within a token budget (pure).

Passages are wrapped as data: ``<source n="1" file="..." page="...">...</source>``
inside a ``<sources>`` block. Text in a document that imitates those tags is
defused, so a document cannot close the data block and speak as the prompt.
Token counts are cl100k (``index.tokens``); the model's own tokenizer may count a
little differently, which is why the budget keeps a safety margin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.models import Hit
from index.tokens import count_tokens

_TAG = re.compile(r"<\s*(/?)\s*(sources?)\b", re.IGNORECASE)
MIN_SOURCE_TOKENS = 24  # a passage cut shorter than this is not worth sending


@dataclass(frozen=True)
class PackedSource:
    """Source ``[n]`` as the model sees it: the hit and the (possibly cut) text sent."""

    n: int
    hit: Hit
    text: str
    tokens: int
    truncated: bool = False


def defuse(text: str) -> str:
    """Neutralise look-alikes of the delimiting tags inside document text."""
    return _TAG.sub(lambda m: f"‹{m.group(1)}{m.group(2)}", text)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def format_source(n: int, hit: Hit, text: str) -> str:
    """One delimited source block."""
    page = f' page="{hit.chunk.page}"' if hit.chunk.page else ""
    return f'<source n="{n}" file="{_attr(hit.chunk.display)}"{page}>\n{defuse(text)}\n</source>'


def truncate_to_tokens(text: str, limit: int, count: Callable[[str], int] = count_tokens) -> str:
    """The longest prefix of ``text``, cut at a word boundary, that fits in ``limit`` tokens."""
    if count(text) <= limit:
        return text
    words = text.split(" ")
    lo, hi = 0, len(words)
    while lo < hi:  # binary search on the number of words
        mid = (lo + hi + 1) // 2
        if count(" ".join(words[:mid]) + " …") <= limit:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo]) + " …" if lo else ""


def pack_sources(
    hits: Sequence[Hit],
    budget: int,
    count: Callable[[str], int] = count_tokens,
) -> list[PackedSource]:
    """Number the hits best first and keep as many as fit in ``budget`` tokens.

    The first passage that does not fit whole is cut to the space left (if that
    leaves at least ``MIN_SOURCE_TOKENS``); later ones are dropped.
    """
    ordered = sorted(hits, key=lambda h: h.rank)
    packed: list[PackedSource] = []
    left = budget
    for hit in ordered:
        n = len(packed) + 1
        overhead = count(format_source(n, hit, "")) + 1
        body = hit.chunk.text
        need = overhead + count(body)
        if need <= left:
            packed.append(PackedSource(n, hit, body, need))
            left -= need
            continue
        room = left - overhead
        if room >= MIN_SOURCE_TOKENS:
            cut = truncate_to_tokens(body, room, count)
            if cut:
                tokens = overhead + count(cut)
                packed.append(PackedSource(n, hit, cut, tokens, truncated=True))
        break
    return packed


def format_sources(packed: Sequence[PackedSource]) -> str:
    """The sources as the prompt's ``{sources}`` block (one after the other)."""
    return "\n".join(format_source(p.n, p.hit, p.text) for p in packed)


def context_budget(context_window: int, answer_tokens: int, prompt_tokens: int, margin: float = 0.1) -> int:
    """Tokens left for sources: the window minus the answer, the prompt, and a margin.

    >>> context_budget(4096, 512, 300)
    2874
    """
    return int(context_window * (1 - margin)) - answer_tokens - prompt_tokens

"""``top_k`` is checked by the library, the same way in every retrieval mode (real model, real Chroma)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rag import Assistant, ConfigError

BAD = [-1, 0, 1.5, 5.0, True, "5", 201]


@pytest.fixture(scope="module", params=["dense", "bm25", "hybrid"])
def mode(request: pytest.FixtureRequest, article_assistant: Assistant) -> Iterator[Assistant]:
    """The seed index, read in one retrieval mode."""
    settings = article_assistant.settings.with_(retrieval=request.param)
    yield article_assistant.variant(settings=settings)


@pytest.mark.parametrize("bad", BAD, ids=repr)
def test_a_bad_top_k_is_one_clear_error_in_every_mode(mode: Assistant, bad: Any) -> None:
    question = "Who is Ilse Varga?"
    calls = [
        lambda: mode.ask(question, top_k=bad),
        lambda: mode.retrieve(question, top_k=bad),
        lambda: list(mode.stream(question, top_k=bad)),
        lambda: mode.chat([{"role": "user", "content": question}], top_k=bad),
        lambda: list(mode.chat_stream([{"role": "user", "content": question}], top_k=bad)),
    ]
    for call in calls:
        with pytest.raises(ConfigError) as caught:
            call()
        message = str(caught.value)
        assert f"top_k ({bad!r})" in message and "whole number from 1 to 200" in message
        assert "top_k=5" in message and "RAG_TOP_K" in message


def test_a_good_top_k_bounds_the_hits_in_every_mode(mode: Assistant) -> None:
    assert len(mode.retrieve("Who is Ilse Varga?", top_k=1)) == 1
    assert 1 <= len(mode.ask("Who is Ilse Varga?", top_k=2).hits) <= 2
    assert 1 <= len(mode.retrieve("Who is Ilse Varga?", top_k=None)) <= mode.settings.top_k  # None: the setting

"""Chat turns: from a message list to the standalone question that retrieval sees.

``Assistant.chat`` and ``Assistant.chat_stream`` call ``standalone_question``; the
rewriting itself is the LLM's (``LLMAnswerer.condense``) when one is configured,
else the rule in ``rag.condense``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from index.errors import RagError
from rag.condense import Message, MessageLike, as_messages, previous_user_questions, rule_condense, trim_history


@runtime_checkable
class Condenser(Protocol):
    """Rewrites a follow-up into a standalone question (an LLM answerer is one)."""

    def condense(self, history: Sequence[Message], question: str) -> str: ...


def split_turn(messages: Sequence[MessageLike]) -> tuple[list[Message], str]:
    """``(history, question)``: the last message must be the user's (pure)."""
    try:
        parsed = as_messages(messages)
    except ValueError as exc:
        raise RagError(f"bad chat messages: {exc}") from None
    if not parsed or parsed[-1].role != "user" or not parsed[-1].content.strip():
        raise RagError("chat needs messages ending with the user's question ({'role': 'user', 'content': ...})")
    return parsed[:-1], parsed[-1].content.strip()


def standalone_question(
    messages: Sequence[MessageLike], condenser: Condenser | None, history_tokens: int
) -> tuple[str, str]:
    """``(question, rewritten)``; ``rewritten`` is "" when the question stands alone as asked.

    History beyond ``history_tokens`` (oldest first) is dropped before rewriting.
    """
    history, question = split_turn(messages)
    kept = trim_history(history, history_tokens)
    if not any(m.role == "user" for m in kept):
        return question, ""
    if condenser is not None:
        rewritten = condenser.condense(kept, question)
    else:
        rewritten = rule_condense(previous_user_questions(kept), question)
    rewritten = " ".join(rewritten.split())
    return question, "" if rewritten == " ".join(question.split()) else rewritten
